"""The worker: exactly once across crashes, fallbacks, render failures, SMS and the print batch."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from betaald.audit.models import Event
from betaald.letters import delivery
from betaald.letters.delivery import message_deliver_now, messages_recover
from betaald.letters.models import Channel, Message, MessageStatus, SendIssue
from betaald.letters.printing import print_batch_build
from betaald.letters.services import (
    MessageDraft,
    OutboxError,
    message_cancel,
    message_queue,
    message_resend,
    messages_queue_bulk,
)
from betaald.letters.tasks import messages_dispatch
from tests.letters.conftest import make_customer, pdf_text

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)


def reminder_context(amount: str = "100.00") -> dict[str, Any]:
    return {
        "date": "2026-10-20",
        "invoices": [
            {
                "number": "2026-0001",
                "issued_on": "2026-10-01",
                "due_on": "2026-10-15",
                "principal": amount,
                "payment_reference": "8000000020250417",
            }
        ],
    }


def queue_many(organisation, count: int, channel: str = "email") -> list[int]:
    customers = [
        make_customer(organisation, f"K{n:04}", email=f"k{n}@example.nl") for n in range(count)
    ]
    messages_queue_bulk(
        [
            MessageDraft(
                organisation=organisation,
                customer=customer,
                kind="reminder",
                channel=channel,
                context=reminder_context(f"{100 + n}.00"),
                unique_key=f"batch:{n}",
            )
            for n, customer in enumerate(customers)
        ]
    )
    return list(Message.objects.order_by("id").values_list("id", flat=True))


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the worker catches it."""


def test_a_worker_killed_before_handing_over_is_recovered_and_sends_once(
    smtp_server, media, organisation, monkeypatch
):
    ids = queue_many(organisation, 3)
    real_render = delivery.message_render

    def killed_while_rendering(message):
        if message.pk == ids[1]:
            raise WorkerKilled
        return real_render(message)

    monkeypatch.setattr(delivery, "message_render", killed_while_rendering)
    assert message_deliver_now(ids[0], now=NOW) == "sent"
    with pytest.raises(WorkerKilled):
        message_deliver_now(ids[1], now=NOW)
    monkeypatch.setattr(delivery, "message_render", real_render)
    assert Message.objects.get(pk=ids[1]).status == MessageStatus.RENDERING

    # A restarted worker leaves the claimed row alone until the claim is stale ...
    recovered = messages_recover(now=NOW + timedelta(minutes=1))
    assert recovered == {"requeued": 0, "orphans": 0, "unknown": 0}
    # ... then puts it back, because it never reached the SMTP server.
    recovered = messages_recover(now=NOW + timedelta(hours=1))
    assert recovered["requeued"] == 1
    assert recovered["unknown"] == 0
    for message_id in ids:
        message_deliver_now(message_id, now=NOW + timedelta(hours=1))
    assert sorted(Message.objects.values_list("status", flat=True)) == ["sent"] * 3
    recipients = sorted(envelope.rcpt_tos[0] for envelope in smtp_server.envelopes)
    assert recipients == ["k0@example.nl", "k1@example.nl", "k2@example.nl"]


def test_a_worker_killed_after_handing_over_never_sends_again_but_opens_a_task(
    smtp_server, media, organisation, monkeypatch
):
    ids = queue_many(organisation, 2)
    real_record = delivery._record_sent

    def killed_after_smtp(message, result, now):
        raise WorkerKilled

    monkeypatch.setattr(delivery, "_record_sent", killed_after_smtp)
    with pytest.raises(WorkerKilled):
        message_deliver_now(ids[0], now=NOW)
    monkeypatch.setattr(delivery, "_record_sent", real_record)
    assert len(smtp_server.envelopes) == 1

    recovered = messages_recover(now=NOW + timedelta(hours=1))
    assert recovered["requeued"] == 0
    assert recovered["unknown"] == 1
    for message_id in ids:
        message_deliver_now(message_id, now=NOW + timedelta(hours=1))
    assert len(smtp_server.envelopes) == 2  # the first message was not sent a second time
    first = Message.objects.get(pk=ids[0])
    assert first.status == MessageStatus.FAILED
    assert "Check before resending" in first.failure_reason
    assert SendIssue.objects.get().kind == "outcome_unknown"


def test_two_workers_never_claim_the_same_message(organisation, media):
    [message_id] = queue_many(organisation, 1, channel="letter")
    first = delivery.message_claim(message_id, now=NOW)
    second = delivery.message_claim(message_id, now=NOW)
    assert first is not None
    assert second is None


