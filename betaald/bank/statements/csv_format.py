"""Bank statements exported as CSV, read through a column mapping.

Banks' CSV exports differ per bank and change over time, so the columns are named by a mapping
(saved per organisation as a `bank.CsvMapping`). Each distinct account in the file becomes one
statement without balances; each row is one entry with one transaction.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from betaald.bank.statements.records import (
    Entry,
    ParsedFile,
    Statement,
    StatementFileError,
    Transaction,
)
from betaald.bank.statements.remittance import strip_currency_suffix


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """Which column holds what. Empty names mean "not in this file".

    `amount` is signed unless `direction` names a column whose value is one of `credit_values`
    (then the amount is taken as positive and the direction column decides).
    """

    booking_date: str = "date"
    amount: str = "amount"
    account: str = "account"
    currency: str = "currency"
    counterparty_name: str = "counterparty_name"
    counterparty_iban: str = "counterparty_iban"
    remittance: str = "description"
    structured_reference: str = "reference"
    bank_reference: str = "bank_reference"
    value_date: str = ""
    direction: str = ""
    credit_values: tuple[str, ...] = ("C", "CR", "CREDIT", "BIJ", "CRDT")
    delimiter: str = ","
    decimal_comma: bool = False
    date_format: str = "%Y-%m-%d"
    default_currency: str = "EUR"
    default_account: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CsvMapping:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StatementFileError(f"unknown CSV mapping keys: {', '.join(unknown)}")
        values = dict(data)
        if "credit_values" in values:
            values["credit_values"] = tuple(str(v).upper() for v in values["credit_values"])
        return cls(**values)


def _decimal(text: str, mapping: CsvMapping, place: str) -> Decimal:
    value = text.strip().replace(" ", "")
    if mapping.decimal_comma:
        value = value.replace(".", "").replace(",", ".")
    else:
        value = value.replace(",", "")
    if not re.fullmatch(r"[+-]?\d+(\.\d{1,2})?", value):
        raise StatementFileError(f"{text!r} is not an amount", place=place)
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - guarded by the pattern
        raise StatementFileError(f"{text!r} is not an amount", place=place) from None


def _date(text: str, mapping: CsvMapping, place: str) -> date:
    try:
        return datetime.strptime(text.strip(), mapping.date_format).date()
    except ValueError:
        raise StatementFileError(
            f"{text!r} is not a date in the format {mapping.date_format}", place=place
        ) from None


def parse_csv(data: bytes, mapping: CsvMapping) -> ParsedFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.delimiter)
    header = reader.fieldnames or []
    required = [mapping.booking_date, mapping.amount]
    missing = [name for name in required if name not in header]
    if missing:
        raise StatementFileError(
            f"CSV column(s) {', '.join(repr(m) for m in missing)} not found in the header "
            f"{header!r}",
            place="line 1",
        )

    def column(row: dict[str, str | None], name: str) -> str:
        return (row.get(name) or "").strip() if name else ""

    by_account: dict[str, list[Entry]] = {}
    currencies: dict[str, str] = {}
    for number, row in enumerate(reader, start=2):
        place = f"line {number}"
        amount = _decimal(column(row, mapping.amount), mapping, place)
        if mapping.direction:
            is_credit = column(row, mapping.direction).upper() in mapping.credit_values
            amount = abs(amount)
        else:
            is_credit = amount >= 0
            amount = abs(amount)
        booked = _date(column(row, mapping.booking_date), mapping, place)
        valued = (
            _date(column(row, mapping.value_date), mapping, place)
            if column(row, mapping.value_date)
            else booked
        )
        currency = column(row, mapping.currency).upper() or mapping.default_currency
        account = strip_currency_suffix(
            column(row, mapping.account).replace(" ", "") or mapping.default_account
        )
        if not account:
            raise StatementFileError("the row names no account", place=place)
        bank_reference = column(row, mapping.bank_reference)
        transaction = Transaction(
            amount=amount,
            currency=currency,
            counterparty_name=column(row, mapping.counterparty_name),
            counterparty_iban=column(row, mapping.counterparty_iban).replace(" ", "").upper(),
            remittance=column(row, mapping.remittance),
            structured_reference=column(row, mapping.structured_reference).replace(" ", ""),
            bank_reference=bank_reference,
        )
        by_account.setdefault(account, []).append(
            Entry(
                amount=amount,
                currency=currency,
                is_credit=is_credit,
                booking_date=booked,
                value_date=valued,
                bank_reference=bank_reference,
                transactions=(transaction,),
                place=place,
            )
        )
        currencies.setdefault(account, currency)
    statements = tuple(
        Statement(
            identifier="",
            account=account,
            currency=currencies[account],
            opening_balance=None,
            closing_balance=None,
            entries=tuple(entries),
        )
        for account, entries in by_account.items()
    )
    return ParsedFile(format="csv", statements=statements)
