"""`{% load dunning %}{% dunning_next_step invoice %}`: the next dunning step of an invoice,
its day, what it will cost the debtor and the holds, for invoice and customer pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

register = template.Library()


@register.inclusion_tag("dunning/_next_step.html", takes_context=True)
def dunning_next_step(context: dict[str, Any], invoice: Any) -> dict[str, Any]:
    from betaald.dunning.selectors import next_step_for_invoice

    return {
        "dunning_next": next_step_for_invoice(invoice, timezone.localdate()),
        "invoice": invoice,
        "membership": context.get("membership"),
        "compact": True,
    }