def test_a_template_failing_for_one_customer_fails_that_message_not_the_batch(
    smtp_server, media, organisation
):
    ids = queue_many(organisation, 3)
    broken = Message.objects.get(pk=ids[1])
    broken.context["invoices"][0]["principal"] = "not money"
    broken.save(update_fields=["context"])
    outcome = messages_dispatch.call(ids)
    assert outcome == {"sent": 2, "failed": 1}
    broken.refresh_from_db()
    assert broken.status == MessageStatus.FAILED
    assert "invoices[0].principal" in broken.failure_reason
    assert SendIssue.objects.get().kind == "render_failed"
    assert len(smtp_server.envelopes) == 2


def test_a_dispatched_chunk_shares_one_smtp_connection(smtp_server, media, organisation):
    ids = queue_many(organisation, 4)
    assert messages_dispatch.call(ids) == {"sent": 4}
    assert len(smtp_server.envelopes) == 4
    assert len(set(smtp_server.peers)) == 1


class FakeMessageBird(BaseHTTPRequestHandler):
    """Speaks MessageBird's POST /messages: 201 with an id, 401 on a bad key, 422 on a bad
    number."""

    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        FakeMessageBird.requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], "body": body}
        )
        if self.headers["Authorization"] != "AccessKey test_key":
            self._reply(401, {"errors": [{"code": 2, "description": "Request not allowed"}]})
        elif body["recipients"] == ["31600000000"]:
            self._reply(
                422, {"errors": [{"code": 9, "description": "no (correct) recipients found"}]}
            )
        else:
            self._reply(
                201,
                {
                    "id": "e8077d803532c0b5937c639b60216938",
                    "recipients": {"totalCount": 1, "totalSentCount": 1},
                },
            )

    def _reply(self, status: int, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def messagebird(settings):
    FakeMessageBird.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMessageBird)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_URL = f"messagebird+http://test_key@127.0.0.1:{server.server_address[1]}"
    try:
        yield FakeMessageBird
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_sms_goes_through_the_messagebird_api(messagebird, organisation, media):
    customer = make_customer(organisation, "S1", phone="06 1234 5678")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel=Channel.SMS,
        context=reminder_context(),
        unique_key="sms1",
    )
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    message.refresh_from_db()
    assert message.provider_id == "e8077d803532c0b5937c639b60216938"
    assert message.smtp_response.startswith("HTTP 201")
    [request] = messagebird.requests
    assert request["path"] == "/messages"
    assert request["auth"] == "AccessKey test_key"
    assert request["body"]["recipients"] == ["31612345678"]
    assert request["body"]["originator"] == "DeGoudenKor"
    assert "€ 100,00" in request["body"]["body"]
    assert request["body"]["reference"] == str(message.pk)


def test_an_sms_refused_by_the_provider_falls_back_to_the_letter(messagebird, organisation, media):
    customer = make_customer(organisation, "S2", phone="+31600000000")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel=Channel.SMS,
        context=reminder_context(),
        unique_key="sms2",
        fallback_channels=["letter"],
    )
    assert message_deliver_now(message.pk, now=NOW) == "fallback"
    message.refresh_from_db()
    assert message.channel == Channel.LETTER
    assert "HTTP 422" in message.failure_reason
    assert Event.objects.filter(name="letters.message.fallback").count() == 1


def test_the_print_batch_holds_todays_letters_in_envelope_order_with_a_csv(organisation, media):
    postcodes = ["9999 ZZ  Groningen", "1011 AB  Amsterdam", "5611 AA  Eindhoven"]
    for n, city in enumerate(postcodes):
        customer = make_customer(organisation, f"P{n}", name=f"Klant {n}", postal_code="", city="")
        customer.postal_code, _, customer.city = city.partition("  ")
        customer.save()
        message, _ = message_queue(
            organisation=organisation,
            customer=customer,
            kind="reminder",
            channel=Channel.LETTER,
            context=reminder_context(f"{n + 1}00.00"),
            unique_key=f"letter:{n}",
        )
        assert message_deliver_now(message.pk, now=NOW) == "sent"
    batch = print_batch_build(organisation=organisation, day=date(2026, 10, 20))
    assert batch.count == 3
    rows = batch.csv.splitlines()
    assert rows[0].startswith("sequence,message_id,kind,name,address,postal_code")
    assert [row.split(",")[5] for row in rows[1:]] == ["1011 AB", "5611 AA", "9999 ZZ"]
    text = pdf_text(batch.pdf)
    assert text.index("Amsterdam") < text.index("Eindhoven") < text.index("Groningen")
    assert set(Message.objects.values_list("posted_on", flat=True)) == {date(2026, 10, 20)}
    again = print_batch_build(organisation=organisation, day=date(2026, 10, 20))
    assert again.csv == batch.csv
    assert print_batch_build(organisation=organisation, day=date(2026, 10, 21)).count == 0


