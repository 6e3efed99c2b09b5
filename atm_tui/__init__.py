"""atm-tui: exactly-once is at-least-once delivery plus idempotent processing, live."""

__version__ = "0.1.0"
