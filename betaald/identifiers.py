"""Validate and normalise Dutch and SEPA identifiers (a thin adapter over python-stdnum/schwifty).

The pure core stays stdlib-only; this module is the one place the shell checks identifiers.
Every function takes user input, returns the normalised form betaald stores and prints, or
raises `InvalidIdentifier` naming the field and the reason.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import iso7064
from stdnum.eu import at_02 as sepa_creditor_id
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.nl import bsn, btw

from betaald.core.errors import DomainError

_SEPARATORS = re.compile(r"[\s.\-]")


class InvalidIdentifier(DomainError):
    """An identifier (KvK, BTW-id, IBAN, ...) is malformed or fails its checksum."""


def _reason(exc: Exception) -> str:
    """Why python-stdnum refused a number, in the user's language."""
    if isinstance(exc, InvalidChecksum):
        return _("the check digit is wrong")
    if isinstance(exc, InvalidLength):
        return _("it has the wrong length")
    if isinstance(exc, InvalidFormat):
        return _("it has the wrong format")
    if isinstance(exc, InvalidComponent):
        return _("a part of it is not valid")
    return str(exc)


def normalise_kvk(value: str, *, field: str = "kvk_number") -> str:
    """KvK number: exactly 8 digits after removing spaces, dots and hyphens (no checksum)."""
    digits = _SEPARATORS.sub("", value or "")
    if not re.fullmatch(r"\d{8}", digits):
        raise InvalidIdentifier(_("a KvK number has exactly 8 digits"), field=field)
    return digits


def normalise_btw_id(value: str, *, field: str = "vat_number") -> str:
    """BTW-id (VAT number): accepted as python-stdnum accepts it, stored as NL999999999B99."""
    try:
        compact = btw.validate(value or "")
    except ValidationError as exc:
        raise InvalidIdentifier(
            _("not a valid Dutch VAT number (%(reason)s)") % {"reason": _reason(exc)}, field=field
        ) from None
    if not compact.startswith("NL"):
        compact = "NL" + compact
    if not re.fullmatch(r"NL\d{9}B\d{2}", compact):
        raise InvalidIdentifier(_("a Dutch VAT number reads NL999999999B99"), field=field)
    return compact


def normalise_rsin(value: str, *, field: str = "rsin") -> str:
    """RSIN: 9 digits passing the 11-proef (the same check as a BSN)."""
    try:
        return str(bsn.validate(value or ""))  # an RSIN uses the BSN 11-proef
    except ValidationError as exc:
        raise InvalidIdentifier(
            _("not a valid RSIN (%(reason)s)") % {"reason": _reason(exc)}, field=field
        ) from None


def normalise_iban(value: str, *, field: str = "iban") -> str:
    """IBAN in electronic form (no spaces, upper case), checksum and bank code checked."""
    try:
        return str(IBAN(value or "").compact)
    except (SchwiftyException, ValueError) as exc:
        raise InvalidIdentifier(
            _("not a valid IBAN (%(reason)s)") % {"reason": exc}, field=field
        ) from None


def normalise_bic(value: str, *, field: str = "bic") -> str:
    """BIC (SWIFT code) of 8 or 11 characters."""
    try:
        return str(BIC(value or "").compact)
    except (SchwiftyException, ValueError) as exc:
        raise InvalidIdentifier(
            _("not a valid BIC (%(reason)s)") % {"reason": exc}, field=field
        ) from None


def normalise_sepa_creditor_id(value: str, *, field: str = "sepa_creditor_id") -> str:
    """SEPA creditor identifier (incassant-id), e.g. NL69ZZZ123456780000."""
    try:
        return str(sepa_creditor_id.validate(value or ""))
    except ValidationError as exc:
        raise InvalidIdentifier(
            _("not a valid SEPA creditor id (%(reason)s)") % {"reason": _reason(exc)}, field=field
        ) from None


def is_mod97_valid(value: str) -> bool:
    """ISO 7064 mod 97-10 over the whole string (used by sole traders' BTW-ids since 2020)."""
    return bool(iso7064.mod_97_10.is_valid(value))
