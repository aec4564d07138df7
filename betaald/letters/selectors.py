"""Reads of the outbox for other pages: the messages of an invoice or a customer.

The invoice and customer pages can show them with
`{% include "letters/_messages.html" with messages=... %}`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from betaald.letters.models import Channel, Message


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


EVIDENCE_FIELDS = [
    "id",
    "kind",
    "channel",
    "status",
    "language",
    "unique_key",
    "created_at",
    "sent_at",
    "posted_on",
    "to",
    "pdf_sha256",
    "message_id",
    "smtp_response",
    "provider_id",
    "failure_reason",
    "invoices",
]


def evidence_rows(messages: list[Message]) -> list[dict[str, Any]]:
    rows = []
    for message in messages:
        recipient = message.recipient or {}
        if message.channel == Channel.EMAIL:
            to = str(recipient.get("email", ""))
        elif message.channel == Channel.SMS:
            to = str(recipient.get("phone", ""))
        else:
            to = " / ".join(str(line) for line in recipient.get("address_lines") or [])
        rows.append(
            {
                "id": message.pk,
                "kind": message.kind,
                "channel": message.channel,
                "status": message.status,
                "language": message.language,
                "unique_key": message.unique_key,
                "created_at": message.created_at.isoformat(),
                "sent_at": message.sent_at.isoformat() if message.sent_at else "",
                "posted_on": message.posted_on.isoformat() if message.posted_on else "",
                "to": f"{recipient.get('name', '')} <{to}>",
                "pdf_sha256": message.pdf_sha256,
                "message_id": message.message_id,
                "smtp_response": message.smtp_response,
                "provider_id": message.provider_id,
                "failure_reason": message.failure_reason,
                "invoices": " ".join(invoice.number for invoice in message.invoices.all()),
            }
        )
    return rows
