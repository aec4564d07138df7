"""ISO 20022 camt.053 (001.02, 001.04, 001.08) bank-to-customer statements.

Parsing is safe by construction: lxml never loads a DTD, never resolves entities and never
touches the network, and any DOCTYPE is refused before parsing (no XXE, no billion laughs).
The version comes from the namespace; the file is validated against the official XSD shipped
in ``betaald/bank/xsd/``. Real files deviate from the XSD (anonymisation, bank quirks): a
deviation is a warning as long as every element the import needs is present; a missing needed
element is an error naming the element and its line.

Counting rules (issue 7): every ``Stmt`` is a statement; every ``Ntry`` an entry, whose booked
amount ``Amt/@Ccy`` counts in the totals; every ``TxDtls`` a transaction (an entry without any
counts as one; ``Btch/NbOfTxs`` is ignored); a transaction is a return when its entry has
``RvslInd`` true or the transaction has ``RtrInf``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree

from betaald.bank.statements.records import (
    Balance,
    Entry,
    ParsedFile,
    Statement,
    StatementFileError,
    Transaction,
)
from betaald.bank.statements.remittance import strip_currency_suffix

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."
SUPPORTED_VERSIONS = ("02", "04", "08")
XSD_DIR = Path(__file__).resolve().parent.parent / "xsd"
MAX_XSD_WARNINGS = 5
OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODES = ("CLBD",)
CENT = Decimal("0.01")
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_CURRENCY = re.compile(r"[A-Z]{3}")


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML bytes: no DTD, no entities, no network; errors name the line."""
    found = _DOCTYPE.search(data)
    if found:
        raise StatementFileError(
            "a DOCTYPE or ENTITY declaration is not allowed in a bank statement "
            "(refused to guard against XXE and entity expansion)",
            place=f"line {_line_of(data, found.start())}",
        )
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as error:
        line, column = error.position if error.position else (0, 0)
        message = error.msg or str(error)
        raise StatementFileError(
            f"malformed XML: {message}", place=f"line {line}, column {column}"
        ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise StatementFileError(
            "a DOCTYPE is not allowed in a bank statement", place="line 1 (prolog)"
        )
    return root


def namespace_of(root: etree._Element) -> str:
    return etree.QName(root).namespace or ""


def version_of(root: etree._Element) -> str:
    """The camt.053 version (``"02"``) from the root's namespace, or a StatementFileError."""
    namespace = namespace_of(root)
    local = etree.QName(root).localname
    place = f"line {root.sourceline} (element {local})"
    if local != "Document":
        raise StatementFileError(
            f"the root element is {local!r}, expected a camt.053 'Document'", place=place
        )
    if not namespace.startswith(NAMESPACE_PREFIX):
        raise StatementFileError(
            f"wrong XML namespace {namespace or '(none)'!r}: expected a camt.053 namespace "
            f"({', '.join(NAMESPACE_PREFIX + v for v in SUPPORTED_VERSIONS)})",
            place=place,
        )
    version = namespace[len(NAMESPACE_PREFIX) :]
    if version not in SUPPORTED_VERSIONS:
        raise StatementFileError(
            f"unsupported camt.053 version 001.{version} (namespace {namespace!r}); "
            f"supported: {', '.join('001.' + v for v in SUPPORTED_VERSIONS)}",
            place=place,
        )
    return version


@cache
def schema_for(version: str) -> etree.XMLSchema:
    path = XSD_DIR / f"camt.053.001.{version}.xsd"
    document = etree.parse(str(path), parser=_safe_parser())
    return etree.XMLSchema(document)


def xsd_warnings(root: etree._Element, version: str) -> list[str]:
    """The XSD deviations of a parsed document, as warnings (at most a handful, then a count)."""
    schema = schema_for(version)
    if schema.validate(root):
        return []
    errors = list(schema.error_log)
    warnings = [
        f"XSD deviation (camt.053.001.{version}) at line {error.line}: {error.message}"
        for error in errors[:MAX_XSD_WARNINGS]
    ]
    if len(errors) > MAX_XSD_WARNINGS:
        warnings.append(f"... and {len(errors) - MAX_XSD_WARNINGS} more XSD deviations")
    return warnings


class _Reader:
    """Namespace-aware element access with places for error messages."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def _path(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{step}" for step in path.split("/"))

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find(self._path(path))

    def findall(self, element: etree._Element, path: str) -> list[etree._Element]:
        return list(element.findall(self._path(path)))

    def text(self, element: etree._Element | None, *paths: str) -> str:
        """The stripped text of the first of `paths` that exists under `element`, else ``""``."""
        if element is None:
            return ""
        for path in paths:
            found = self.find(element, path)
            if found is not None and found.text and found.text.strip():
                return " ".join(found.text.split())
        return ""


_JOINED: dict[tuple[str, str], str] = {}  # (parent path, Clark tag) -> path; tags repeat


class _Flat:
    """An element's descendants by relative path of local names, built in one walk.

    Entries are read with dozens of lookups each; lxml ``find`` per lookup dominated the
    parse time of large statements, a dictionary lookup does not. Descending stops at `stop`
    elements (an entry's ``TxDtls`` are read on their own). The walk is lxml's own (in
    document order, so every path's elements are in document order too); a child's path is
    its parent's plus its local name.
    """

    __slots__ = ("element", "paths")

    def __init__(self, element: etree._Element, *, stop: str = "") -> None:
        self.element = element
        paths: dict[str, list[etree._Element]] = {}
        joined = _JOINED
        prefixes: dict[etree._Element, str] = {element: ""}  # elements whose children count
        for child in element.iterdescendants(tag=etree.Element):
            prefix = prefixes.get(child.getparent())
            if prefix is None:
                continue  # below a `stop` element
            key = (prefix, child.tag)
            path = joined.get(key)
            if path is None:
                name = child.tag.rpartition("}")[2]
                path = joined[key] = f"{prefix}/{name}" if prefix else name
            found = paths.get(path)
            if found is None:
                paths[path] = [child]
            else:
                found.append(child)
            if not (stop and path.endswith(stop)):
                prefixes[child] = path
        self.paths = paths

    def find(self, path: str) -> etree._Element | None:
        found = self.paths.get(path)
        return found[0] if found else None

    def findall(self, path: str) -> list[etree._Element]:
        return self.paths.get(path, [])

    def text(self, *paths: str) -> str:
        for path in paths:
            for found in self.paths.get(path, ()):
                if found.text and found.text.strip():
                    return " ".join(found.text.split())
        return ""


def _place(element: etree._Element, label: str) -> str:
    return f"line {element.sourceline} (element {label})"


def _amount(element: etree._Element | None, label: str, parent: etree._Element) -> Decimal:
    if element is None:
        raise StatementFileError("required element is missing", place=_place(parent, label))
    text = (element.text or "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or "e" in text.lower() or value < 0:
        raise StatementFileError(f"{text!r} is not an amount", place=_place(element, label))
    return value.quantize(CENT)


def _currency(element: etree._Element, label: str) -> str:
    currency = (element.get("Ccy") or "").strip()
    if not _CURRENCY.fullmatch(currency):
        raise StatementFileError(
            f"the amount has no valid Ccy attribute ({currency!r})", place=_place(element, label)
        )
    return currency


def _date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _direction(indicator: str, element: etree._Element, label: str) -> bool:
    if indicator not in ("CRDT", "DBIT"):
        raise StatementFileError(
            f"CdtDbtInd must be CRDT or DBIT, found {indicator or 'nothing'!r}",
            place=_place(element, f"{label}/CdtDbtInd"),
        )
    return indicator == "CRDT"


def _balances(
    reader: _Reader, stmt: etree._Element, label: str
) -> tuple[Balance | None, Balance | None]:
    opening: Balance | None = None
    closing: Balance | None = None
    for index, bal in enumerate(reader.findall(stmt, "Bal"), start=1):
        code = reader.text(bal, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
        if code not in OPENING_CODES + CLOSING_CODES:
            continue
        here = f"{label}/Bal[{index}]"
        amount_element = reader.find(bal, "Amt")
        amount = _amount(amount_element, f"{here}/Amt", bal)
        assert amount_element is not None
        currency = _currency(amount_element, f"{here}/Amt")
        signed = amount if _direction(reader.text(bal, "CdtDbtInd"), bal, here) else -amount
        balance = Balance(signed, currency, _date(reader.text(bal, "Dt/Dt", "Dt/DtTm")), code)
        if code in OPENING_CODES and (opening is None or code == "OPBD"):
            opening = balance
        elif code in CLOSING_CODES and closing is None:
            closing = balance
    return opening, closing


def _party(tx: _Flat, role: str) -> tuple[str, str, str]:  # name, iban, bic
    name = tx.text(f"RltdPties/{role}/Nm", f"RltdPties/{role}/Pty/Nm")
    iban = tx.text(f"RltdPties/{role}Acct/Id/IBAN")
    bic = tx.text(f"RltdAgts/{role}Agt/FinInstnId/BIC", f"RltdAgts/{role}Agt/FinInstnId/BICFI")
    return name, iban, bic


def _transaction(
    element: etree._Element,
    *,
    entry_amount: Decimal,
    entry_currency: str,
    single: bool,
    entry_is_credit: bool,
    entry_reversed: bool,
) -> Transaction:
    tx = _Flat(element)
    amount, currency = entry_amount, entry_currency
    if not single:
        for path in ("AmtDtls/TxAmt/Amt", "Amt", "AmtDtls/InstdAmt/Amt"):
            found = tx.find(path)
            if found is not None:
                try:
                    amount = _amount(found, path, element)
                    currency = _currency(found, path)
                except StatementFileError:
                    continue
                break
    debtor_side = entry_is_credit != entry_reversed
    first, second = ("Dbtr", "Cdtr") if debtor_side else ("Cdtr", "Dbtr")
    name, iban, bic = _party(tx, first)
    if not (name or iban):
        name, iban, bic = _party(tx, second)
    remittance = " ".join(
        " ".join((found.text or "").split())
        for found in tx.findall("RmtInf/Ustrd")
        if found.text and found.text.strip()
    ) or tx.text("AddtlTxInf")
    return_info = tx.find("RtrInf")
    return Transaction(
        amount=amount,
        currency=currency,
        counterparty_name=name,
        counterparty_iban=iban.replace(" ", "").upper(),
        counterparty_bic=bic,
        remittance=remittance,
        structured_reference=tx.text("RmtInf/Strd/CdtrRefInf/Ref"),
        reference_issuer=tx.text("RmtInf/Strd/CdtrRefInf/Tp/Issr"),
        end_to_end_id=tx.text("Refs/EndToEndId"),
        mandate_id=tx.text("Refs/MndtId"),
        bank_reference=tx.text("Refs/AcctSvcrRef", "Refs/TxId"),
        is_return=entry_reversed or return_info is not None,
        return_reason=tx.text("RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"),
    )


def _entry(ntry: etree._Element, label: str) -> Entry:
    flat = _Flat(ntry, stop="TxDtls")
    amount_element = flat.find("Amt")
    amount = _amount(amount_element, f"{label}/Amt", ntry)
    assert amount_element is not None
    currency = _currency(amount_element, f"{label}/Amt")
    is_credit = _direction(flat.text("CdtDbtInd"), ntry, label)
    reversed_ = flat.text("RvslInd").lower() in ("true", "1")
    details = flat.findall("NtryDtls/TxDtls")
    transactions = tuple(
        _transaction(
            tx,
            entry_amount=amount,
            entry_currency=currency,
            single=len(details) == 1,
            entry_is_credit=is_credit,
            entry_reversed=reversed_,
        )
        for tx in details
    )
    if not transactions:
        transactions = (
            Transaction(
                amount=amount,
                currency=currency,
                remittance=flat.text("AddtlNtryInf"),
                is_return=reversed_,
            ),
        )
    reason = next((tx.return_reason for tx in transactions if tx.return_reason), "")
    code = flat.text("BkTxCd/Domn/Cd")
    if code:
        family = flat.text("BkTxCd/Domn/Fmly/Cd")
        sub = flat.text("BkTxCd/Domn/Fmly/SubFmlyCd")
        code = "-".join(part for part in (code, family, sub) if part)
    else:
        code = flat.text("BkTxCd/Prtry/Cd")
    return Entry(
        amount=amount,
        currency=currency,
        is_credit=is_credit,
        booking_date=_date(flat.text("BookgDt/Dt", "BookgDt/DtTm")),
        value_date=_date(flat.text("ValDt/Dt", "ValDt/DtTm")),
        bank_reference=flat.text("AcctSvcrRef", "NtryRef"),
        is_return=any(tx.is_return for tx in transactions),
        return_reason=reason,
        bank_transaction_code=code,
        status=flat.text("Sts/Cd", "Sts") or "BOOK",
        transactions=transactions,
        place=_place(ntry, label),
    )


def _statement(reader: _Reader, stmt: etree._Element, label: str) -> Statement:
    account = strip_currency_suffix(reader.text(stmt, "Acct/Id/IBAN", "Acct/Id/Othr/Id"))
    if not account:
        raise StatementFileError(
            "the statement has no account (Acct/Id/IBAN or Acct/Id/Othr/Id)",
            place=_place(stmt, f"{label}/Acct/Id"),
        )
    opening, closing = _balances(reader, stmt, label)
    entries = tuple(
        _entry(ntry, f"{label}/Ntry[{index}]")
        for index, ntry in enumerate(reader.findall(stmt, "Ntry"), start=1)
    )
    currency = reader.text(stmt, "Acct/Ccy")
    if not currency:
        currency = (
            opening.currency
            if opening
            else closing.currency
            if closing
            else entries[0].currency
            if entries
            else ""
        )
    return Statement(
        identifier=reader.text(stmt, "Id"),
        account=account,
        currency=currency,
        opening_balance=opening,
        closing_balance=closing,
        entries=entries,
        bank="",
        account_servicer_bic=reader.text(
            stmt, "Acct/Svcr/FinInstnId/BIC", "Acct/Svcr/FinInstnId/BICFI"
        ),
        place=_place(stmt, label),
    )


def parse_camt053(data: bytes) -> ParsedFile:
    """Parse a camt.053 file; raise StatementFileError when it cannot be read."""
    root = parse_xml(data)
    version = version_of(root)
    reader = _Reader(namespace_of(root))
    warnings = xsd_warnings(root, version)
    container = reader.find(root, "BkToCstmrStmt")
    if container is None:
        raise StatementFileError(
            "required element is missing", place=_place(root, "Document/BkToCstmrStmt")
        )
    statements = tuple(
        _statement(reader, stmt, f"Stmt[{index}]")
        for index, stmt in enumerate(reader.findall(container, "Stmt"), start=1)
    )
    for statement in statements:
        for entry in statement.entries:
            if entry.status != "BOOK":
                warnings.append(f"{entry.place}: entry status is {entry.status}, not BOOK")
    return ParsedFile(
        format=f"camt.053.001.{version}", statements=statements, warnings=tuple(warnings)
    )
