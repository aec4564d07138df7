"""Writes to the outbox. Queueing is idempotent on `unique_key`: a message is sent at most once.

`message_queue` is for one message (an invoice, a manual letter); `messages_queue_bulk` is for
the dunning run, which queues tens of thousands of messages a day with a fixed number of
queries per batch. Delivery happens in the worker (`betaald.letters.tasks`), enqueued on commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from betaald.audit.services import event_record
from betaald.letters.models import Channel, Message, MessageKind, MessageStatus
from betaald.organisations.services import organisation_snapshot

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


def recipient_for(customer: Any, *, accounts_payable: tuple[str, str] = ("", "")) -> dict[str, Any]:
    """The recipient snapshot stored on a message: who it went to, frozen at queue time.

    `accounts_payable` is the (email, name) of the customer's accounts-payable contact: its
    email receives the messages, and a business's letter is addressed for its attention."""
    email, contact = accounts_payable
    return {
        "name": customer.name,
        "attention": contact if customer.kind == "business" else "",
        "email": email or customer.email or "",
        "phone": customer.phone or "",
        "address_lines": [line for line in customer.address_lines if line.strip()],
        "country": customer.country or "NL",
    }


def sender_snapshot(organisation: Any) -> dict[str, Any]:
    """The creditor's details as printed on the letterhead, frozen with the message: what an
    invoice freezes (`organisation_snapshot`) plus the website and the logo."""
    return {
        **organisation_snapshot(organisation),
        "website": organisation.website,
        "logo": organisation.logo.name if organisation.logo else "",
    }


