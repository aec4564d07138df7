"""Writes to the outbox. Queueing is idempotent on `unique_key`: a message is sent at most once.

`message_queue` is for one message (an invoice, a manual letter); `messages_queue_bulk` is for
the dunning run, which queues tens of thousands of messages a day with a fixed number of
queries per batch. Delivery happens in the worker (`betaald.letters.tasks`), enqueued on commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from betaald.audit.services import event_record
from betaald.letters.models import Channel, Message, MessageKind, MessageStatus

BULK_BATCH_SIZE = 1000
DISPATCH_CHUNK = 200


class OutboxError(ValueError):
    """A message cannot be queued as asked (unknown kind or channel, cross-tenant data)."""


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """One message for `messages_queue_bulk`; the same fields as `message_queue`.

    `recipient` may be left empty: it is then taken from the customer (its accounts-payable
    contact's email if there is one, else the customer's email, phone and postal address).
    """

    organisation: Any
    customer: Any
    kind: str
    channel: str
    context: dict[str, Any]
    unique_key: str
    invoices: Sequence[Any] = ()
    language: str | None = None
    fallback_channels: Sequence[str] = ()
    actor: Any = None
    recipient: dict[str, Any] | None = field(default=None)


def recipient_for(customer: Any, *, accounts_payable_email: str = "") -> dict[str, Any]:
    """The recipient snapshot stored on a message: who it went to, frozen at queue time."""
    return {
        "name": customer.name,
        "email": accounts_payable_email or customer.email or "",
        "phone": customer.phone or "",
        "address_lines": [line for line in customer.address_lines if line.strip()],
        "country": customer.country or "NL",
    }


def _accounts_payable_emails(customer_ids: Iterable[int]) -> dict[int, str]:
    from betaald.debtors.models import Contact, ContactRole

    emails: dict[int, str] = {}
    rows = (
        Contact.objects.filter(customer_id__in=set(customer_ids), role=ContactRole.ACCOUNTS_PAYABLE)
        .exclude(email="")
        .order_by("customer_id", "name", "id")
        .values_list("customer_id", "email")
    )
    for customer_id, email in rows:
        emails.setdefault(customer_id, email)
    return emails


def _check(
    *, organisation: Any, customer: Any, kind: str, channel: str, fallback_channels: Sequence[str]
) -> None:
    if kind not in MessageKind.values:
        raise OutboxError(_("Unknown message kind %(kind)s.") % {"kind": kind})
    for name in (channel, *fallback_channels):
        if name not in Channel.values:
            raise OutboxError(_("Unknown channel %(channel)s.") % {"channel": name})
    if customer.organisation_id != organisation.pk:
        raise OutboxError(_("The customer belongs to another organisation."))


def _enqueue_delivery(message_ids: list[int]) -> None:
    from betaald.letters.tasks import message_deliver, messages_dispatch

    if len(message_ids) == 1:
        message_deliver.enqueue(message_ids[0])
        return
    for start in range(0, len(message_ids), DISPATCH_CHUNK):
        messages_dispatch.enqueue(message_ids[start : start + DISPATCH_CHUNK])


@transaction.atomic
def message_queue(
    *,
    organisation: Any,
    customer: Any,
    kind: str,
    channel: str,
    context: dict[str, Any],
    unique_key: str,
    invoices: Sequence[Any] = (),
    language: str | None = None,
    fallback_channels: Sequence[str] = (),
    actor: Any = None,
    recipient: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Queue one message; returns `(message, created)`. A second call with the same
    `unique_key` returns the existing message and changes nothing."""
    existing = Message.objects.filter(unique_key=unique_key).first()
    if existing is not None:
        return existing, False
    _check(
        organisation=organisation,
        customer=customer,
        kind=kind,
        channel=channel,
        fallback_channels=fallback_channels,
    )
    invoices = list(invoices)
    for invoice in invoices:
        if invoice.organisation_id != organisation.pk:
            raise OutboxError(_("An invoice belongs to another organisation."))
    if recipient is None:
        ap = _accounts_payable_emails([customer.pk])
        recipient = recipient_for(customer, accounts_payable_email=ap.get(customer.pk, ""))
    message = Message(
        organisation=organisation,
        customer=customer,
        invoice=invoices[0] if invoices else None,
        kind=kind,
        channel=channel,
        language=language or customer.language or "nl",
        recipient=recipient,
        context=context,
        unique_key=unique_key,
        fallback_channels=[c for c in fallback_channels if c != channel],
    )
    # A concurrent caller may insert the same key between our check and our insert: the
    # savepoint keeps the outer transaction usable and we return the winner's row.
    from django.db import IntegrityError

    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        return Message.objects.get(unique_key=unique_key), False
    if invoices:
        message.invoices.set(invoices)
    event_record(
        name="letters.message.queued",
        organisation=organisation,
        actor=actor,
        subject=message,
        customer=customer,
        invoice=message.invoice,
        after={
            "kind": kind,
            "channel": channel,
            "unique_key": unique_key,
            "invoices": [invoice.pk for invoice in invoices],
        },
    )
    message_id = message.pk
    transaction.on_commit(lambda: _enqueue_delivery([message_id]))
    return message, True


