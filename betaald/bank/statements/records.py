"""What every statement parser returns: frozen records, Decimal amounts, no Django.

The records are the common shape of camt.053, MT940 and CSV statements. Amounts on entries and
transactions are positive; the direction is `is_credit` (the entry raises the balance). Balances
are signed (a DBIT balance is negative).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


class StatementFileError(Exception):
    """A statement file cannot be read: malformed, truncated, hostile or of an unknown format.

    `place` names where in the file (``line 12``, ``element Stmt/Ntry[3]/Amt``).
    """

    def __init__(self, message: str, *, place: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.place = place

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


@dataclass(frozen=True, slots=True)
class Balance:
    """A balance as the bank reports it: signed amount (negative = debit) on a date."""

    amount: Decimal
    currency: str
    on: date | None
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Transaction:
    """One transaction inside an entry (camt `TxDtls`; an MT940 `:61:` line holds one)."""

    amount: Decimal
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    remittance: str = ""
    structured_reference: str = ""
    reference_issuer: str = ""
    end_to_end_id: str = ""
    mandate_id: str = ""
    bank_reference: str = ""
    is_return: bool = False
    return_reason: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """A booked entry: camt `Ntry` or MT940 `:61:`. `amount` is positive."""

    amount: Decimal
    currency: str
    is_credit: bool
    booking_date: date | None
    value_date: date | None
    bank_reference: str = ""
    is_return: bool = False
    return_reason: str = ""
    bank_transaction_code: str = ""
    status: str = "BOOK"
    transactions: tuple[Transaction, ...] = ()
    place: str = ""

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.is_credit else -self.amount


@dataclass(frozen=True, slots=True)
class Statement:
    """One camt `Stmt` or one MT940 `:20:` block (with or without entries)."""

    identifier: str
    account: str
    currency: str
    opening_balance: Balance | None
    closing_balance: Balance | None
    entries: tuple[Entry, ...] = ()
    bank: str = ""
    account_servicer_bic: str = ""
    place: str = ""

    @property
    def transaction_count(self) -> int:
        return sum(len(entry.transactions) for entry in self.entries)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The outcome of parsing one file: its format, statements and non-fatal warnings."""

    format: str
    statements: tuple[Statement, ...]
    warnings: tuple[str, ...] = field(default=())
