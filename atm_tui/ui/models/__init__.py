"""Textual-free models the screens draw: the ATM view, outcome words and colours, the pipeline model,
the class view."""