def test_a_resend_by_hand_needs_a_reason_and_is_audited(smtp_server, media, organisation):
    customer = make_customer(organisation, "R1")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context=reminder_context(),
        unique_key="resend-me",
    )
    message_deliver_now(message.pk, now=NOW)
    message.refresh_from_db()
    with pytest.raises(OutboxError):
        message_resend(message=message, reason=" ", actor=None)
    copy = message_resend(message=message, reason="Klant zegt niets ontvangen", actor=None)
    assert copy.unique_key == "resend-me:resend:1"
    assert copy.context["template"] == message.context["template"]
    message_deliver_now(copy.pk, now=NOW)
    assert len(smtp_server.envelopes) == 2
    assert Event.objects.get(name="letters.message.resent").message == "Klant zegt niets ontvangen"
    second = message_resend(message=message, reason="nogmaals", actor=None)
    assert second.unique_key == "resend-me:resend:2"
    message_cancel(message=second, reason="toch betaald", actor=None)
    assert message_deliver_now(second.pk, now=NOW) == "skipped"


def test_the_print_batch_is_duplex_safe_and_counts_pages_per_letter(organisation, media, tmp_path):
    """Every letter starts on the front of a sheet: a blank back page follows a letter with an
    odd number of pages; an invoice in the batch keeps its invoice layout."""
    import subprocess

    from betaald.letters.services import invoice_send
    from tests.letters.conftest import make_invoice

    long_context = reminder_context()
    long_context["invoices"] = [
        {**long_context["invoices"][0], "number": f"2026-{n:04}"} for n in range(60)
    ]
    contexts = {"1000 AA": reminder_context(), "2000 AA": long_context, "3000 AA": None}
    for n, (postcode, context) in enumerate(contexts.items()):
        customer = make_customer(
            organisation, f"D{n}", name=f"Duplex {n}", email="", postal_code=postcode
        )
        if context is None:
            invoice = make_invoice(organisation, customer, "2026-9001")
            message, _ = invoice_send(invoice=invoice)
            assert message_deliver_now(message.pk, now=NOW) == "fallback"  # no email address
        else:
            message, _ = message_queue(
                organisation=organisation,
                customer=customer,
                kind="reminder",
                channel=Channel.LETTER,
                context=context,
                unique_key=f"duplex:{n}",
            )
        assert message_deliver_now(message.pk, now=NOW) == "sent"
    batch = print_batch_build(organisation=organisation, day=date(2026, 10, 20))
    rows = [row.split(",") for row in batch.csv.splitlines()]
    header, rows = rows[0], rows[1:]
    assert header[-4:] == ["first_page", "pdf_sha256", "blank_back_page", "sheets"]
    pages = [int(row[header.index("pages")]) for row in rows]
    first = [int(row[header.index("first_page")]) for row in rows]
    blank = [row[header.index("blank_back_page")] for row in rows]
    assert pages[1] >= 2  # the long letter runs on
    assert all(page % 2 == 1 for page in first)
    assert blank == ["yes" if count % 2 else "no" for count in pages]
    total = sum(count + count % 2 for count in pages)
    assert batch.pages == total
    assert first == [1, 1 + pages[0] + pages[0] % 2, 1 + total - pages[2] - pages[2] % 2]
    (tmp_path / "batch.pdf").write_bytes(batch.pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "batch.pdf")], capture_output=True, text=True)
    assert f"Pages:           {total}" in info.stdout
    texts = pdf_text(batch.pdf).split("\f")
    for row, start, count in zip(rows, first, pages, strict=True):
        name = row[header.index("name")]
        assert name in texts[start - 1]
        if count % 2:
            assert texts[start - 1 + count].strip() == ""  # the blank back page
    invoice_page = texts[first[2] - 1]
    assert "Factuurnummer" in invoice_page  # the invoice layout, as in its stored PDF
    stored = Message.objects.get(kind="invoice")
    with stored.pdf.open("rb") as handle:
        assert pdf_text(handle.read()).split("\f")[0] == invoice_page
