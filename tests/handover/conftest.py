"""Fixtures for the hand-over tests: an organisation with the default dunning policies and a
business and a consumer customer, each with an invoice of EUR 1,210.00 due 2026-01-19."""

from __future__ import annotations

from datetime import date

import pytest

from betaald.debtors.models import CustomerKind
from betaald.dunning.services import dunning_policies_install_defaults
from tests.factories import CustomerFactory, MembershipFactory, OrganisationFactory, issued_invoice

ISSUED = date(2026, 1, 5)
DUE = date(2026, 1, 19)
HANDOVER_DAY = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Stored PDFs go to a temporary directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


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
    return CustomerFactory(organisation=organisation, kind=CustomerKind.BUSINESS)


@pytest.fixture
def consumer(organisation):
    return CustomerFactory(
        organisation=organisation, kind=CustomerKind.CONSUMER, name="J. de Vries", kvk_number=""
    )


def invoice_for(customer, amount="1000.00"):
    """1000.00 excl. 21 % VAT = 1210.00, issued 2026-01-05, due 2026-01-19."""
    return issued_invoice(customer, amount=amount, issued_on=ISSUED, term=14)
