"""The Dutch MT940 ``:86:`` information field, per bank flavour.

Three shapes occur in real files:

- **ING and Triodos** (SEPA structured): ``/EREF/x//CNTP/iban/bic/name/city//REMI/USTD//text/``
  or ``/REMI/STRD/CUR/<betalingskenmerk>/``, returns as ``/RTRN/MS03/``, direct debit
  ``/MARF/<mandate>//CSID/<creditor id>/``, batches ``/PREF/``.
- **Rabobank and ABN AMRO** (slash-tagged): ``/TRTP/SEPA OVERBOEKING/IBAN/x/BIC/x/NAME/x/REMI/x/
  EREF/x/``; Rabobank ``/EREF/x/BENM//NAME/x/REMI/x/ISDT/yyyy-mm-dd`` with the betalingskenmerk as
  ``/REMI//CDTRREFTP//CD/SCOR/ISSR/CUR/CDTRREF/<16 digits>/``.
- **ABN AMRO legacy** (fixed columns): ``SEPA ACCEPTGIROBETALING IBAN: x BIC: x NAAM: x
  BETALINGSKENM.: <16 digits>`` or ``OMSCHRIJVING: text``; card payments (``BEA``) as free text.

Wrapping is removed before this is called for the slash-tagged shapes (lines are joined without a
separator, since banks wrap at a fixed width, mid-word); legacy text keeps its newlines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAGS = (
    "TRTP",
    "IBAN",
    "BIC",
    "NAME",
    "REMI",
    "EREF",
    "ORDP",
    "BENM",
    "ID",
    "ADDR",
    "ISDT",
    "CSID",
    "MARF",
    "RTRN",
    "CNTP",
    "PREF",
    "SUM",
    "CDTRREFTP",
    "CDTRREF",
    "CD",
    "ISSR",
    "PURP",
    "ULTC",
    "ULTD",
    "ULTB",
    "BENM",
    "SVCL",
    "RTYP",
)
_TAG_PATTERN = re.compile(r"/(" + "|".join(sorted(set(TAGS), key=len, reverse=True)) + r")/")
_LEGACY_LABELS = re.compile(
    r"(IBAN|BIC|NAAM|OMSCHRIJVING|KENMERK|BETALINGSKENM\.|ID DEBITEUR|MACHTIGING|INCASSANT|"
    r"REFERENTIE):"
)
_BETALINGSKENMERK = re.compile(r"BETALINGSKENM\.?:?\s*(\d{16})(?!\d)")
_PLACEHOLDERS = {"NOTPROVIDED", "NONREF"}
CURRENCY_CODES = frozenset(
    [
        "EUR",
        "USD",
        "GBP",
        "CHF",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "JPY",
        "CAD",
        "AUD",
        "NZD",
        "CNY",
        "HKD",
        "SGD",
        "ZAR",
        "TRY",
        "RON",
        "BGN",
        "ISK",
        "MXN",
        "BRL",
        "INR",
        "KRW",
    ]
)


@dataclass(frozen=True, slots=True)
class Details:
    name: str = ""
    iban: str = ""
    bic: str = ""
    remittance: str = ""
    structured_reference: str = ""
    reference_issuer: str = ""
    end_to_end_id: str = ""
    mandate_id: str = ""
    return_code: str | None = None


def strip_currency_suffix(account: str) -> str:
    """``NL77INGB0574908765EUR`` -> ``NL77INGB0574908765`` (an account as the bank writes it)."""
    value = account.strip()
    match = re.fullmatch(r"(.*?\d)[ /]?([A-Z]{3})", value)
    if match and match.group(2) in CURRENCY_CODES:
        return match.group(1)
    return value


def _clean(value: str) -> str:
    return " ".join(value.split())


def subfields(text: str) -> dict[str, str]:
    """The slash-tagged subfields of a ``:86:`` text; the first occurrence of a tag wins."""
    matches = list(_TAG_PATTERN.finditer(text))
    fields: dict[str, str] = {}
    for position, match in enumerate(matches):
        end = matches[position + 1].start() if position + 1 < len(matches) else len(text)
        value = text[match.end() : end]
        fields.setdefault(match.group(1), value)
    return fields


def _value(fields: dict[str, str], tag: str) -> str:
    value = _clean(fields.get(tag, "").strip("/"))
    return "" if value in _PLACEHOLDERS else value


def _structured(text: str) -> Details:
    fields = subfields(text)
    name, iban, bic = _value(fields, "NAME"), _value(fields, "IBAN"), _value(fields, "BIC")
    if "CNTP" in fields:  # ING / Triodos: /CNTP/iban/bic/name/city/
        parts = [_clean(part) for part in fields["CNTP"].split("/")]
        parts += [""] * (4 - len(parts))
        iban, bic, name = parts[0] or iban, parts[1] or bic, parts[2] or name
    remittance_raw = fields.get("REMI", "")
    remittance = _clean(remittance_raw.strip("/"))
    structured = issuer = ""
    if remittance_raw.startswith("USTD/"):
        remittance = _clean(remittance_raw[5:].strip("/"))
    elif remittance_raw.startswith("STRD/"):
        parts = remittance_raw.split("/")
        issuer = parts[1] if len(parts) > 1 else ""
        structured = parts[2] if len(parts) > 2 else ""
        remittance = ""
    if "CDTRREF" in fields:  # Rabobank
        structured = _value(fields, "CDTRREF")
        issuer = _value(fields, "ISSR")
    if not structured:
        found = _BETALINGSKENMERK.search(remittance)
        if found:
            structured, issuer = found.group(1), "CUR"
    return_code: str | None = None
    if "RTRN" in fields:
        return_code = _value(fields, "RTRN").split("/")[0]
    return Details(
        name=name,
        iban=iban.replace(" ", "").upper(),
        bic=bic,
        remittance=remittance,
        structured_reference=structured,
        reference_issuer=issuer,
        end_to_end_id=_value(fields, "EREF"),
        mandate_id=_value(fields, "MARF"),
        return_code=return_code,
    )


def _legacy(text: str) -> Details:
    flat = " ".join(text.split("\n"))
    matches = list(_LEGACY_LABELS.finditer(flat))
    fields: dict[str, str] = {}
    for position, match in enumerate(matches):
        end = matches[position + 1].start() if position + 1 < len(matches) else len(flat)
        fields.setdefault(match.group(1), _clean(flat[match.end() : end]))
    structured = fields.get("BETALINGSKENM.", "").replace(" ", "")
    if not re.fullmatch(r"\d{16}", structured):
        structured = ""
    remittance = fields.get("OMSCHRIJVING", "")
    if not remittance:
        remittance = _clean(flat if not matches else flat[: matches[0].start()])
    return Details(
        name=fields.get("NAAM", ""),
        iban=fields.get("IBAN", "").replace(" ", "").upper(),
        bic=fields.get("BIC", ""),
        remittance=remittance,
        structured_reference=structured,
        reference_issuer="CUR" if structured else "",
        end_to_end_id=fields.get("KENMERK", ""),
        mandate_id=fields.get("MACHTIGING", ""),
    )


def parse_details(text: str) -> Details:
    """The counterparty, remittance and references in a ``:86:`` information field."""
    if not text.strip():
        return Details()
    if text.lstrip().startswith("/") and _TAG_PATTERN.search(text):
        return _structured(text.strip())
    return _legacy(text)
