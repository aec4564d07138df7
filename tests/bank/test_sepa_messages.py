"""The customer hears of every direct debit: a pre-notification per collected customer when
the pain.008 is made (EPC SDD rulebook: at least the agreed days, default 14, before the
collection), and a `mandate_stopped` message when a return (MD01, AC04, MS02, a second AM04)
stops collecting. Both go through the letters outbox with unique keys: nothing twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from betaald.bank.models import BankAccount
from betaald.bank.sepa import (
    NothingToCollect,
    direct_debit_create,
    mandate_after_return,
    mandate_create,
)
from betaald.bank.services import statement_file_import, transactions_match
from betaald.bank.statements import Entry, ParsedFile, Statement, Transaction
from betaald.letters.models import Message, MessageKind
from tests.factories import CustomerFactory, OrganisationFactory, issued_invoice

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)
COLLECTION = date(2026, 3, 16)
DEBTOR_IBAN = "NL91ABNA0417164300"


@pytest.fixture
def organisation():
    return OrganisationFactory(sepa_creditor_id="NL08ZZZ502057730000")


def with_mandate(organisation, reference, iban=DEBTOR_IBAN):
    customer = CustomerFactory(organisation=organisation)
    mandate_create(
        organisation=organisation,
        customer=customer,
        reference=reference,
        signed_on=date(2026, 1, 1),
        iban=iban,
    )
    return customer


def notices():
    return Message.objects.filter(kind=MessageKind.SEPA_PRE_NOTIFICATION).order_by("pk")


def test_each_collected_customer_gets_one_pre_notification_and_a_rerun_queues_nothing(
    organisation,
):
    first = with_mandate(organisation, "M-1")
    second = with_mandate(organisation, "M-2", iban="NL20INGB0001234567")
    a = issued_invoice(first, amount="100.00")
    b = issued_invoice(first, amount="50.00", issued_on=date(2026, 1, 6))
    c = issued_invoice(second, amount="10.00")
    CustomerFactory(organisation=organisation)  # no mandate: no message
    batch = direct_debit_create(organisation=organisation, collection_on=COLLECTION, today=TODAY)
    assert batch.count == 3
    messages = {m.customer_id: m for m in notices()}
    assert set(messages) == {first.pk, second.pk}
    message = messages[first.pk]
    assert message.channel == "email"
    assert message.fallback_channels == ["letter"]
    assert set(message.invoices.all()) == {a, b}
    debit = message.context["direct_debit"]
    assert debit["amount"] == "181.50"  # 121.00 + 60.50, one message for both invoices
    assert debit["collection_date"] == "2026-03-16"
    assert debit["mandate_reference"] == "M-1"
    assert debit["creditor_id"] == "NL08ZZZ502057730000"
    assert debit["debtor_iban"] == DEBTOR_IBAN
    assert debit["pre_notification_days"] == 14
    assert [(i["number"], i["principal"]) for i in message.context["invoices"]] == [
        (a.number, "121.00"),
        (b.number, "60.50"),
    ]
    assert message.context["payment_reference"] == a.payment_reference
    assert "instalment" not in message.context
    assert messages[second.pk].context["invoices"][0]["number"] == c.number
    # Run again the same day: nothing left to collect, nothing queued twice.
    with pytest.raises(NothingToCollect):
        direct_debit_create(organisation=organisation, collection_on=COLLECTION, today=TODAY)
    assert notices().count() == 2
    assert {m.unique_key for m in notices()} == {
        m.unique_key for m in messages.values()
    }  # keyed by customer, collection date and end-to-end ids


def statement(organisation, name, entries):
    parsed = ParsedFile(
        format="test",
        statements=(
            Statement(
                identifier=name,
                account=organisation.iban,
                currency="EUR",
                opening_balance=None,
                closing_balance=None,
                entries=tuple(entries),
            ),
        ),
    )
    statement_file_import(organisation=organisation, parsed=parsed, data=name.encode())
    transactions_match(organisation=organisation)


def entry(day, amount, reference, mandate, *, reason=""):
    tx = Transaction(
        amount=Decimal(amount),
        currency="EUR",
        counterparty_iban=DEBTOR_IBAN,
        mandate_id=mandate,
        end_to_end_id=reference,
        remittance=reference,
        is_return=bool(reason),
        return_reason=reason,
    )
    return Entry(
        amount=Decimal(amount),
        currency="EUR",
        is_credit=not reason,
        booking_date=day,
        value_date=day,
        bank_reference=f"{reference}-{reason}",
        is_return=bool(reason),
        return_reason=reason,
        transactions=(tx,),
    )


@pytest.mark.parametrize("reason", ["MD01", "AC04", "MS02"])
def test_a_return_that_stops_the_mandate_tells_the_customer_once(organisation, reason):
    BankAccount.objects.create(organisation=organisation, iban=organisation.iban)
    customer = with_mandate(organisation, "M-1")
    invoice = issued_invoice(customer, amount="100.00")
    direct_debit_create(organisation=organisation, collection_on=COLLECTION, today=TODAY)
    reference = invoice.payment_reference
    statement(organisation, "credit", [entry(COLLECTION, "121.00", reference, "M-1")])
    returned_on = date(2026, 3, 19)
    statement(
        organisation, "return", [entry(returned_on, "121.00", reference, "M-1", reason=reason)]
    )
    [message] = Message.objects.filter(kind=MessageKind.MANDATE_STOPPED)
    assert message.customer == customer
    assert message.context["direct_debit"] | {"creditor_id": "-"} == {
        "amount": "121.00",
        "collection_date": "2026-03-16",
        "returned_on": "2026-03-19",
        "return_code": reason,
        "mandate_reference": "M-1",
        "debtor_iban": DEBTOR_IBAN,
        "creditor_id": "-",
    }
    # the invoice is open again: the message asks for a transfer of it within 14 days
    assert [i["number"] for i in message.context["invoices"]] == [invoice.number]
    assert message.context["invoices"][0]["principal"] == "121.00"
    assert message.context["pay_by"] == "2026-04-02"
    assert list(message.invoices.all()) == [invoice]
    # a later return on the stopped mandate changes nothing and sends nothing
    assert (
        mandate_after_return(organisation=organisation, mandate_reference="M-1", reason=reason)
        == "none"
    )
    assert Message.objects.filter(kind=MessageKind.MANDATE_STOPPED).count() == 1


def test_an_am04_return_is_retried_without_a_stop_message(organisation):
    customer = with_mandate(organisation, "M-1")
    assert (
        mandate_after_return(organisation=organisation, mandate_reference="M-1", reason="AM04")
        == "retry"
    )
    assert not Message.objects.filter(kind=MessageKind.MANDATE_STOPPED).exists()
    assert (
        mandate_after_return(
            organisation=organisation,
            mandate_reference="M-1",
            reason="AM04",
            today=date(2026, 3, 20),
        )
        == "stopped"
    )
    [message] = Message.objects.filter(kind=MessageKind.MANDATE_STOPPED, customer=customer)
    assert message.context["date"] == "2026-03-20"
    assert message.context["invoices"] == []  # nothing open: nothing to transfer
