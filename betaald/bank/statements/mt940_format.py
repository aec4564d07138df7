"""SWIFT MT940 statements of Dutch banks (ING, ABN AMRO, Rabobank, Triodos) via mt-940.

mt-940 5.1 cannot read real Dutch files as they come (see STACK-NOTES): SWIFT block headers
(``{1:...}``), bank header lines (``ABNANL2A`` / ``940`` / ``:940:``), a ``:28C:`` wrapped onto a
second line, a ``:61:`` bank reference wrapped over several lines, and a lone ``-`` that is the
end of a statement in one place and part of a wrapped mandate id in another. So the text is
first split into statements and tags here (:func:`tokenise`), every tag is normalised, and each
statement is then parsed by mt-940 on its own (the library merges statements otherwise).

Counting rules (issue 7): every ``:20:`` block is a statement; every ``:61:`` an entry and one
transaction; a line is a return when its mark is RC/RD (RD raises the balance, RC lowers it) or
its ``:86:`` holds ``/RTRN/``.
"""

from __future__ import annotations

import re
import warnings as python_warnings
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import mt940

from betaald.bank.statements.records import (
    Balance,
    Entry,
    ParsedFile,
    Statement,
    StatementFileError,
    Transaction,
)
from betaald.bank.statements.remittance import parse_details, strip_currency_suffix

CENT = Decimal("0.01")
_TAG = re.compile(r"^:(\d{2}[A-Z]?):(.*)$")
_SKIP = re.compile(r"^(\{[1-5]:.*|\}|-\}|:940:)\s*$")
_CLOSING_TAGS = ("62F", "62M")
_OPENING_TAGS = ("60F", "60M")
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_LINE_61 = re.compile(r"^\d{6}(?:\d{4}|\s{4})?R?[CD][A-Z]?(?P<amount>[\d,]+)[A-Z][A-Z0-9 ]{3}")


@dataclass
class Tag:
    name: str
    lines: list[str]
    line_number: int

    @property
    def joined(self) -> str:
        """The value with wrapped lines joined without a separator (wraps are arbitrary)."""
        return "".join(self.lines)


@dataclass
class Block:
    tags: list[Tag] = field(default_factory=list)
    line_number: int = 0

    def first(self, *names: str) -> Tag | None:
        return next((tag for tag in self.tags if tag.name in names), None)

    @property
    def closed(self) -> bool:
        return any(tag.name in _CLOSING_TAGS for tag in self.tags)


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # pragma: no cover - cp1252 fails on 5 bytes only


def looks_like_mt940(text: str) -> bool:
    return bool(re.search(r"^:20:", text, re.MULTILINE)) and bool(
        re.search(r"^:(25|60F|61):", text, re.MULTILINE)
    )


def tokenise(text: str) -> list[Block]:
    """Split MT940 text into statements (``:20:`` blocks) of tags with their wrapped lines."""
    blocks: list[Block] = []
    current: Block | None = None
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.rstrip()
        if _SKIP.match(line.strip()):
            continue
        if line.startswith("{4:"):
            line = line[3:]
            if not line:
                continue
        match = _TAG.match(line)
        if match:
            name, value = match.groups()
            if name == "20":
                current = Block(line_number=number)
                blocks.append(current)
            elif current is None:
                raise StatementFileError(
                    f"tag :{name}: appears before the first :20: statement header",
                    place=f"line {number}",
                )
            current.tags.append(Tag(name, [value], number))
            continue
        if current is None or not current.tags:
            continue  # bank header lines before the first statement
        if line.strip() == "-" and current.closed:
            current = None  # end of statement; header lines of the next are skipped
            continue
        if not line and current.closed:
            continue
        current.tags[-1].lines.append(line)
    return blocks


def _detect_bank(text: str, account: str) -> str:
    head = text[:400].upper()
    iban = account.upper()
    if "INGBNL" in head or iban[4:8] == "INGB":
        return "ing"
    if "ABNANL" in head or iban[4:8] == "ABNA":
        return "abnamro"
    if "TRIO" in iban[4:8] or "TRIONL" in head:
        return "triodos"
    if "RABO" in iban[4:8] or head.lstrip().startswith(":940:"):
        return "rabobank"
    return ""


