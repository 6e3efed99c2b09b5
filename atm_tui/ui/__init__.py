"""The classroom app: Textual panes that render the engine's events and send the teacher's keys."""
