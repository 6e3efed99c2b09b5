"""Textual-free models the panes draw."""
