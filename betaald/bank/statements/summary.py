"""The dry-run summary of a parsed file, exactly as issue 7 specifies it.

``{"format", "statements", "entries", "transactions", "totals": {CCY: {"credit", "debit"}},
"returns", "accounts"}``: totals are booked entry amounts in the entry's own currency, positive
strings with two decimals; accounts in order of first appearance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from betaald.bank.statements.records import ParsedFile

CENT = Decimal("0.01")


def summarise(parsed: ParsedFile) -> dict[str, Any]:
    totals: dict[str, dict[str, Decimal]] = {}
    accounts: list[str] = []
    entries = transactions = returns = 0
    for statement in parsed.statements:
        if statement.account not in accounts:
            accounts.append(statement.account)
        for entry in statement.entries:
            entries += 1
            transactions += len(entry.transactions)
            returns += sum(1 for tx in entry.transactions if tx.is_return)
            bucket = totals.setdefault(
                entry.currency, {"credit": Decimal("0"), "debit": Decimal("0")}
            )
            bucket["credit" if entry.is_credit else "debit"] += entry.amount
    return {
        "format": parsed.format,
        "statements": len(parsed.statements),
        "entries": entries,
        "transactions": transactions,
        "totals": {
            currency: {side: str(value.quantize(CENT)) for side, value in sides.items()}
            for currency, sides in totals.items()
        },
        "returns": returns,
        "accounts": accounts,
    }
