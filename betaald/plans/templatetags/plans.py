"""Template filters of the plans pages: the reasons behind a payment score, in the user's
language (the pure core words them in English and gives a code with the values)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from betaald.core.scoring import Score
from betaald.web.templatetags.betaald import euro

register = template.Library()

WORDING: dict[str, Callable[[], str]] = {
    "no_history": lambda: _("no invoice due yet: neutral grade C"),
    "base_recent": lambda: _(
        "paid on average %(days)s days late (weighted by amount) in the last 12 months: "
        "grade %(grade)s"
    ),
    "base_overall": lambda: _(
        "paid on average %(days)s days late (weighted by amount) overall: grade %(grade)s"
    ),
    "broken_promises": lambda: _("%(count)s broken promise(s) to pay: one grade down"),
    "many_broken_promises": lambda: _("three or more broken promises: one grade down"),
    "broken_plans": lambda: _("%(count)s broken payment plan(s): one grade down"),
    "returned_debits": lambda: _("%(count)s returned direct debits: one grade down"),
    "many_reminders": lambda: _(
        "%(reminders)s reminders for %(invoices)s invoice(s): one grade down"
    ),
    "few_on_time": lambda: _("only %(percent)s%% paid on time: one grade down"),
    "trend_improving": lambda: _("trend improving (%(days)s days against the year before)"),
    "trend_worsening": lambda: _("trend worsening (%(days)s days against the year before)"),
    "trend_stable": lambda: _("trend stable (%(days)s days against the year before)"),
}


RISK_WORDING: dict[str, Callable[[], str]] = {
    "age_unknown": lambda: _("age of the company unknown (%(points)s)"),
    "younger_than_1": lambda: _("company younger than one year (%(points)s)"),
    "younger_than_3": lambda: _("company younger than three years (%(points)s)"),
    "established": lambda: _("company three years or older (%(points)s)"),
    "no_limit": lambda: _("no credit limit set (%(points)s)"),
    "over_limit": lambda: _(
        "open plus this order (%(exposure)s) exceeds the limit %(limit)s (%(points)s)"
    ),
    "near_limit": lambda: _("open plus this order uses more than 80%% of the limit (%(points)s)"),
    "no_history_here": lambda: _("no payment history at this organisation (%(points)s)"),
    "grade": lambda: _("payment grade %(grade)s (%(points)s)"),
    "insolvent": lambda: _("insolvency registered: very high"),
    "blocked": lambda: _("customer blocked for new work: very high"),
}


MONEY_VALUES = frozenset({"exposure", "limit"})
DECIMAL = re.compile(r"^-?\d+\.\d+$")


def localised(key: str, value: Any) -> Any:
    """A stored value as the reader writes it: amounts as euros, decimals with the locale's
    decimal mark (67,3 in Dutch); anything else as it is."""
    text = str(value)
    if not DECIMAL.match(text):
        return value
    if key in MONEY_VALUES:
        return euro(text)
    return number_format(Decimal(text), decimal_pos=len(text.split(".")[1]), use_l10n=True)


def word(code: str, values: dict[str, str], text: str) -> str:
    """One reason in the active language; the core's English text if the code is unknown."""
    wording = WORDING.get(code) or RISK_WORDING.get(code)
    if wording is None:
        return text
    try:
        return wording() % {key: localised(key, value) for key, value in values.items()}
    except (KeyError, TypeError, ValueError):
        return text


@register.filter
def explain(score: Score) -> list[str]:
    """The reasons of a score, worded in the active language."""
    return [word(r.code, dict(r.values), r.text) for r in score.explained]


@register.filter
def worded(reasons: Iterable[Any]) -> list[str]:
    """Stored reasons (`services.as_stored`; plain strings are shown as they are)."""
    return [
        word(r.get("code", ""), r.get("values") or {}, r.get("text", ""))
        if isinstance(r, dict)
        else str(r)
        for r in reasons or []
    ]


@register.filter
def suggestion_reason(suggestion: Any) -> str:
    """Why a change of terms is suggested, in the active language."""
    stored = (suggestion.details or {}).get("reasons")
    if not stored:
        return str(suggestion.reason)
    prefix = _("grade %(grade)s") % {"grade": suggestion.grade} if suggestion.grade else ""
    text = "; ".join(worded(stored))
    return f"{prefix}: {text}" if prefix else text