@transaction.atomic
def messages_queue_bulk(drafts: list[MessageDraft]) -> int:
    """Queue many messages with a fixed number of queries per 1,000; returns how many were new.

    Drafts whose `unique_key` already exists (or repeats within `drafts`) are skipped. The insert
    uses `ignore_conflicts`, so a concurrent run can never create a duplicate; in that race both
    runs may count the same message as new, but it exists and is sent once.
    """
    if not drafts:
        return 0
    seen: set[str] = set()
    unique: list[MessageDraft] = []
    for draft in drafts:
        if draft.unique_key not in seen:
            seen.add(draft.unique_key)
            unique.append(draft)
    existing: set[str] = set()
    keys = [draft.unique_key for draft in unique]
    for start in range(0, len(keys), BULK_BATCH_SIZE):
        existing.update(
            Message.objects.filter(
                unique_key__in=keys[start : start + BULK_BATCH_SIZE]
            ).values_list("unique_key", flat=True)
        )
    new = [draft for draft in unique if draft.unique_key not in existing]
    if not new:
        return 0
    for draft in new:
        _check(
            organisation=draft.organisation,
            customer=draft.customer,
            kind=draft.kind,
            channel=draft.channel,
            fallback_channels=draft.fallback_channels,
        )
    ap_emails = _accounts_payable_emails(
        draft.customer.pk for draft in new if draft.recipient is None
    )
    rows = [
        Message(
            organisation_id=draft.organisation.pk,
            customer_id=draft.customer.pk,
            invoice_id=draft.invoices[0].pk if draft.invoices else None,
            kind=draft.kind,
            channel=draft.channel,
            language=draft.language or draft.customer.language or "nl",
            recipient=draft.recipient
            if draft.recipient is not None
            else recipient_for(
                draft.customer, accounts_payable_email=ap_emails.get(draft.customer.pk, "")
            ),
            context=draft.context,
            unique_key=draft.unique_key,
            status=MessageStatus.QUEUED,
            fallback_channels=[c for c in draft.fallback_channels if c != draft.channel],
        )
        for draft in new
    ]
    Message.objects.bulk_create(rows, batch_size=BULK_BATCH_SIZE, ignore_conflicts=True)
    new_keys = [draft.unique_key for draft in new]
    ids: dict[str, int] = {}
    for start in range(0, len(new_keys), BULK_BATCH_SIZE):
        ids.update(
            (key, pk)
            for pk, key in Message.objects.filter(
                unique_key__in=new_keys[start : start + BULK_BATCH_SIZE]
            ).values_list("id", "unique_key")
        )
    through = Message.invoices.through
    links = [
        through(message_id=ids[draft.unique_key], invoice_id=invoice.pk)
        for draft in new
        if draft.unique_key in ids
        for invoice in draft.invoices
    ]
    through.objects.bulk_create(links, batch_size=BULK_BATCH_SIZE, ignore_conflicts=True)
    per_organisation: dict[int, tuple[Any, Any, int]] = {}
    for draft in new:
        organisation, actor, count = per_organisation.get(
            draft.organisation.pk, (draft.organisation, draft.actor, 0)
        )
        per_organisation[draft.organisation.pk] = (organisation, actor, count + 1)
    for organisation, actor, count in per_organisation.values():
        event_record(
            name="letters.message.queued",
            organisation=organisation,
            actor=actor,
            after={"count": count, "bulk": True},
            message=_("%(count)s messages queued") % {"count": count},
        )
    message_ids = sorted(ids[key] for key in new_keys if key in ids)
    transaction.on_commit(lambda: _enqueue_delivery(message_ids))
    return len(new)
