"""The bank: an idempotent withdrawal handler over a real SQLite or PostgreSQL database; no Textual.

Import what you need from its modules (`bank.core`, `bank.service`, `bank.store`, ...): the package
itself loads nothing, so a command that needs only the money rules does not pay for aiosqlite.
"""
