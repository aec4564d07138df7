"""Fixtures for the communications tests: an organisation, customers and issued invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from betaald.debtors.models import Contact, ContactRole, Customer
from betaald.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from betaald.organisations.models import Organisation


def make_organisation(**overrides: object) -> Organisation:
    values: dict[str, object] = {
        "legal_name": "Bakkerij De Gouden Korst B.V.",
        "trade_name": "De Gouden Korst",
        "legal_form": "B.V.",
        "seat": "Utrecht",
        "kvk_number": "12345678",
        "vat_number": "NL123456789B13",
        "iban": "NL20INGB0001234567",
        "bic": "INGBNL2A",
        "street": "Oudegracht 1",
        "postal_code": "3511 AA",
        "city": "Utrecht",
        "email": "debiteuren@goudenkorst.nl",
        "phone": "030 123 45 67",
    }
    values.update(overrides)
    return Organisation.objects.create(**values)


def make_customer(
    organisation: Organisation, number: str = "C001", **overrides: object
) -> Customer:
    values: dict[str, object] = {
        "organisation": organisation,
        "number": number,
        "kind": "consumer",
        "name": "Jan Jansen",
        "email": "jan@example.nl",
        "phone": "+31612345678",
        "language": "nl",
        "street": "Kerkstraat 12",
        "postal_code": "1234 AB",
        "city": "Amsterdam",
    }
    values.update(overrides)
    return Customer.objects.create(**values)


def make_invoice(
    organisation: Organisation,
    customer: Customer,
    number: str = "2026-0001",
    amount: Decimal = Decimal("1000.00"),
    *,
    issued_on: date = date(2026, 10, 1),
    due_on: date = date(2026, 10, 15),
    reference: str = "8000000020250417",
) -> Invoice:
    vat = (amount * Decimal("0.21")).quantize(Decimal("0.01"))
    invoice = Invoice.objects.create(
        organisation=organisation,
        customer=customer,
        status=InvoiceStatus.DRAFT,
        number=number,
        issued_on=issued_on,
        delivered_on=issued_on,
        due_on=due_on,
        payment_reference=reference,
        total_excl_vat=amount,
        total_vat=vat,
        total=amount + vat,
        seller={
            "name": organisation.legal_name,
            "address_lines": [
                organisation.street,
                f"{organisation.postal_code}  {organisation.city}",
            ],
            "kvk_number": organisation.kvk_number,
            "vat_number": organisation.vat_number,
            "iban": organisation.iban,
        },
        buyer={
            "name": customer.name,
            "address_lines": customer.address_lines,
            "vat_number": customer.vat_number,
        },
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        description="Bruidstaart drie lagen",
        quantity=Decimal("1.000"),
        unit="st",
        unit_price=amount,
        vat_rate="21",
        amount=amount,
    )
    # Issued invoices are immutable: build as a draft, then mark issued as the issue service does.
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.ISSUED)
    invoice.status = InvoiceStatus.ISSUED
    return invoice


@pytest.fixture
def organisation(db: None) -> Organisation:
    return make_organisation()


@pytest.fixture
def customer(organisation: Organisation) -> Customer:
    return make_customer(organisation)


@pytest.fixture
def business(organisation: Organisation) -> Customer:
    customer = make_customer(
        organisation,
        "B001",
        kind="business",
        name="Jansen Installatietechniek B.V.",
        email="info@jansen.example",
        language="en",
        vat_number="NL000099998B57",
    )
    Contact.objects.create(
        customer=customer,
        name="Crediteurenadministratie",
        role=ContactRole.ACCOUNTS_PAYABLE,
        email="ap@jansen.example",
    )
    return customer


@pytest.fixture
def invoice(organisation: Organisation, customer: Customer) -> Invoice:
    return make_invoice(organisation, customer)
