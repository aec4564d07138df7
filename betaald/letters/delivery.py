"""Rendering and delivery of one message: the worker's job. See docs/algorithms/letters.md.

Exactly once, step by step, each a committed status change:

1. **claim**: `queued → rendering` under `select_for_update(skip_locked=True)` and a conditional
   update, so two workers never hold the same message;
2. **render**: the template and the letter date are frozen into the context on the first claim,
   the PDF is stored with its SHA-256 (a retry renders the same bytes);
3. **hand over**: `handed_over_at` is committed just before the SMTP server, SMS provider or print
   queue gets the message;
4. **record**: `rendering → sent` with the Message-ID and the SMTP/provider response.

A worker killed before 3 leaves a message that `messages_recover` puts back in the queue; killed
between 3 and 4, the outcome is unknown and the message is never sent again automatically: it is
marked failed with a task for a person ("check before resending"). So nothing is sent twice.

Temporary failures (a 4xx SMTP answer, a connection error, HTTP 5xx) are retried with backoff;
permanent ones (no address, 5xx, a refused number) fall back to the next channel of the step, and
when none is left the message fails with its reason and a `SendIssue` task. A template that does
not render fails that one message, never the batch.
"""

from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import formataddr, make_msgid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from betaald.audit.services import event_record
from betaald.letters.models import (
    Channel,
    Message,
    MessageKind,
    MessageStatus,
    SendIssue,
    SendIssueKind,
)
from betaald.letters.pdf import letter_pdf, sha256_of
from betaald.letters.rendering import Rendered, RenderError, render_message, template_parts
from betaald.letters.sms import (
    SmsPermanentError,
    SmsStatusReport,
    SmsTemporaryError,
    originator_for,
    sms_backend,
)

RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
STALE_CLAIM = timedelta(minutes=15)

# Formal letters travel as a PDF attachment too; friendly reminders are a plain email.
PDF_BY_EMAIL = {
    MessageKind.INVOICE,
    MessageKind.DEMAND,
    MessageKind.FINAL_NOTICE_14_DAY,
    MessageKind.FINAL_NOTICE,
    MessageKind.PLAN_CONFIRMATION,
    MessageKind.HANDOVER_NOTICE,
    MessageKind.LIMITATION_NOTICE,
}


class TemporaryFailure(Exception):
    """Retrying later may help."""


class PermanentFailure(Exception):
    """Retrying on this channel cannot help."""

    def __init__(self, reason: str, *, no_address: bool = False) -> None:
        super().__init__(reason)
        self.no_address = no_address


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: str = ""
    response: str = ""
    provider_id: str = ""


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _enqueue(message_id: int, run_after: datetime | None = None) -> None:
    from betaald.letters.tasks import message_deliver

    if run_after is None:
        message_deliver.enqueue(message_id)
    else:
        message_deliver.using(run_after=run_after).enqueue(message_id)


def _enqueue_all(message_ids: list[int]) -> None:
    for message_id in message_ids:
        _enqueue(message_id)


# --- the steps ---------------------------------------------------------------------------------


