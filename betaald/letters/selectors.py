"""Reads of the outbox for other pages: the messages of an invoice or a customer.

The invoice and customer pages can show them with
`{% include "letters/_messages.html" with messages=... %}`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from betaald.letters.models import Message


def messages_for_invoice(invoice: Any) -> QuerySet[Message]:
    return (
        Message.objects.filter(organisation_id=invoice.organisation_id)
        .filter(Q(invoice=invoice) | Q(invoices=invoice))
        .distinct()
        .order_by("-created_at", "-id")
    )


def messages_for_customer(customer: Any) -> QuerySet[Message]:
    return Message.objects.filter(
        organisation_id=customer.organisation_id, customer=customer
    ).order_by("-created_at", "-id")
