"""Checks that never refuse a file but are reported beside it: balances that do not add up,
entries in another currency than the statement's, and IBANs with a bad checksum."""

from __future__ import annotations

import re
import string
from functools import lru_cache

from schwifty import IBAN
from schwifty.exceptions import InvalidCountryCode, SchwiftyException

from betaald.bank.statements.records import ParsedFile, Statement

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{8,32}$")


def looks_like_iban(value: str) -> bool:
    return bool(_IBAN_SHAPE.match(value.replace(" ", "").upper()))


IBAN_LENGTHS = {
    "NL": 18, "BE": 16, "DE": 22, "FR": 27, "LU": 20, "GB": 22, "IE": 22, "ES": 24, "IT": 27,
    "AT": 20, "CH": 21, "DK": 18, "SE": 24, "NO": 15, "FI": 18, "PL": 28, "PT": 25,
}  # fmt: skip


_LETTER_DIGITS = str.maketrans({letter: str(int(letter, 36)) for letter in string.ascii_uppercase})


def _mod97_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    if rearranged.isascii() and rearranged.isalnum():
        # The same digits as `int(character, 36)` per character, in one C call.
        digits = rearranged.upper().translate(_LETTER_DIGITS)
    else:
        digits = "".join(str(int(character, 36)) for character in rearranged)
    return int(digits) % 97 == 1


@lru_cache(maxsize=4096)
def iban_problem(value: str) -> str | None:
    """Why an IBAN-shaped value is not a valid IBAN (checksum, length), or None when it is.

    The ISO 13616 checksum is computed here (fast, for statements of 100,000 lines); only a
    value that passes it is checked further by schwifty (country, length).
    """
    compact = value.replace(" ", "").upper()
    if compact[:2].isalpha() and compact.isalnum() and not _mod97_ok(compact):
        try:
            IBAN(compact, validate_bban=False)
        except InvalidCountryCode:
            return None
        except SchwiftyException as error:
            return str(error) or type(error).__name__
        return "Invalid checksum digits"  # pragma: no cover - schwifty agrees on the checksum
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and _mod97_ok(compact):
        return None if len(compact) == expected else "Invalid IBAN length"
    try:
        IBAN(compact, validate_bban=False)
    except InvalidCountryCode:
        return None  # not an IBAN at all (e.g. a US account number "DD0110...")
    except SchwiftyException as error:
        return str(error) or type(error).__name__
    return None


def _label(index: int, statement: Statement) -> str:
    name = statement.identifier or f"#{index}"
    return f"statement {index} ({name}, account {statement.account})"


def balance_warnings(index: int, statement: Statement) -> list[str]:
    opening, closing = statement.opening_balance, statement.closing_balance
    label = _label(index, statement)
    if opening is None or closing is None:
        missing = "opening" if opening is None else "closing"
        return [f"{label}: no {missing} balance, the balance cannot be checked"]
    if opening.currency != closing.currency:
        return [
            f"{label}: opening balance in {opening.currency} and closing balance in "
            f"{closing.currency}, the balance cannot be checked"
        ]
    total = sum(
        (e.signed_amount for e in statement.entries if e.currency == opening.currency),
        opening.amount,
    )
    if total != closing.amount:
        return [
            f"{label}: balances do not add up: opening {opening.amount} + entries "
            f"{total - opening.amount} = {total}, but the closing balance is {closing.amount} "
            f"{closing.currency}"
        ]
    return []


MATCHED_CURRENCY = "EUR"


def currency_warnings(index: int, statement: Statement) -> list[str]:
    warnings = []
    others = sorted({e.currency for e in statement.entries if e.currency != statement.currency})
    if statement.currency and others:
        warnings.append(
            f"{_label(index, statement)}: entries in {', '.join(others)} on a "
            f"{statement.currency} account"
        )
    foreign = sorted({e.currency for e in statement.entries if e.currency != MATCHED_CURRENCY})
    if foreign:
        warnings.append(
            f"{_label(index, statement)}: entries in {', '.join(foreign)} are stored but never "
            "matched automatically"
        )
    return warnings


def iban_warnings(index: int, statement: Statement) -> list[str]:
    warnings = []
    if looks_like_iban(statement.account):
        problem = iban_problem(statement.account)
        if problem:
            warnings.append(f"{_label(index, statement)}: account IBAN is invalid: {problem}")
    seen: set[str] = set()
    for entry in statement.entries:
        for tx in entry.transactions:
            iban = tx.counterparty_iban
            if iban and iban not in seen and looks_like_iban(iban):
                seen.add(iban)
                problem = iban_problem(iban)
                if problem:
                    warnings.append(
                        f"{entry.place}: counterparty IBAN {iban} is invalid: {problem}"
                    )
    return warnings


def file_warnings(parsed: ParsedFile) -> list[str]:
    """Every warning for a parsed file: the parser's own, then the checks, per statement."""
    warnings = list(parsed.warnings)
    for index, statement in enumerate(parsed.statements, start=1):
        warnings += balance_warnings(index, statement)
        warnings += currency_warnings(index, statement)
        warnings += iban_warnings(index, statement)
    return warnings
