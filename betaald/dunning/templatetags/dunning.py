"""`{% load dunning %}{% dunning_next_step invoice %}`: the next dunning step of an invoice,
its day, what it will cost the debtor and the holds, for invoice and customer pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from betaald.dunning.models import Channel

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


PAUSE_LABELS = {
    "dispute": _("Dispute"),
    "promise": _("Promise to pay"),
    "plan": _("Payment plan"),
    "manual": _("Manual pause"),
    "insolvency": _("Insolvency"),
    "deceased": _("Deceased"),
    "handover": _("Handed over for collection"),
    "settled": _("Paid or credited"),
    "below_threshold": _("Below the minimum amount"),
    "credit_balance": _("Covered by the customer's credit"),
    "finished": _("All steps done"),
    "waiting_for_term": _("Waiting for the 14-day term"),
    "awaiting_approval": _("Waiting for approval"),
    "needs_fix": _("Fix before reminding"),
    "no_policy": _("No dunning policy"),
    "error": _("Error"),
}


@register.filter
def pause_label(code: str) -> str:
    """Why dunning is paused, in words."""
    return str(PAUSE_LABELS.get(str(code).lower(), code))


@register.filter
def channel_labels(channels: Any) -> str:
    """'email, letter' -> 'E-mail, Brief' in the user's language."""
    labels = dict(Channel.choices)
    return ", ".join(str(labels.get(str(channel), channel)) for channel in channels or [])
