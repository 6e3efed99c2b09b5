"""The bank: an idempotent withdrawal handler over a real SQLite file. Never imports Textual."""

from atm_tui.bank.core import MODES, BankCrash, Mode, Response, Withdrawal
from atm_tui.bank.money import AmountError, parse_amount, rupees
from atm_tui.bank.service import Bank, BankSnapshot, Bridge
from atm_tui.bank.store import StoreConfig, StoreError

__all__ = [
    "MODES",
    "AmountError",
    "Bank",
    "BankCrash",
    "BankSnapshot",
    "Bridge",
    "Mode",
    "Response",
    "StoreConfig",
    "StoreError",
    "Withdrawal",
    "parse_amount",
    "rupees",
]
