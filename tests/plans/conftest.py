"""Fixtures for the plans tests: an organisation with the default dunning policies, a business
customer with a phone number, and helpers that walk simulated days through the real services
(the dunning run and the plans evaluation, day by day)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from betaald.debtors.models import CustomerKind
from betaald.dunning.models import ExecutionStatus, StepExecution
from betaald.dunning.services import dunning_policies_install_defaults, dunning_run
from betaald.payments.services import payment_register
from betaald.plans.services import plans_evaluate
from tests.factories import CustomerFactory, MembershipFactory, OrganisationFactory, issued_invoice

ISSUED = date(2026, 1, 5)  # with 14 days' term the invoices are due 2026-01-19
DUE = date(2026, 1, 19)


@pytest.fixture
def organisation(db):
    organisation = OrganisationFactory()
    dunning_policies_install_defaults(organisation=organisation)
    return organisation


@pytest.fixture
def owner(organisation):
    return MembershipFactory(organisation=organisation).user


@pytest.fixture
def business(organisation):
    return CustomerFactory(
        organisation=organisation, kind=CustomerKind.BUSINESS, phone="030 765 43 21"
    )


def invoice_for(customer, amount="1000.00", issued_on=ISSUED, term=14):
    """An issued invoice; 1000.00 excl. 21% VAT is 1210.00."""
    return issued_invoice(customer, amount=amount, issued_on=issued_on, term=term)


def pay(customer, amount, on, invoice=None):
    return payment_register(
        organisation=customer.organisation,
        customer=customer,
        amount=Decimal(amount),
        received_on=on,
        designated_invoice=invoice,
    )


def walk(first: date, last: date, payments=None, organisation=None) -> None:
    """Each day: book that day's payments, evaluate plans and promises, then run dunning (the
    order the daily jobs run in: a plan broken today lets dunning resume today)."""
    payments = payments or {}
    day = first
    while day <= last:
        for customer, amount in payments.get(day, []):
            pay(customer, amount, day)
        plans_evaluate(today=day, organisation=organisation)
        dunning_run(today=day, organisation=organisation)
        day += timedelta(days=1)


def steps_of(invoice):
    """The steps carried out (or waiting for approval) for an invoice; skipped ones left out."""
    return [
        (e.step.code, e.status, e.executed_on)
        for e in StepExecution.objects.filter(invoice=invoice)
        .exclude(status=ExecutionStatus.SKIPPED)
        .select_related("step")
        .order_by("executed_on", "step__position")
    ]
