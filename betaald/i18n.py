"""The pure core's error messages in the reader's language.

The core (stdlib only) raises `DomainError`s with an English `template` and its `params`
(`betaald.core.errors`). The shell says them in the active language: the template through
gettext (the Dutch texts are in the project catalogue; `tests/test_i18n.py` checks that every
template the core raises has one), the values as the reader writes them (dates as 30-11-2026,
amounts as € 1.234,56, the rate table's kind by its name).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from betaald.core.errors import DomainError
from betaald.web.templatetags.betaald import euro


def _value(key: str, value: object) -> object:
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Decimal):
        return euro(value)
    if key == "kind" and value == "statutory":
        return _("statutory interest")
    if key == "kind" and value == "commercial":
        return _("commercial interest")
    return value


def error_text(error: DomainError) -> str:
    """The error's sentence in the active language (the English message when a template has
    no translation or its placeholders do not fit)."""
    template = _(error.template)
    if not error.params:
        return template
    try:
        return template % {key: _value(key, value) for key, value in error.params.items()}
    except (KeyError, TypeError, ValueError):
        return error.message
