"""The review queue says who a line may be from, which invoices it may pay and why, in the
reader's language (the matcher itself stores English explanations)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from betaald.bank.explain import reason_text, review_rows
from betaald.bank.models import BankAccount, BankTransaction, TransactionStatus
from betaald.core import matching
from betaald.debtors.models import CustomerIban
from betaald.organisations.models import Role
from tests.bank.test_matching_service import ACCOUNT, PAYER, match, receive
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    membership = MembershipFactory(role=Role.OWNER)
    BankAccount.objects.create(organisation=membership.organisation, iban=ACCOUNT)
    return membership


def dutch_client(member) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    client.force_login(member.user)
    return client


def test_two_invoices_of_the_exact_amount_are_shown_with_customer_invoice_and_dutch_reason(member):
    organisation = member.organisation
    customer = CustomerFactory(organisation=organisation, name="Bakkerij De Korenaar")
    CustomerIban.objects.create(customer=customer, iban=PAYER)
    first = issued_invoice(customer, amount="100.00")  # 121.00 incl. VAT
    second = issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 6))
    receive(organisation, {"amount": "121.00", "counterparty_iban": PAYER})
    assert match(organisation) == {"review": 1}

    page = dutch_client(member).get(reverse("bank:review")).content.decode()
    assert reverse("web:customer_detail", args=[customer.pk]) in page
    assert "Bakkerij De Korenaar" in page
    for invoice in (first, second):
        assert reverse("web:invoice_detail", args=[invoice.pk]) in page
        assert (
            f"{PAYER} is een bekend IBAN van de klant en €\u00a0121,00 is het openstaande bedrag "
            f"van factuur {invoice.number}"
        ) in page
    assert "is a known IBAN" not in page


def test_part_of_an_invoice_from_a_known_account_reads_in_dutch_and_english(member):
    organisation = member.organisation
    customer = CustomerFactory(organisation=organisation)
    CustomerIban.objects.create(customer=customer, iban=PAYER)
    invoice = issued_invoice(customer, amount="100.00")
    receive(organisation, {"amount": "50.00", "counterparty_iban": PAYER})
    assert match(organisation) == {"review": 1}
    tx = BankTransaction.objects.get()
    assert tx.status == TransactionStatus.REVIEW
    with translation.override("nl"):
        (row,) = review_rows([tx])[tx.pk]
        assert (
            row.why == f"{PAYER} is een bekend IBAN van de klant; €\u00a050,00 past bij geen "
            "openstaand bedrag"
        )
    with translation.override("en"):
        (row,) = review_rows([tx])[tx.pk]
        assert row.why.startswith(f"{PAYER} is a known IBAN of the customer; ")
    assert row.customer == customer
    assert row.invoices == [invoice]
    assert row.score == tx.candidates[0]["score"]


def test_an_invoice_number_with_another_amount_names_what_is_open_now(member):
    organisation = member.organisation
    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="100.00")
    receive(organisation, {"amount": "99.00", "remittance": f"factuur {invoice.number}"})
    assert match(organisation) == {"review": 1}
    tx = BankTransaction.objects.get()
    with translation.override("nl"):
        (row,) = review_rows([tx])[tx.pk]
    assert row.why == f"factuurnummer {invoice.number} in de omschrijving (open €\u00a0121,00)"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (matching.REFERENCE, "betalingskenmerk 1234567890123456 is factuur 2026-0001"),
        (
            matching.REFERENCE_IN_TEXT,
            "betalingskenmerk 7000000000000001 van factuur 2026-0001 in de omschrijving",
        ),
        (matching.INVOICE_NUMBER, "factuurnummer 2026-0001 in de omschrijving"),
        (
            matching.SUM_OF_INVOICES,
            f"{PAYER} is een bekend IBAN van de klant en €\u00a010,00 is de som van de facturen "
            "2026-0001",
        ),
        ("a reason from a newer matcher", "the matcher's own words"),
    ],
)
def test_every_reason_reads_in_dutch(reason, expected):
    from betaald.invoices.models import Invoice

    invoice = Invoice(pk=1, number="2026-0001", payment_reference="7000000000000001")
    with translation.override("nl"):
        text = reason_text(
            reason,
            amount=Decimal("10.00"),
            iban=PAYER,
            structured_reference="1234567890123456",
            invoices=[invoice],
            open_amounts={1: Decimal("10.00")},
            fallback="the matcher's own words",
        )
    assert text == expected
