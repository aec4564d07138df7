"""Email delivery against a real SMTP server (aiosmtpd in a thread), the invoice PDF read back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from betaald.audit.models import Event
from betaald.letters.delivery import message_deliver_now
from betaald.letters.models import Channel, Message, MessageStatus, SendIssue
from betaald.letters.pdf import sha256_of
from betaald.letters.services import invoice_send, message_queue
from tests.letters.conftest import make_customer, pdf_text, qr_payloads

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def test_an_issued_invoice_arrives_as_html_text_and_pdf_with_amount_and_reference(
    smtp_server, media, invoice, organisation, tmp_path
):
    message, created = invoice_send(invoice=invoice, actor=None)
    assert created
    assert message_deliver_now(message.pk, now=NOW) == "sent"

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.sent_at == NOW
    assert message.smtp_response.startswith("250 2.0.0 OK queued as Q")
    [received] = smtp_server.messages()
    assert received["To"] == "Jan Jansen <jan@example.nl>"
    assert received["Reply-To"] == "debiteuren@goudenkorst.nl"
    assert received["From"] == "De Gouden Korst <noreply@betaald.example>"
    assert received["Message-ID"].strip() == message.message_id
    assert received["Subject"] == "Factuur 2026-0001 van De Gouden Korst"
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "€ 1.210,00" in text
    assert "8000000020250417" in text
    assert "<p>" in html
    assert "8000000020250417" in html
    attachment, ubl = list(received.iter_attachments())
    assert ubl.get_content_type() == "application/xml"
    assert ubl.get_filename() == "2026-0001.xml"
    from betaald.invoices.ubl import invoice_ubl, parse_ubl

    xml = ubl.get_content()
    xml = xml if isinstance(xml, bytes) else xml.encode()
    assert xml == invoice_ubl(invoice)  # the e-invoice, as the invoices app makes it
    root = parse_ubl(xml)
    ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
    assert root.findtext("cbc:ID", namespaces=ns) == "2026-0001"
    assert root.findtext(".//cbc:PayableAmount", namespaces=ns) == "1210.00"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "factuur-2026-0001.pdf"
    pdf = attachment.get_content()
    assert sha256_of(pdf) == message.pdf_sha256
    with message.pdf.open("rb") as stored:
        assert stored.read() == pdf
    content = pdf_text(pdf)
    for expected in (
        "Factuur 2026-0001",
        "8000000020250417",
        "€ 1.210,00",
        "€ 1.000,00",
        "€ 210,00",
        "NL123456789B13",  # the supplier's VAT id (art. 35a lid 1 c Wet OB)
        "12345678",  # KvK (art. 27 Handelsregisterwet)
        "Bruidstaart drie lagen",
        "Kerkstraat 12",
        "NL20INGB0001234567",
    ):
        assert expected in content, expected
    [payload] = qr_payloads(pdf, tmp_path)
    lines = payload.split("\n")
    assert lines[:2] == ["BCD", "002"]
    assert lines[3] == "SCT"
    assert "NL20INGB0001234567" in lines
    assert "EUR1210" in lines
    assert "8000000020250417" in lines
    assert Event.objects.filter(name="letters.message.sent", subject_id=str(message.pk)).exists()


def test_a_second_delivery_of_a_sent_message_sends_nothing(smtp_server, media, invoice):
    message, _ = invoice_send(invoice=invoice, actor=None)
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    assert message_deliver_now(message.pk, now=NOW) == "skipped"
    again, created = invoice_send(invoice=invoice, actor=None)
    assert not created
    assert again.pk == message.pk
    assert len(smtp_server.envelopes) == 1


def test_a_friendly_reminder_is_a_plain_email_without_pdf(smtp_server, media, organisation):
    customer = make_customer(organisation, "C9", language="en", email="eve@example.org")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel=Channel.EMAIL,
        context={
            "date": "2026-10-20",
            "invoices": [
                {
                    "number": "2026-0001",
                    "issued_on": "2026-10-01",
                    "due_on": "2026-10-15",
                    "principal": "1210.00",
                    "payment_reference": "8000000020250417",
                }
            ],
        },
        unique_key="r1",
    )
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    [received] = smtp_server.messages()
    assert received["Subject"] == "Reminder: invoice 2026-0001 not yet paid"
    assert list(received.iter_attachments()) == []
    assert "€1,210.00" in received.get_body(preferencelist=("plain",)).get_content()


def test_a_temporary_smtp_refusal_is_retried_later_with_the_reason(
    smtp_server, media, organisation, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    customer = make_customer(organisation, "C2", email="later@example.nl")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={"total": "10.00"},
        unique_key="t1",
        fallback_channels=["letter"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert message_deliver_now(message.pk, now=NOW) == "retry"
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 1
    assert "451" in message.failure_reason
    task = DBTaskResult.objects.get()
    assert task.run_after == datetime(2026, 10, 1, 9, 1, tzinfo=UTC)
    assert task.args_kwargs["args"] == [message.pk]


def test_a_permanent_smtp_refusal_falls_back_to_a_posted_letter(
    smtp_server, media, organisation, django_capture_on_commit_callbacks
):
    customer = make_customer(organisation, "C3", email="nobody@example.nl")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={"total": "10.00"},
        unique_key="p1",
        fallback_channels=["letter"],
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert message_deliver_now(message.pk, now=NOW) == "fallback"
    message.refresh_from_db()
    assert message.channel == Channel.LETTER
    assert message.status == MessageStatus.QUEUED
    assert "550" in message.failure_reason
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    message.refresh_from_db()
    assert message.pdf_sha256
    assert message.provider_id == "print"


def test_a_customer_without_any_address_gets_a_task_not_a_silent_skip(organisation, media):
    customer = make_customer(
        organisation, "C4", email="", phone="", street="", postal_code="", city=""
    )
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={},
        unique_key="n1",
        fallback_channels=["sms", "letter"],
    )
    for _attempt in range(3):
        message_deliver_now(message.pk, now=NOW)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "no postal address" in message.failure_reason
    issue = SendIssue.objects.get()
    assert issue.kind == "no_address"
    assert issue.customer == customer


def dsn_for(original_message_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.nl\r\n"
        "To: noreply@betaald.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.nl\r\n\r\n"
        "Final-Recipient: rfc822; jan@example.nl\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_message_id}\r\nSubject: Herinnering\r\n"
        "\r\n--B--\r\n"
    ).encode()


def test_a_bounce_is_recorded_and_the_letter_goes_by_post(smtp_server, media, organisation):
    from betaald.letters.delivery import bounce_parse, message_bounce_record

    customer = make_customer(organisation, "B1")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={"total": "10.00"},
        unique_key="bounce",
        fallback_channels=["letter"],
    )
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    message.refresh_from_db()
    message_id, reason = bounce_parse(dsn_for(message.message_id))
    assert message_id == message.message_id
    assert "550 5.1.1 mailbox unavailable" in reason
    assert message_bounce_record(message_id=message_id, reason=reason, now=NOW) == "fallback"
    message.refresh_from_db()
    assert message.channel == Channel.LETTER
    assert message.status == MessageStatus.QUEUED
    assert "bounced" in message.failure_reason
    assert Event.objects.filter(name="letters.message.bounced").count() == 1
    assert message_bounce_record(message_id=message_id, reason=reason, now=NOW) == "unknown"


def test_issuing_an_invoice_queues_its_email_at_once(
    organisation, customer, django_capture_on_commit_callbacks
):
    from tests.factories import issued_invoice

    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(customer, amount="250.00")
    message = Message.objects.get(invoice=invoice)
    assert message.kind == "invoice"
    assert message.unique_key == f"invoice:{invoice.pk}:send"
    assert message.context["invoice_document"]["total"] == "302.50"
    assert message.context["payment_reference"] == invoice.payment_reference


def test_an_invoice_issued_by_the_ledger_service_is_delivered_with_its_legal_data(
    smtp_server, media, organisation, business, django_capture_on_commit_callbacks
):
    from tests.factories import issued_invoice

    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(business, amount="250.00", vat_rate="reverse_charge")
    message = Message.objects.get(invoice=invoice)
    assert message_deliver_now(message.pk, now=NOW) == "sent", Message.objects.get().failure_reason
    [received] = smtp_server.messages()
    assert received["To"] == '"Jansen Installatietechniek B.V." <ap@jansen.example>'
    assert received["Subject"] == f"Invoice {invoice.number} from De Gouden Korst"
    attachment, ubl = list(received.iter_attachments())
    assert ubl.get_filename() == f"{invoice.number}.xml"
    xml = ubl.get_content()
    xml = xml if isinstance(xml, bytes) else xml.encode()
    assert b"<cbc:ID>AE</cbc:ID>" in xml  # reverse charge in the e-invoice too
    text = " ".join(pdf_text(attachment.get_content()).split())
    for expected in (
        f"Invoice {invoice.number}",
        "Bakkerij De Gouden Korst B.V.",
        "KvK 12345678",
        "NL000099998B57",  # the customer's VAT id: reverse charge (art. 35a lid 1 d Wet OB)
        "VAT reverse-charged",
        "Attn. Crediteurenadministratie",
        "€250.00",
        invoice.payment_reference,
    ):
        assert expected in text, expected