def message_claim(message_id: int, *, now: datetime) -> Message | None:
    """Take a queued message for this worker, or None if it is not queued or another has it."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=MessageStatus.QUEUED)
            .first()
        )
        if message is None:
            return None
        claimed = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
            status=MessageStatus.RENDERING,
            claimed_at=now,
            handed_over_at=None,
            attempts=message.attempts + 1,
        )
        if claimed != 1:
            return None
    return Message.objects.select_related("organisation", "customer", "invoice").get(pk=message_id)


def message_freeze(message: Message, *, now: datetime) -> None:
    """Freeze the template and the letter date into the context (once, before anything is
    sent), so every later render of this message is identical."""
    context = dict(message.context)
    changed = False
    if "template" not in context:
        context["template"] = template_parts(
            message.organisation_id, message.kind, message.language
        )
        changed = True
    if not context.get("date"):
        context["date"] = timezone.localdate(now).isoformat()
        changed = True
    if changed:
        message.context = context
        Message.objects.filter(pk=message.pk).update(context=context)


def message_render(message: Message) -> Rendered:
    return render_message(
        organisation_id=message.organisation_id,
        kind=message.kind,
        language=message.language,
        context=message.context,
        recipient=message.recipient,
        parts=message.context.get("template"),
    )


def needs_pdf(message: Message) -> bool:
    return message.channel == Channel.LETTER or (
        message.channel == Channel.EMAIL and message.kind in PDF_BY_EMAIL
    )


def message_pdf_store(message: Message, rendered: Rendered) -> bytes:
    """Render the PDF and store it with its SHA-256 (kept if a retry renders the same bytes)."""
    content = letter_pdf(rendered)
    digest = sha256_of(content)
    if message.pdf and message.pdf_sha256 == digest:
        return content
    name = f"{message.pk}-{message.kind}-{digest[:12]}.pdf"
    message.pdf.save(name, ContentFile(content), save=False)
    message.pdf_sha256 = digest
    Message.objects.filter(pk=message.pk).update(pdf=message.pdf.name, pdf_sha256=digest)
    return content


def pdf_filename(message: Message, rendered: Rendered) -> str:
    number = rendered.display["invoice"].get("number") or str(message.pk)
    label = "factuur" if message.language == "nl" else "invoice"
    if message.kind != MessageKind.INVOICE:
        label = "brief" if message.language == "nl" else "letter"
    return f"{label}-{number}.pdf".replace("/", "-")


def address_problem(message: Message) -> str | None:
    recipient = message.recipient or {}
    if message.channel == Channel.EMAIL:
        email = str(recipient.get("email", "")).strip()
        if not email:
            return "no email address"
        try:
            validate_email(email)
        except ValidationError:
            return f"invalid email address {email!r}"
    elif message.channel == Channel.SMS:
        if not str(recipient.get("phone", "")).strip():
            return "no phone number"
    elif not [line for line in recipient.get("address_lines") or [] if str(line).strip()]:
        return "no postal address"
    return None


def pre_notification_too_late(message: Message, today: date) -> str | None:
    """A SEPA pre-notification must reach the debtor at least the mandate's pre-notification
    days (`direct_debit.pre_notification_days`, 14 by the rulebook unless agreed otherwise)
    before the collection date; sent later it would announce a debit that may not be taken.
    Returns the reason to refuse it, or None."""
    if message.kind != MessageKind.SEPA_PRE_NOTIFICATION:
        return None
    debit = (message.context or {}).get("direct_debit") or {}
    try:
        collection = date.fromisoformat(str(debit.get("collection_date", ""))[:10])
        days = int(debit.get("pre_notification_days", 14))
    except (TypeError, ValueError):
        return "pre-notification without a valid direct_debit.collection_date"
    if (collection - today).days < days:
        return (
            f"pre-notification too late: collection on {collection.isoformat()} is less than "
            f"{days} days after {today.isoformat()}; move the collection date"
        )
    return None


def email_html(rendered: Rendered) -> str:
    """The HTML part: the rendered body in a plain, mail-client-safe page."""
    from django.template.loader import render_to_string

    return render_to_string(
        "letters/layout/email.html",
        {**rendered.display, "subject": rendered.subject, "body": rendered.html},
    )


def email_build(message: Message, rendered: Rendered, pdf: bytes | None) -> EmailMultiAlternatives:
    sender = message.context.get("sender") or {}
    name = sender.get("trade_name") or sender.get("legal_name") or ""
    from_address = formataddr((name, settings.DEFAULT_FROM_EMAIL))
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=from_address,
        to=[formataddr((str(message.recipient.get("name", "")), message.recipient["email"]))],
        reply_to=[sender["email"]] if sender.get("email") else None,
        headers={
            "Message-ID": message.message_id or make_msgid(f"betaald.{message.pk}", domain),
            "X-Betaald-Message": str(message.pk),
        },
    )
    email.attach_alternative(email_html(rendered), "text/html")
    if pdf is not None:
        email.attach(pdf_filename(message, rendered), pdf, "application/pdf")
    ubl = invoice_ubl_attachment(message)
    if ubl is not None:
        email.attach(ubl[0], ubl[1], "application/xml")
    return email


def invoice_ubl_attachment(message: Message) -> tuple[str, bytes] | None:
    """An invoice's email carries its UBL 2.1 e-invoice (Peppol BIS 3.0) next to the PDF, so
    the customer's bookkeeping can read it in. Made from the invoice's frozen snapshots, so a
    resend carries the same XML. None for other messages, or an invoice without a UBL document
    (not issued) — the PDF is still the invoice then."""
    if message.kind != MessageKind.INVOICE or message.invoice_id is None:
        return None
    from betaald.invoices.ubl import UblNotAvailable, invoice_ubl, ubl_filename

    invoice = message.invoice
    if invoice is None:
        return None
    try:
        return ubl_filename(invoice).replace("/", "-"), invoice_ubl(invoice)
    except UblNotAvailable:
        return None


def _close_quietly(connection: Any) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        connection.close()
    connection.connection = None


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer


def smtp_send(email: EmailMultiAlternatives, connection: Any = None) -> str:
    """Send through Django's configured backend; with SMTP, return the server's final answer.

    The SMTP dialogue is spoken here (MAIL, RCPT, DATA) because Django's backend does not return
    the server's answer, which is the evidence of delivery ("250 OK queued as …").

    A `connection` passed in stays open for the next message (the caller closes it); without
    one, a connection is opened and closed for this message."""
    own = connection is None
    connection = connection or get_connection()
    if not isinstance(connection, SmtpBackend):
        connection.send_messages([email])
        return f"accepted by {type(connection).__module__}"
    try:
        if connection.connection is None:
            connection.open()
        server = connection.connection
        if server is None:
            raise TemporaryFailure("SMTP: no connection")
        encoding = email.encoding or settings.DEFAULT_CHARSET
        from_address = sanitize_address(email.from_email, encoding)
        recipients = [sanitize_address(address, encoding) for address in email.recipients()]
        data = email.message().as_bytes(linesep="\r\n")
        server.ehlo_or_helo_if_needed()
        code, answer = server.mail(from_address)
        if code != 250:
            server.rset()
            raise smtplib.SMTPSenderRefused(code, answer, from_address)
        for recipient in recipients:
            code, answer = server.rcpt(recipient)
            if code not in (250, 251):
                server.rset()
                raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
        code, answer = server.data(data)
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)
        return f"{code} {answer.decode('utf-8', 'replace')}"
    except smtplib.SMTPRecipientsRefused as error:
        (code, answer), *_rest = error.recipients.values()
        text = (
            f"{code} {answer.decode('utf-8', 'replace') if isinstance(answer, bytes) else answer}"
        )
        if 400 <= code < 500:
            raise TemporaryFailure(text) from None
        raise PermanentFailure(text) from None
    except smtplib.SMTPResponseException as error:
        text = f"{error.smtp_code} {_text(error.smtp_error)}"
        if error.smtp_code >= 500:
            raise PermanentFailure(text) from None
        raise TemporaryFailure(text) from None
    except (smtplib.SMTPException, OSError) as error:
        _close_quietly(connection)
        raise TemporaryFailure(f"SMTP: {error}") from None
    finally:
        if own:
            _close_quietly(connection)


def message_send(
    message: Message, rendered: Rendered, pdf: bytes | None, *, email_connection: Any = None
) -> Delivery:
    if message.channel == Channel.EMAIL:
        email = email_build(message, rendered, pdf)
        response = smtp_send(email, email_connection)
        return Delivery(message_id=str(email.extra_headers["Message-ID"]), response=response)
    if message.channel == Channel.SMS:
        sender = message.context.get("sender") or {}
        try:
            result = sms_backend().send(
                to=str(message.recipient["phone"]),
                text=rendered.sms,
                originator=originator_for(sender.get("trade_name") or sender.get("legal_name", "")),
                reference=str(message.pk),
            )
        except SmsTemporaryError as error:
            raise TemporaryFailure(str(error)) from None
        except SmsPermanentError as error:
            raise PermanentFailure(str(error)) from None
        return Delivery(response=result.response, provider_id=result.provider_id)
    return Delivery(response="in the print queue", provider_id="print")


# --- outcomes ----------------------------------------------------------------------------------


def _record_sent(message: Message, delivery: Delivery, now: datetime) -> None:
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.SENT,
            sent_at=now,
            message_id=delivery.message_id,
            smtp_response=delivery.response[:2000],
            provider_id=delivery.provider_id[:100],
        )
        event_record(
            name="letters.message.sent",
            organisation=message.organisation,
            actor="worker",
            subject=message,
            customer=message.customer,
            invoice=message.invoice,
            after={
                "channel": message.channel,
                "to": _address_of(message),
                "pdf_sha256": message.pdf_sha256,
                "message_id": delivery.message_id,
                "response": delivery.response[:500],
            },
        )


def _address_of(message: Message) -> str:
    recipient = message.recipient or {}
    if message.channel == Channel.EMAIL:
        return str(recipient.get("email", ""))
    if message.channel == Channel.SMS:
        return str(recipient.get("phone", ""))
    return " / ".join(str(line) for line in recipient.get("address_lines") or [])


def _retry_or_fall_back(message: Message, reason: str, now: datetime) -> str:
    if message.attempts <= len(RETRY_DELAYS):
        run_after = now + RETRY_DELAYS[message.attempts - 1]
        with transaction.atomic():
            Message.objects.filter(pk=message.pk).update(
                status=MessageStatus.QUEUED,
                handed_over_at=None,
                failure_reason=f"{message.channel} attempt {message.attempts}: {reason}"[:2000],
            )
            message_id = message.pk
            transaction.on_commit(lambda: _enqueue(message_id, run_after))
        return "retry"
    return _fall_back_or_fail(message, f"{reason} (after {message.attempts} attempts)", now)


def _fall_back_or_fail(
    message: Message, reason: str, now: datetime, *, no_address: bool = False
) -> str:
    fallbacks = list(message.fallback_channels or [])
    with transaction.atomic():
        if fallbacks:
            channel = fallbacks.pop(0)
            Message.objects.filter(pk=message.pk).update(
                status=MessageStatus.QUEUED,
                channel=channel,
                fallback_channels=fallbacks,
                attempts=0,
                handed_over_at=None,
                failure_reason=f"{message.channel}: {reason}"[:2000],
            )
            event_record(
                name="letters.message.fallback",
                organisation=message.organisation,
                actor="worker",
                subject=message,
                customer=message.customer,
                invoice=message.invoice,
                before={"channel": message.channel},
                after={"channel": channel, "reason": reason[:500]},
            )
            message_id = message.pk
            transaction.on_commit(lambda: _enqueue(message_id))
            return "fallback"
        message_fail(
            message,
            reason=f"{message.channel}: {reason}",
            issue=SendIssueKind.NO_ADDRESS if no_address else SendIssueKind.DELIVERY_FAILED,
        )
    return "failed"


def message_fail(message: Message, *, reason: str, issue: str) -> None:
    """Mark a message failed and open a task for a person; never silent."""
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.FAILED, failure_reason=reason[:2000]
        )
        SendIssue.objects.create(
            organisation_id=message.organisation_id,
            customer_id=message.customer_id,
            message=message,
            kind=issue,
            description=reason[:2000],
        )
        event_record(
            name="letters.message.failed",
            organisation=message.organisation,
            actor="worker",
            subject=message,
            customer=message.customer,
            invoice=message.invoice,
            after={"channel": message.channel, "reason": reason[:500], "issue": issue},
        )


# --- the worker's entry point ------------------------------------------------------------------


def message_deliver_now(
    message_id: int, *, now: datetime | None = None, email_connection: Any = None
) -> str:
    """Render and send one message. Returns the outcome: sent, retry, fallback, failed or
    skipped (not queued, or another worker has it)."""
    moment = _now(now)
    message = message_claim(message_id, now=moment)
    if message is None:
        return "skipped"
    problem = address_problem(message)
    if problem is not None:
        return _fall_back_or_fail(message, problem, moment, no_address=True)
    late = pre_notification_too_late(message, timezone.localdate(moment))
    if late is not None:
        message_fail(message, reason=late, issue=SendIssueKind.DELIVERY_FAILED)
        return "failed"
    try:
        message_freeze(message, now=moment)
        rendered = message_render(message)
        pdf = message_pdf_store(message, rendered) if needs_pdf(message) else None
    except RenderError as error:
        message_fail(message, reason=f"render: {error}", issue=SendIssueKind.RENDER_FAILED)
        return "failed"
    except Exception as error:  # one broken message never stops the batch
        message_fail(
            message,
            reason=f"render: {type(error).__name__}: {error}",
            issue=SendIssueKind.RENDER_FAILED,
        )
        return "failed"
    Message.objects.filter(pk=message.pk, status=MessageStatus.RENDERING).update(
        handed_over_at=moment
    )
    try:
        delivery = message_send(message, rendered, pdf, email_connection=email_connection)
    except TemporaryFailure as error:
        return _retry_or_fall_back(message, str(error), moment)
    except PermanentFailure as error:
        return _fall_back_or_fail(message, str(error), moment)
    _record_sent(message, delivery, moment)
    return "sent"


def messages_recover(*, now: datetime | None = None) -> dict[str, int]:
    """After a crash: messages claimed but never handed over go back to the queue, queued
    messages whose task was lost are enqueued again, and messages handed over without a
    recorded outcome fail with a task (never re-sent automatically). Safe to run any time:
    a message enqueued twice is still claimed once."""
    moment = _now(now)
    stale = Message.objects.filter(
        status=MessageStatus.RENDERING, claimed_at__lt=moment - STALE_CLAIM
    )
    requeued = list(stale.filter(handed_over_at__isnull=True).values_list("id", flat=True))
    with transaction.atomic():
        Message.objects.filter(pk__in=requeued, status=MessageStatus.RENDERING).update(
            status=MessageStatus.QUEUED
        )
        transaction.on_commit(lambda: _enqueue_all(requeued))
    # Queued but never claimed long after queueing: their task was lost with a killed worker.
    orphans = list(
        Message.objects.filter(
            status=MessageStatus.QUEUED, attempts=0, created_at__lt=moment - STALE_CLAIM
        ).values_list("id", flat=True)
    )
    transaction.on_commit(lambda: _enqueue_all(orphans))
    unknown = 0
    for message in stale.filter(handed_over_at__isnull=False).select_related(
        "organisation", "customer", "invoice"
    ):
        message_fail(
            message,
            reason=(
                f"{message.channel}: the worker stopped after handing the message over at "
                f"{message.handed_over_at:%Y-%m-%d %H:%M:%S}; it may have been sent. "
                "Check before resending."
            ),
            issue=SendIssueKind.OUTCOME_UNKNOWN,
        )
        unknown += 1
    return {"requeued": len(requeued), "orphans": len(orphans), "unknown": unknown}


# --- bounces -----------------------------------------------------------------------------------


def dsn_parse(raw: bytes) -> tuple[str, str, str] | None:
    """From a delivery status notification (RFC 3464): the original Message-ID, the action
    (`failed`, `delayed`, `delivered`, `relayed`, `expanded`) and the details; None if it is not
    a report on a message betaald sent."""
    import email
    import email.policy

    report = email.message_from_bytes(raw, policy=email.policy.compat32)
    message_id = ""
    actions: list[str] = []
    reason_parts: list[str] = []
    for part in report.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            blocks: Any = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                action = str(block.get("Action", "")).strip().lower()
                if action:
                    actions.append(action)
                for header in ("Action", "Status", "Diagnostic-Code"):
                    value = block.get(header)
                    if value:
                        reason_parts.append(f"{header}: {' '.join(str(value).split())}")
        elif content_type in ("message/rfc822", "text/rfc822-headers"):
            payload: Any = part.get_payload()
            original: Any = (
                payload[0]
                if isinstance(payload, list)
                else email.message_from_string(str(payload), policy=email.policy.compat32)
            )
            message_id = message_id or str(original.get("Message-ID", "")).strip()
    if not message_id:
        return None
    # One failed recipient is a failure; else the most final action reported.
    for action in ("failed", "delayed", "delivered", "relayed", "expanded"):
        if action in actions:
            break
    else:
        action = "failed"  # a report without an action is a bounce
    return message_id, action, "; ".join(reason_parts) or "bounced"


def bounce_parse(raw: bytes) -> tuple[str, str] | None:
    """From a DSN that reports a failure, the original Message-ID and the reason; None if it is
    not a failure of a message betaald sent (a success or a delay is not a bounce)."""
    parsed = dsn_parse(raw)
    if parsed is None or parsed[1] != "failed":
        return None
    return parsed[0], parsed[2]


def dsn_record(raw: bytes, *, now: datetime | None = None) -> tuple[str, str]:
    """Record one DSN: a failure bounces the message (next channel), a success marks it
    delivered, a delay changes nothing. Returns (Message-ID, outcome)."""
    parsed = dsn_parse(raw)
    if parsed is None:
        return "", "not a report on a betaald message"
    message_id, action, reason = parsed
    if action == "failed":
        return message_id, message_bounce_record(message_id=message_id, reason=reason, now=now)
    if action in ("delivered", "relayed", "expanded"):
        return message_id, message_delivered_record(
            channel=Channel.EMAIL,
            reference={"message_id": message_id},
            report=reason,
            actor="mail server",
        )
    return message_id, action


def message_bounce_record(*, message_id: str, reason: str, now: datetime | None = None) -> str:
    """A sent email bounced: record the reason and fall back to the next channel of the step
    (e.g. a posted letter), or fail with a task. Returns the outcome."""
    moment = _now(now)
    message = (
        Message.objects.select_related("organisation", "customer", "invoice")
        .filter(message_id=message_id, channel=Channel.EMAIL)
        .first()
    )
    if message is None:
        return "unknown"
    if message.status not in (MessageStatus.SENT, MessageStatus.DELIVERED):
        return "ignored"
    with transaction.atomic():
        event_record(
            name="letters.message.bounced",
            organisation=message.organisation,
            actor="mail server",
            subject=message,
            customer=message.customer,
            invoice=message.invoice,
            after={"message_id": message_id, "reason": reason[:500]},
        )
        Message.objects.filter(pk=message.pk).update(
            smtp_response=f"{message.smtp_response}\nbounced: {reason}"[:2000]
        )
        message.smtp_response = f"{message.smtp_response}\nbounced: {reason}"[:2000]
        return _fall_back_or_fail(message, f"bounced: {reason}", moment, no_address=False)


# --- delivery receipts ---------------------------------------------------------------------------


def _receipt_message(channel: str, reference: dict[str, str]) -> Message | None:
    """The message a delivery report names, locked until the report is recorded; an empty
    reference names nothing."""
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("organisation", "customer", "invoice")
        .filter(channel=channel, **reference)
        .exclude(**{next(iter(reference)): ""})
        .first()
    )


def message_delivered_record(
    *, channel: str, reference: dict[str, str], report: str, actor: str
) -> str:
    """The provider or the receiving mail server confirms delivery: a sent message becomes
    delivered, audited once. `reference` finds the message ({"provider_id": …} for an SMS,
    {"message_id": …} for an email). Returns delivered, ignored (not sent, or already
    delivered) or unknown."""
    with transaction.atomic():
        message = _receipt_message(channel, reference)
        if message is None:
            return "unknown"
        if message.status != MessageStatus.SENT:
            return "ignored"
        evidence = f"{message.smtp_response}\ndelivered: {report}"[:2000]
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.DELIVERED, smtp_response=evidence
        )
        event_record(
            name="letters.message.delivered",
            organisation=message.organisation,
            actor=actor,
            subject=message,
            customer=message.customer,
            invoice=message.invoice,
            before={"status": MessageStatus.SENT},
            after={"status": MessageStatus.DELIVERED, "channel": channel, "report": report[:500]},
        )
    return "delivered"


def message_undelivered_record(
    *,
    channel: str,
    reference: dict[str, str],
    report: str,
    actor: str,
    now: datetime | None = None,
) -> str:
    """The provider reports that a sent message never arrived (an SMS expired or refused by
    the network): audited, and the message falls back to the next channel of its step as a
    failed send does, or fails with a task. Returns fallback, failed, ignored or unknown."""
    moment = _now(now)
    with transaction.atomic():
        message = _receipt_message(channel, reference)
        if message is None:
            return "unknown"
        if message.status not in (MessageStatus.SENT, MessageStatus.DELIVERED):
            return "ignored"
        event_record(
            name="letters.message.undelivered",
            organisation=message.organisation,
            actor=actor,
            subject=message,
            customer=message.customer,
            invoice=message.invoice,
            before={"status": message.status},
            after={"channel": channel, "report": report[:500]},
        )
        message.smtp_response = f"{message.smtp_response}\nnot delivered: {report}"[:2000]
        Message.objects.filter(pk=message.pk).update(smtp_response=message.smtp_response)
        return _fall_back_or_fail(message, f"not delivered: {report}", moment)


def sms_status_record(report: SmsStatusReport, *, now: datetime | None = None) -> str:
    """A delivery receipt of the SMS provider: delivered, or failed (→ next channel)."""
    reference = {"provider_id": report.provider_id}
    if report.status == "delivered":
        return message_delivered_record(
            channel=Channel.SMS, reference=reference, report=report.reason, actor="sms provider"
        )
    if report.status == "failed":
        return message_undelivered_record(
            channel=Channel.SMS,
            reference=reference,
            report=report.reason,
            actor="sms provider",
            now=now,
        )
    return "pending"
