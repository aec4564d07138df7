"""The two SEPA direct debit messages: the pre-notification and the notice that we stopped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from betaald.letters.delivery import message_deliver_now
from betaald.letters.models import Channel, Message, MessageKind, MessageStatus, SendIssue
from betaald.letters.pdf import letter_pdf
from betaald.letters.rendering import SAMPLE_RECIPIENT, masked_iban, render_message
from betaald.letters.services import message_queue
from tests.letters.conftest import make_customer, pdf_text, qr_payloads

INVOICES = [
    {
        "number": "2026-00417",
        "issued_on": "2026-11-02",
        "due_on": "2026-11-16",
        "principal": "1210.00",
        "payment_reference": "8000000020250417",
    },
    {
        "number": "2026-00418",
        "issued_on": "2026-11-09",
        "due_on": "2026-11-23",
        "principal": "89.50",
        "payment_reference": "",
    },
]
SENDER = {
    "legal_name": "Bakkerij De Gouden Korst B.V.",
    "trade_name": "De Gouden Korst",
    "iban": "NL20INGB0001234567",
    "bic": "INGBNL2A",
    "email": "debiteuren@goudenkorst.nl",
    "kvk_number": "12345678",
    "vat_number": "NL123456789B13",
    "street": "Oudegracht 1",
    "postal_code": "3511 AA",
    "city": "Utrecht",
}


def pre_notification_context(**debit: Any) -> dict[str, Any]:
    return {
        "date": "2026-11-30",
        "sender": SENDER,
        "customer_number": "C001",
        "payment_reference": "8000000020250417",
        "invoices": INVOICES,
        "direct_debit": {
            "amount": "1299.50",
            "collection_date": "2026-12-15",
            "mandate_reference": "MNDT-C001-0001",
            "creditor_id": "NL98ZZZ999999999999",
            "debtor_iban": "NL91ABNA0417164300",
            "pre_notification_days": 14,
            **debit,
        },
    }


def mandate_stopped_context(code: str = "MD01") -> dict[str, Any]:
    return {
        "date": "2026-12-18",
        "sender": SENDER,
        "customer_number": "C001",
        "payment_reference": "8000000020250417",
        "pay_by": "2027-01-01",
        "invoices": INVOICES,
        "direct_debit": {
            "amount": "1299.50",
            "collection_date": "2026-12-15",
            "mandate_reference": "MNDT-C001-0001",
            "creditor_id": "NL98ZZZ999999999999",
            "debtor_iban": "NL91ABNA0417164300",
            "return_code": code,
            "returned_on": "2026-12-17",
        },
    }


def render(kind: str, language: str, context: dict[str, Any]):
    return render_message(
        organisation_id=None,
        kind=kind,
        language=language,
        context=context,
        recipient=SAMPLE_RECIPIENT,
    )


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("language", "amount", "day", "no_transfer"),
    [
        ("nl", "€ 1.299,50", "15 december 2026", "U hoeft zelf niets over te maken"),
        ("en", "€1,299.50", "15 December 2026", "You do not need to transfer anything"),
    ],
)
def test_a_pre_notification_states_amount_date_mandate_creditor_and_invoices(
    language, amount, day, no_transfer
):
    rendered = render(MessageKind.SEPA_PRE_NOTIFICATION, language, pre_notification_context())
    text = flat(rendered.text)
    for expected in (amount, day, "MNDT-C001-0001", "NL98ZZZ999999999999", no_transfer):
        assert expected in text
    assert "NL** **** **** **43 00" in text  # the account, recognisable but masked
    assert "NL91ABNA0417164300" not in text
    assert "2026-00417" in text
    assert "2026-00418" in text
    assert amount in rendered.subject
    assert day in rendered.subject
    assert "MNDT-C001-0001" in rendered.sms
    assert amount in rendered.sms
    # Collected by direct debit: no transfer slip, no payment QR code (it would pay twice).
    assert rendered.payment.amount == 0
    pdf = letter_pdf(rendered)
    assert letter_pdf(rendered) == pdf
    pdf_words = flat(pdf_text(pdf))
    assert amount in pdf_words
    assert "NL98ZZZ999999999999" in pdf_words
    assert pdf_words.count("2026-00417") == 1  # the layout does not add a second table


def test_a_pre_notification_for_a_plan_instalment_names_the_instalment():
    context = pre_notification_context(amount="250.00")
    context["invoices"] = []
    context["instalment"] = {"number": 3, "due_on": "2026-12-15", "amount": "250.00"}
    rendered = render(MessageKind.SEPA_PRE_NOTIFICATION, "nl", context)
    assert "termijn 3 van uw betalingsregeling" in flat(rendered.text)
    assert "€ 250,00" in rendered.subject


@pytest.mark.parametrize(
    ("language", "reason", "stop", "pay"),
    [
        (
            "nl",
            "uw bank kent geen geldige machtiging voor deze incasso (code MD01)",
            "stoppen wij met het automatisch afschrijven",
            "€ 1.299,50 uiterlijk 1 januari 2027 zelf over te maken op NL20INGB0001234567",
        ),
        (
            "en",
            "your bank holds no valid mandate for this direct debit (code MD01)",
            "We have therefore stopped collecting under this mandate",
            "€1,299.50 by 1 January 2027 yourself to NL20INGB0001234567",
        ),
    ],
)
def test_mandate_stopped_gives_the_reason_and_how_to_pay_instead(
    language, reason, stop, pay, tmp_path
):
    rendered = render(MessageKind.MANDATE_STOPPED, language, mandate_stopped_context())
    text = flat(rendered.text)
    for expected in (reason, stop, pay, "8000000020250417", "MNDT-C001-0001"):
        assert expected in text
    assert reason.split(" (code")[0] in rendered.sms
    assert "8000000020250417" in rendered.sms
    assert "NL20INGB0001234567" in rendered.sms
    # Paid by transfer now: the letter carries the payment block and the EPC QR code.
    pdf = letter_pdf(rendered)
    [payload] = qr_payloads(pdf, tmp_path)
    lines = payload.split("\n")
    assert "NL20INGB0001234567" in lines
    assert "EUR1299.5" in lines
    assert "8000000020250417" in payload


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("AC04", "de rekening is opgeheven"),
        ("MS02", "u heeft de incasso geweigerd"),
        ("AM04", "er was onvoldoende saldo"),
        ("XX99", "uw bank een reden opgaf (code XX99)"),
    ],
)
def test_each_return_reason_is_explained_in_words(code, words):
    rendered = render(MessageKind.MANDATE_STOPPED, "nl", mandate_stopped_context(code))
    assert f"omdat {words}" in flat(rendered.text)


def test_masked_iban_keeps_the_country_and_the_last_four():
    assert masked_iban("nl91 abna 0417 1643 00") == "NL** **** **** **43 00"
    assert masked_iban("") == ""


NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_pre_notification_is_sent_in_time_and_refused_when_too_late(
    organisation, smtp_server, media
):
    customer = make_customer(organisation, "D1")
    on_time, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind=MessageKind.SEPA_PRE_NOTIFICATION,
        channel=Channel.EMAIL,
        context=pre_notification_context(collection_date="2026-12-14"),
        unique_key="sepa:1",
        fallback_channels=[Channel.LETTER],
    )
    assert message_deliver_now(on_time.pk, now=NOW) == "sent"  # exactly 14 days ahead
    [received] = smtp_server.messages()
    assert "Aankondiging automatische incasso" in str(received["Subject"])
    late, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind=MessageKind.SEPA_PRE_NOTIFICATION,
        channel=Channel.EMAIL,
        context=pre_notification_context(collection_date="2026-12-13"),
        unique_key="sepa:2",
        fallback_channels=[Channel.LETTER],
    )
    assert message_deliver_now(late.pk, now=NOW) == "failed"
    late.refresh_from_db()
    assert late.status == MessageStatus.FAILED
    assert late.channel == Channel.EMAIL  # no fallback: a letter would be later still
    assert "too late" in late.failure_reason
    assert SendIssue.objects.get(message=late).kind == "delivery_failed"
    assert len(smtp_server.envelopes) == 1
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 1
