"""factory_boy factories for the ledger. Writes that matter go through services in tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from betaald.debtors.models import Customer, CustomerKind
from betaald.invoices.services import LineInput, invoice_create_draft, invoice_issue
from betaald.organisations.models import Membership, Organisation, Role


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    legal_name = factory.Sequence(lambda n: f"Bouwbedrijf Jansen {n} B.V.")
    trade_name = "Jansen Bouw"
    legal_form = "B.V."
    seat = "Utrecht"
    kvk_number = "12345678"
    vat_number = "NL123456789B13"
    iban = "NL20INGB0001234567"
    bic = "INGBNL2A"
    street = "Oudegracht 1"
    postal_code = "3511 AA"
    city = "Utrecht"
    email = "debiteuren@jansenbouw.nl"
    default_payment_term_days = 14


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.nl")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def saved(self, create, extracted, **kwargs):
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organisation = factory.SubFactory(OrganisationFactory)
    number = factory.Sequence(lambda n: f"D{n:05d}")
    kind = CustomerKind.BUSINESS
    name = factory.Sequence(lambda n: f"Klant {n} B.V.")
    kvk_number = "87654321"
    email = factory.Sequence(lambda n: f"crediteuren{n}@klant.nl")
    street = "Kalverstraat 10"
    postal_code = "1012 AB"
    city = "Amsterdam"


def issued_invoice(
    customer: Customer,
    *,
    amount: str = "100.00",
    issued_on: date = date(2026, 1, 5),
    vat_rate: str = "21",
    term: int | None = None,
    actor=None,
):
    """An issued invoice of one line at `amount` excl. VAT, through the real services."""
    draft = invoice_create_draft(
        organisation=customer.organisation,
        customer=customer,
        actor=actor,
        lines=[LineInput("Werkzaamheden", Decimal("1"), Decimal(amount), vat_rate)],
        payment_term_days=term,
    )
    invoice, _warnings = invoice_issue(invoice=draft, actor=actor, issued_on=issued_on)
    return invoice