def _normalise_61(tag: Tag) -> str:
    """One-line :61: head (with any ``//bank reference``), supplementary details after a newline."""
    first = tag.lines[0]
    rest = [line.strip() for line in tag.lines[1:]]
    if "//" in first:
        joined = first + "".join(rest)
        head, _, after = joined.partition("//")
        match = re.match(r"[^/]{0,16}", after)
        bank_reference = match.group(0) if match else ""
        supplementary = after[len(bank_reference) :]
        return f"{head}//{bank_reference}" + (f"\n{supplementary}" if supplementary else "")
    supplementary = "".join(rest)
    return first + (f"\n{supplementary}" if supplementary else "")


def _to_date(value: object) -> date | None:
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    return None


def _balance(tag: Tag | None) -> Balance | None:
    if tag is None:
        return None
    match = re.fullmatch(r"([CD])(\d{6})([A-Z]{3})([\d,]+)", tag.joined.strip())
    if not match:
        raise StatementFileError(
            f"balance :{tag.name}: {tag.joined.strip()!r} is not D/C + YYMMDD + currency + amount",
            place=f"line {tag.line_number}",
        )
    mark, day, currency, amount_text = match.groups()
    amount = _amount(amount_text, tag)
    year = 2000 + int(day[:2])
    try:
        on = date(year, int(day[2:4]), int(day[4:6]))
    except ValueError:
        raise StatementFileError(
            f"balance :{tag.name}: has an impossible date {day!r}", place=f"line {tag.line_number}"
        ) from None
    return Balance(amount if mark == "C" else -amount, currency, on, tag.name)


def _amount(text: str, tag: Tag) -> Decimal:
    normalised = text.replace(",", ".")
    if normalised.count(".") != 1 or not normalised.replace(".", "").isdigit():
        raise StatementFileError(
            f"{text!r} is not an MT940 amount", place=f"line {tag.line_number} (:{tag.name}:)"
        )
    try:
        return Decimal(normalised + ("0" if normalised.endswith(".") else "")).quantize(CENT)
    except InvalidOperation:  # pragma: no cover - guarded by the check above
        raise StatementFileError(
            f"{text!r} is not an amount", place=f"line {tag.line_number}"
        ) from None


