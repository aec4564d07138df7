"""The outbox: queueing is idempotent on the unique key, bulk queueing scales by batch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from betaald.audit.models import Event
from betaald.letters.models import Message, MessageStatus
from betaald.letters.services import MessageDraft, OutboxError, message_queue, messages_queue_bulk
from tests.letters.conftest import make_customer, make_invoice, make_organisation

pytestmark = pytest.mark.django_db


def test_queueing_the_same_key_twice_creates_one_message(organisation, customer, invoice):
    first, created = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={"total": "1210.00"},
        unique_key="inv-1:reminder:email",
        invoices=[invoice],
        fallback_channels=["letter"],
    )
    again, created_again = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={"total": "9.99"},
        unique_key="inv-1:reminder:email",
        invoices=[invoice],
    )
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert Message.objects.count() == 1
    message = Message.objects.get()
    assert message.status == MessageStatus.QUEUED
    assert message.context["total"] == "1210.00"
    assert message.context["sender"]["iban"] == "NL20INGB0001234567"
    assert message.context["customer_number"] == "C001"
    assert message.invoice == invoice
    assert list(message.invoices.all()) == [invoice]
    assert message.language == "nl"
    assert message.recipient["email"] == "jan@example.nl"
    assert message.recipient["address_lines"] == ["Kerkstraat 12", "1234 AB  Amsterdam"]
    assert message.fallback_channels == ["letter"]
    assert Event.objects.filter(name="letters.message.queued").count() == 1


def test_the_accounts_payable_contact_receives_the_email(organisation, business):
    message, _ = message_queue(
        organisation=organisation,
        customer=business,
        kind="reminder",
        channel="email",
        context={},
        unique_key="k1",
    )
    assert message.recipient["email"] == "ap@jansen.example"
    assert message.recipient["attention"] == "Crediteurenadministratie"
    assert message.language == "en"


def test_an_unknown_kind_or_another_organisations_customer_is_refused(organisation, customer):
    with pytest.raises(OutboxError):
        message_queue(
            organisation=organisation,
            customer=customer,
            kind="love_letter",
            channel="email",
            context={},
            unique_key="x",
        )
    message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={},
        unique_key="shared-key",
    )
    other = make_organisation(legal_name="Ander B.V.")
    stranger = make_customer(other, "Z1")
    with pytest.raises(OutboxError, match="another organisation"):
        message_queue(
            organisation=other,
            customer=stranger,
            kind="reminder",
            channel="email",
            context={},
            unique_key="shared-key",
        )
    with pytest.raises(OutboxError):
        message_queue(
            organisation=other,
            customer=customer,
            kind="reminder",
            channel="email",
            context={},
            unique_key="y",
        )


def test_bulk_queueing_counts_only_new_messages_and_needs_few_queries(organisation):
    customers = [make_customer(organisation, f"C{n:03}") for n in range(30)]
    invoices = [
        make_invoice(organisation, c, f"2026-{n:04}", reference="") for n, c in enumerate(customers)
    ]
    drafts = [
        MessageDraft(
            organisation=organisation,
            customer=c,
            kind="reminder",
            channel="email",
            context={"n": str(n)},
            unique_key=f"run:{n}",
            invoices=(invoices[n],),
            fallback_channels=("letter",),
        )
        for n, c in enumerate(customers)
    ]
    with CaptureQueriesContext(connection) as queries:
        assert messages_queue_bulk(drafts) == 30
    assert len(queries) < 15
    assert messages_queue_bulk(drafts + drafts) == 0
    assert Message.objects.count() == 30
    message = Message.objects.get(unique_key="run:7")
    assert list(message.invoices.all()) == [invoices[7]]
    assert message.invoice == invoices[7]


def test_bulk_queueing_keeps_every_character_of_the_frozen_context(organisation):
    """COPY sends text: tabs, newlines, backslashes, quotes and non-ASCII survive as they were."""
    customer = make_customer(organisation, "Q001", name='Ça\tva \\ "bien"\nÉén €')
    awkward = {
        "note": 'tab\there\nnew line \\N backslash-N \\ "quoted" \u00e9\u20ac',
        "amounts": ["1.00", "12345.67"],
        "nested": {"empty": "", "none": None, "flag": True, "number": 3},
    }
    assert (
        messages_queue_bulk(
            [
                MessageDraft(
                    organisation=organisation,
                    customer=customer,
                    kind="reminder",
                    channel="sms",
                    context=awkward,
                    unique_key="awkward",
                    fallback_channels=("sms", "email", "letter"),
                )
            ]
        )
        == 1
    )
    message = Message.objects.get(unique_key="awkward")
    assert {k: message.context[k] for k in awkward} == awkward
    assert message.context["customer_number"] == "Q001"
    assert message.context["sender"]["iban"] == organisation.iban
    assert message.recipient["name"] == customer.name
    assert message.fallback_channels == ["email", "letter"]
    assert message.status == "queued"
    assert message.attempts == 0
    assert message.created_at is not None
    assert message.pdf.name == ""


def test_the_messages_of_an_invoice_and_a_customer_are_listed(organisation, customer, invoice):
    from django.template.loader import render_to_string

    from betaald.letters.selectors import messages_for_customer, messages_for_invoice

    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={},
        unique_key="listed",
        invoices=[invoice],
    )
    assert list(messages_for_invoice(invoice)) == [message]
    assert list(messages_for_customer(customer)) == [message]
    html = render_to_string("letters/_messages.html", {"messages": [message]})
    assert "Reminder" in html or "Herinnering" in html
