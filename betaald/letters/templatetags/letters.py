"""Filters for letter templates: amounts and dates in the letter's language.

`{{ total|euro:"nl" }}` prints `€ 1.234,56` (with a no-break space) and `{{ total|euro:"en" }}`
prints `€1,234.56`; `{{ due_on|longdate:"nl" }}` prints `15 oktober 2026`. Both accept the frozen
context's strings as well as Decimal and date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()

MONTHS = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def format_euro(value: Any, language: str = "nl") -> str:
    """An amount as the debtor reads it; exact, never rounded here (amounts arrive in cents)."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    if language == "en":
        return f"{sign}€{','.join(groups)}.{cents}"
    return f"{sign}€\u00a0{'.'.join(groups)},{cents}"


def format_date(value: Any, language: str = "nl") -> str:
    if value in (None, ""):
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day.day} {MONTHS.get(language, MONTHS['nl'])[day.month - 1]} {day.year}"


@register.filter
def euro(value: Any, language: str = "") -> str:
    return format_euro(value, language or "nl")


@register.filter
def longdate(value: Any, language: str = "") -> str:
    return format_date(value, language or "nl")
