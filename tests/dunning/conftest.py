"""Fixtures for the dunning tests: an organisation with the default policies, customers and
issued invoices made through the real services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from betaald.debtors.models import CustomerKind
from betaald.dunning.models import DunningRun, StepExecution
from betaald.dunning.services import dunning_policies_install_defaults, dunning_run
from betaald.letters.models import Message
from tests.factories import CustomerFactory, MembershipFactory, OrganisationFactory, issued_invoice

ISSUED = date(2026, 1, 5)  # a Monday; with 14 days' term the invoices are due 2026-01-19


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


@pytest.fixture
def consumer(organisation):
    return CustomerFactory(
        organisation=organisation,
        kind=CustomerKind.CONSUMER,
        name="J. de Vries",
        kvk_number="",
        email="jdevries@example.nl",
    )


def invoice_for(customer, amount="100.00", issued_on=ISSUED, term=14):
    return issued_invoice(customer, amount=amount, issued_on=issued_on, term=term)


def run(day: date, **kwargs) -> DunningRun:
    return dunning_run(today=day, **kwargs)


def run_days(first: date, last: date) -> list[DunningRun]:
    runs = []
    day = first
    while day <= last:
        runs.append(run(day))
        day += timedelta(days=1)
    return runs


def steps_of(invoice) -> list[tuple[str, str, date]]:
    return [
        (e.step.code, e.status, e.executed_on)
        for e in StepExecution.objects.filter(invoice=invoice)
        .select_related("step")
        .order_by("executed_on", "step__position")
    ]


def messages_of(customer) -> list[Message]:
    return list(Message.objects.filter(customer=customer).order_by("id"))


def money(text: str) -> Decimal:
    return Decimal(text)