def _statement(block: Block, text: str, index: int) -> Statement:
    place = f"line {block.line_number} (statement {index}, :20:)"
    account_tag = block.first("25")
    if account_tag is None:
        raise StatementFileError("the statement has no :25: account", place=place)
    opening_tag = block.first(*_OPENING_TAGS)
    closing_tag = block.first(*_CLOSING_TAGS)
    if opening_tag is None:
        raise StatementFileError("the statement has no :60F: opening balance", place=place)
    if closing_tag is None:
        last = block.tags[-1]
        raise StatementFileError(
            "the statement ends without a :62F: closing balance (truncated file?)",
            place=f"line {last.line_number} (after :{last.name}:)",
        )
    account = strip_currency_suffix(account_tag.joined.strip())
    bank = _detect_bank(text, account)
    opening = _balance(opening_tag)
    closing = _balance(closing_tag)
    assert opening is not None

    # Pair every :61: with the :86: directly after it; :86: elsewhere is statement information.
    pairs: list[tuple[Tag, Tag | None]] = []
    for position, tag in enumerate(block.tags):
        if tag.name == "61":
            following = block.tags[position + 1] if position + 1 < len(block.tags) else None
            pairs.append((tag, following if following and following.name == "86" else None))

    for line_tag, _details in pairs:
        head = _LINE_61.match(line_tag.lines[0])
        if head is None:
            raise StatementFileError(
                "unreadable :61: statement line (expected date, D/C mark, amount, type code)",
                place=f"line {line_tag.line_number} (:61:)",
            )
        _amount(head.group("amount"), line_tag)

    lines = [
        f":20:{block.tags[0].joined}",
        f":25:{account_tag.joined}",
        f":60F:{opening_tag.joined}",
    ]
    for line_tag, _details in pairs:
        lines.append(f":61:{_normalise_61(line_tag)}")
    lines.append(f":62F:{closing_tag.joined}")
    try:
        with python_warnings.catch_warnings():
            python_warnings.simplefilter("ignore")
            parsed = list(mt940.parse("\n".join(lines) + "\n"))
    except Exception as error:  # pragma: no cover - the lines were checked above
        raise StatementFileError(f"unreadable MT940 statement: {error}", place=place) from None
    if len(parsed) != len(pairs):
        raise StatementFileError(
            f"read {len(parsed)} of {len(pairs)} :61: lines", place=place
        )  # pragma: no cover - mt-940 either parses every line or raises

    entries = []
    for (line_tag, details_tag), item in zip(pairs, parsed, strict=True):
        data = item.data
        status = str(data.get("status") or "")
        head = _LINE_61.match(line_tag.lines[0])
        assert head is not None
        amount = _amount(head.group("amount"), line_tag)
        is_credit = status in ("C", "RD")
        details_text = details_tag.joined if details_tag else ""
        if details_tag and not details_text.startswith("/"):
            details_text = "\n".join(details_tag.lines)
        details = parse_details(details_text)
        extra = str(data.get("extra_details") or "").strip()
        counter_iban = details.iban
        if not counter_iban and bank == "rabobank" and _IBAN_SHAPE.match(extra):
            counter_iban = extra
        is_return = status in ("RC", "RD") or details.return_code is not None
        return_reason = details.return_code or ""
        customer_reference = str(data.get("customer_reference") or "").strip()
        structured = details.structured_reference
        issuer = details.reference_issuer
        bank_reference = str(data.get("bank_reference") or "").strip()
        value_date = _to_date(data.get("date"))
        booking_date = _to_date(data.get("entry_date")) or value_date
        currency = opening.currency
        transaction = Transaction(
            amount=amount,
            currency=currency,
            counterparty_name=details.name,
            counterparty_iban=counter_iban,
            counterparty_bic=details.bic,
            remittance=details.remittance,
            structured_reference=structured,
            reference_issuer=issuer,
            end_to_end_id=details.end_to_end_id
            or (customer_reference if customer_reference not in _PLACEHOLDERS else ""),
            mandate_id=details.mandate_id,
            bank_reference=bank_reference,
            is_return=is_return,
            return_reason=return_reason,
        )
        entries.append(
            Entry(
                amount=amount,
                currency=currency,
                is_credit=is_credit,
                booking_date=booking_date,
                value_date=value_date,
                bank_reference=bank_reference,
                is_return=is_return,
                return_reason=return_reason,
                bank_transaction_code=str(data.get("id") or ""),
                transactions=(transaction,),
                place=f"line {line_tag.line_number} (:61:)",
            )
        )
    number_tag = block.first("28C", "28")
    identifier = block.tags[0].joined.strip()
    if number_tag:
        identifier = f"{identifier}/{number_tag.joined.strip()}"
    return Statement(
        identifier=identifier,
        account=account,
        currency=opening.currency,
        opening_balance=opening,
        closing_balance=closing,
        entries=tuple(entries),
        bank=bank,
        place=place,
    )


_PLACEHOLDERS = ("", "NONREF", "EREF", "PREF", "NOTPROVIDED")


def parse_mt940(data: bytes) -> ParsedFile:
    """Parse an MT940 file; raise StatementFileError when it cannot be read."""
    text = decode(data)
    if not looks_like_mt940(text):
        raise StatementFileError("no MT940 :20: statement header found", place="line 1")
    blocks = tokenise(text)
    statements = tuple(
        _statement(block, text, index) for index, block in enumerate(blocks, start=1)
    )
    return ParsedFile(format="mt940", statements=statements, warnings=())
