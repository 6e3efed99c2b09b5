"""Textual-free core of the UI: the Session (what runs now), its clock, its bank reads, the presenter."""