def _frozen(
    context: dict[str, Any], organisation: Any, customer: Any, sender: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The caller's context plus what every letter prints: the sender and the customer number."""
    frozen = dict(context)
    if "sender" not in frozen:
        frozen["sender"] = sender if sender is not None else sender_snapshot(organisation)
    frozen.setdefault("customer_number", customer.number)
    return frozen


def _accounts_payable(customer_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Per customer, its first accounts-payable contact with an email address (else the first
    without one): (email, name). One query for any number of customers."""
    from betaald.debtors.models import Contact, ContactRole

    found: dict[int, tuple[str, str]] = {}
    rows = (
        Contact.objects.filter(customer_id__in=set(customer_ids), role=ContactRole.ACCOUNTS_PAYABLE)
        .order_by("customer_id", "name", "id")
        .values_list("customer_id", "email", "name")
    )
    for customer_id, email, name in rows:
        current = found.get(customer_id)
        if current is None or (email and not current[0]):
            found[customer_id] = (email, name)
    return found


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
        if existing.organisation_id != organisation.pk:
            raise OutboxError(_("This unique key belongs to another organisation."))
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
        ap = _accounts_payable([customer.pk])
        recipient = recipient_for(customer, accounts_payable=ap.get(customer.pk, ("", "")))
    message = Message(
        organisation=organisation,
        customer=customer,
        invoice=invoices[0] if invoices else None,
        kind=kind,
        channel=channel,
        language=language or customer.language or "nl",
        recipient=recipient,
        context=_frozen(context, organisation, customer),
        unique_key=unique_key,
        fallback_channels=[c for c in fallback_channels if c != channel],
    )
    # A concurrent caller may insert the same key between our check and our insert: the
    # savepoint keeps the outer transaction usable and we return the winner's row.
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


def _copy_insert(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    returning: str = "",
) -> list[tuple[Any, ...]]:
    """PostgreSQL only: COPY `rows` into a temporary table shaped like `table`, then one
    `INSERT ... SELECT ... ON CONFLICT DO NOTHING` (a row whose unique key exists already, or
    is inserted by a concurrent run, is left out). Returns the `returning` columns of the rows
    that were really inserted. COPY sends the values in PostgreSQL's text format; psycopg
    adapts them in C, where `bulk_create` composes and quotes one huge parameter list."""
    from django.db import connection

    temp = f"{table}_copy"
    names = ", ".join(f'"{name}"' for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{temp}"')
        cursor.execute(
            f'CREATE TEMP TABLE "{temp}" ON COMMIT DROP AS '  # noqa: S608
            f'SELECT {names} FROM "{table}" WITH NO DATA'
        )
        with cursor.cursor.copy(f'COPY "{temp}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        sql = (
            f'INSERT INTO "{table}" ({names}) SELECT {names} FROM "{temp}"'  # noqa: S608
            " ON CONFLICT DO NOTHING"
        )
        if returning:
            sql += f" RETURNING {returning}"
        cursor.execute(sql)
        inserted = [tuple(row) for row in cursor.fetchall()] if returning else []
        cursor.execute(f'DROP TABLE "{temp}"')
    return inserted


# The columns `messages_queue_bulk` writes; the others are NULL until the worker sets them.
_BULK_COLUMNS = (
    "organisation_id",
    "customer_id",
    "invoice_id",
    "kind",
    "channel",
    "language",
    "recipient",
    "context",
    "unique_key",
    "status",
    "fallback_channels",
    "attempts",
    "failure_reason",
    "created_at",
    "pdf",
    "pdf_sha256",
    "message_id",
    "smtp_response",
    "provider_id",
)


def _insert_messages(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """Insert `rows` (values in `_BULK_COLUMNS` order up to `status`, then the fallback
    channels), skipping any whose unique key exists; returns {unique_key: id} of the rows this
    call inserted (on PostgreSQL exactly those; on SQLite, which cannot return the ids of
    `bulk_create(ignore_conflicts=True)`, those of the keys looked up afterwards)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        now = timezone.now()
        values = (
            (
                *row[:6],
                Jsonb(row[6]),
                Jsonb(row[7]),
                row[8],
                row[9],
                Jsonb(row[10]),
                0,
                "",
                now,
                "",
                "",
                "",
                "",
                "",
            )
            for row in rows
        )
        inserted = _copy_insert(
            Message._meta.db_table, _BULK_COLUMNS, values, returning="unique_key, id"
        )
        return dict(inserted)
    names = _BULK_COLUMNS[:11]
    Message.objects.bulk_create(
        [Message(**dict(zip(names, row, strict=True))) for row in rows],
        batch_size=BULK_BATCH_SIZE,
        ignore_conflicts=True,
    )
    keys = [row[8] for row in rows]
    ids: dict[str, int] = {}
    for start in range(0, len(keys), BULK_BATCH_SIZE):
        ids.update(
            Message.objects.filter(
                unique_key__in=keys[start : start + BULK_BATCH_SIZE]
            ).values_list("unique_key", "id")
        )
    return ids


def _existing_keys(keys: list[str]) -> set[str]:
    """The unique keys among `keys` that the outbox holds already: on PostgreSQL one query
    with the keys as one array parameter, elsewhere in batches of placeholders."""
    from django.db import connection

    if connection.vendor == "postgresql":
        from django.db.models.expressions import RawSQL

        return set(
            Message.objects.filter(
                unique_key__in=RawSQL("SELECT unnest(%s::text[])", (keys,))
            ).values_list("unique_key", flat=True)
        )
    existing: set[str] = set()
    for start in range(0, len(keys), BULK_BATCH_SIZE):
        existing.update(
            Message.objects.filter(
                unique_key__in=keys[start : start + BULK_BATCH_SIZE]
            ).values_list("unique_key", flat=True)
        )
    return existing


def _insert_invoice_links(links: list[tuple[int, int]]) -> None:
    """The (message id, invoice id) rows of `Message.invoices`."""
    from django.db import connection

    through = Message.invoices.through
    if connection.vendor == "postgresql":
        _copy_insert(through._meta.db_table, ("message_id", "invoice_id"), links)
        return
    through.objects.bulk_create(
        [through(message_id=m, invoice_id=i) for m, i in links],
        batch_size=BULK_BATCH_SIZE,
        ignore_conflicts=True,
    )


@transaction.atomic
def messages_queue_bulk(drafts: list[MessageDraft]) -> int:
    """Queue many messages with a fixed number of queries; returns how many were new.

    Drafts whose `unique_key` already exists (or repeats within `drafts`) are skipped. On
    PostgreSQL the rows go in with COPY into a temporary table and one `INSERT ... ON CONFLICT
    DO NOTHING RETURNING`, so a concurrent run can never create a duplicate and each run counts
    (and enqueues) only the rows it inserted itself. On SQLite `bulk_create(ignore_conflicts)`.
    The rows are built as plain tuples (no model objects); the checks, the recipient and the
    sender are worked out once per distinct input (kind and channels, customer, organisation).
    """
    if not drafts:
        return 0
    seen: set[str] = set()
    unique: list[MessageDraft] = []
    for draft in drafts:
        if draft.unique_key not in seen:
            seen.add(draft.unique_key)
            unique.append(draft)
    existing = _existing_keys([draft.unique_key for draft in unique])
    new = [draft for draft in unique if draft.unique_key not in existing]
    if not new:
        return 0
    checked: set[tuple[Any, ...]] = set()
    for draft in new:
        # `_check` depends on these values only: each distinct combination is checked once.
        key = (
            draft.organisation.pk,
            draft.customer.organisation_id,
            draft.kind,
            draft.channel,
            tuple(draft.fallback_channels),
        )
        if key not in checked:
            _check(
                organisation=draft.organisation,
                customer=draft.customer,
                kind=draft.kind,
                channel=draft.channel,
                fallback_channels=draft.fallback_channels,
            )
            checked.add(key)
    ap_contacts = _accounts_payable(draft.customer.pk for draft in new if draft.recipient is None)
    senders: dict[int, dict[str, Any]] = {}
    recipients: dict[int, dict[str, Any]] = {}
    queued = MessageStatus.QUEUED.value
    rows: list[tuple[Any, ...]] = []
    for draft in new:
        organisation = draft.organisation
        customer = draft.customer
        sender = senders.get(organisation.pk)
        if sender is None:
            sender = senders[organisation.pk] = sender_snapshot(organisation)
        recipient = draft.recipient
        if recipient is None:
            recipient = recipients.get(customer.pk)
            if recipient is None:
                recipient = recipients[customer.pk] = recipient_for(
                    customer, accounts_payable=ap_contacts.get(customer.pk, ("", ""))
                )
        rows.append(
            (
                organisation.pk,
                customer.pk,
                draft.invoices[0].pk if draft.invoices else None,
                draft.kind,
                draft.channel,
                draft.language or customer.language or "nl",
                recipient,
                _frozen(draft.context, organisation, customer, sender),
                draft.unique_key,
                queued,
                [c for c in draft.fallback_channels if c != draft.channel],
            )
        )
    ids = _insert_messages(rows)
    _insert_invoice_links(
        [
            (ids[draft.unique_key], invoice.pk)
            for draft in new
            if draft.unique_key in ids
            for invoice in draft.invoices
        ]
    )
    per_organisation: dict[int, tuple[Any, Any, int]] = {}
    for draft in new:
        if draft.unique_key not in ids:
            continue
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
    message_ids = sorted(ids.values())
    transaction.on_commit(lambda: _enqueue_delivery(message_ids))
    return len(ids)


def invoice_context(invoice: Any) -> dict[str, Any]:
    """The frozen context of an invoice message: everything its PDF shows (art. 35a Wet OB),
    taken from the invoice's own snapshots made when it was issued."""
    from betaald.core.invoicing import Line, VatRate, invoice_totals

    lines = list(invoice.lines.all())
    totals = invoice_totals(
        [
            Line(
                quantity=line.quantity, unit_price=line.unit_price, vat_rate=VatRate(line.vat_rate)
            )
            for line in lines
        ]
    )
    seller = dict(invoice.seller or {})
    organisation = invoice.organisation
    sender = {**sender_snapshot(organisation), **{k: v for k, v in seller.items() if v}}
    total = str(invoice.total)
    reference = invoice.payment_reference
    issued_on = invoice.issued_on.isoformat() if invoice.issued_on else ""
    due_on = invoice.due_on.isoformat() if invoice.due_on else ""
    return {
        "date": issued_on,
        "sender": sender,
        "customer_number": (invoice.buyer or {}).get("number") or invoice.customer.number,
        "payment_reference": reference,
        "pay_by": due_on,
        "total": total,
        "invoices": [
            {
                "number": invoice.number,
                "issued_on": issued_on,
                "due_on": due_on,
                "principal": total,
                "interest": "0.00",
                "costs": "0.00",
                "total": total,
                "payment_reference": reference,
            }
        ],
        "invoice_document": {
            "kind": invoice.kind,
            "number": invoice.number,
            "issued_on": issued_on,
            "delivered_on": invoice.delivered_on.isoformat() if invoice.delivered_on else "",
            "due_on": due_on,
            "customer_reference": invoice.customer_reference,
            "credited_number": invoice.credited_invoice.number
            if invoice.credited_invoice_id
            else "",
            "seller": sender,
            "buyer": invoice.buyer or {},
            "lines": [
                {
                    "description": line.description,
                    "quantity": str(line.quantity),
                    "unit": line.unit,
                    "unit_price": str(line.unit_price),
                    "vat_rate": line.vat_rate,
                    "amount": str(line.amount),
                }
                for line in lines
            ],
            "vat_groups": [
                {"rate": group.rate.value, "base": str(group.base), "vat": str(group.vat)}
                for group in totals.groups
            ],
            "total_excl_vat": str(invoice.total_excl_vat),
            "total_vat": str(invoice.total_vat),
            "total": total,
            "notes": invoice.notes,
        },
    }


def invoice_send(*, invoice: Any, actor: Any = None) -> tuple[Message, bool]:
    """Queue the email of an issued invoice with its PDF (a posted letter if the customer has
    no email address). Idempotent: an invoice is sent once; resend by hand with a reason."""
    from betaald.invoices.models import InvoiceStatus

    if invoice.status != InvoiceStatus.ISSUED:
        raise OutboxError(_("Only an issued invoice can be sent."))
    return message_queue(
        organisation=invoice.organisation,
        customer=invoice.customer,
        kind=MessageKind.INVOICE,
        channel=Channel.EMAIL,
        context=invoice_context(invoice),
        unique_key=f"invoice:{invoice.pk}:send",
        invoices=[invoice],
        language=(invoice.buyer or {}).get("language") or invoice.customer.language,
        fallback_channels=[Channel.LETTER],
        actor=actor,
    )


@transaction.atomic
def message_resend(
    *, message: Message, reason: str, actor: Any, channel: str | None = None
) -> Message:
    """Send a message again by hand, with a reason (audited). The copy carries the same frozen
    context (template and letter date included), so it shows exactly what the original showed."""
    reason = reason.strip()
    if not reason:
        raise OutboxError(_("A resend needs a reason."))
    if message.status in (MessageStatus.QUEUED, MessageStatus.RENDERING):
        raise OutboxError(_("The message is still being sent."))
    channel = channel or message.channel
    count = Message.objects.filter(unique_key__startswith=f"{message.unique_key}:resend:").count()
    copy, _created = message_queue(
        organisation=message.organisation,
        customer=message.customer,
        kind=message.kind,
        channel=channel,
        context=message.context,
        unique_key=f"{message.unique_key}:resend:{count + 1}",
        invoices=list(message.invoices.all()),
        language=message.language,
        actor=actor,
        recipient=recipient_for(
            message.customer,
            accounts_payable=_accounts_payable([message.customer_id]).get(
                message.customer_id, ("", "")
            ),
        ),
    )
    event_record(
        name="letters.message.resent",
        organisation=message.organisation,
        actor=actor,
        subject=message,
        customer=message.customer,
        invoice=message.invoice,
        after={"copy": copy.pk, "channel": channel, "reason": reason},
        message=reason,
    )
    return copy


@transaction.atomic
def message_cancel(*, message: Message, reason: str, actor: Any) -> Message:
    """Stop a queued message (paid in the meantime, wrong address); audited."""
    updated = Message.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(
        status=MessageStatus.CANCELLED, failure_reason=f"cancelled: {reason}"[:2000]
    )
    if updated != 1:
        raise OutboxError(_("Only a queued message can be cancelled."))
    event_record(
        name="letters.message.cancelled",
        organisation=message.organisation,
        actor=actor,
        subject=message,
        customer=message.customer,
        invoice=message.invoice,
        after={"reason": reason},
        message=reason,
    )
    message.refresh_from_db()
    return message


@transaction.atomic
def message_template_save(
    *,
    organisation: Any,
    kind: str,
    language: str,
    subject: str,
    body: str,
    sms_text: str = "",
    actor: Any = None,
) -> Any:
    """Create or replace an organisation's template; refused (ValidationError) when it has a
    syntax error, an unknown placeholder or tag, or lacks what the law needs (14-dagenbrief)."""
    from betaald.letters.models import MessageTemplate
    from betaald.letters.rendering import default_parts, template_validate

    template_validate(
        kind=kind,
        language=language,
        subject=subject,
        body=body,
        sms=sms_text or default_parts(kind, language)["sms"],
    )
    existing = MessageTemplate.objects.filter(
        organisation=organisation, kind=kind, language=language
    ).first()
    before = (
        {"subject": existing.subject, "body": existing.body, "sms_text": existing.sms_text}
        if existing
        else None
    )
    template, _created = MessageTemplate.objects.update_or_create(
        organisation=organisation,
        kind=kind,
        language=language,
        defaults={"subject": subject, "body": body, "sms_text": sms_text},
    )
    event_record(
        name="letters.template.saved",
        organisation=organisation,
        actor=actor,
        subject=template,
        before=before,
        after={"subject": subject, "body": body, "sms_text": sms_text},
    )
    return template


@transaction.atomic
def message_template_reset(*, organisation: Any, kind: str, language: str, actor: Any) -> None:
    """Go back to the default template."""
    from betaald.letters.models import MessageTemplate

    deleted, _rows = MessageTemplate.objects.filter(
        organisation=organisation, kind=kind, language=language
    ).delete()
    if deleted:
        event_record(
            name="letters.template.reset",
            organisation=organisation,
            actor=actor,
            after={"kind": kind, "language": language},
        )
