"""Template filters: `euro` (nl-NL money), `badge` classes for statuses."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from betaald.core.money import round_cents

register = template.Library()


@register.filter
def euro(value: object) -> str:
    """€ 1.234,56 (nl-NL); negative amounts as € -1.234,56. Empty for None."""
    if value is None or value == "":
        return ""
    try:
        amount = round_cents(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"€\u00a0{sign}{'.'.join(groups)},{cents}"


STATUS_CLASSES = {
    "paid": "ok",
    "active": "ok",
    "open": "",
    "overdue": "bad",
    "draft": "muted",
    "credit_note": "muted",
    "blocked": "bad",
    "prepayment": "warn",
    "credited": "muted",
}


@register.filter
def badge(status: str) -> str:
    return STATUS_CLASSES.get(status, "")
