"""End to end in chromium: the plans overview, the calculator, a started plan and the
payment-behaviour ranking. Screenshots go to test-artifacts/plans-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from betaald.dunning.services import dunning_policies_install_defaults
from betaald.organisations.models import Role
from betaald.plans.models import PaymentPlan, PlanStatus
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # The session-wide live server keeps a connection open to the end, which stops the
    # PostgreSQL test database from being dropped; the pages are the same on SQLite.
    pytest.mark.skipif(
        connection.vendor == "postgresql", reason="runs on SQLite (live server connection)"
    ),
]


def test_a_credit_controller_calculates_and_starts_a_plan(live_server, page, screenshot):
    member = MembershipFactory(role=Role.CREDIT_CONTROLLER, user__username="fatima")
    organisation = member.organisation
    dunning_policies_install_defaults(organisation=organisation)
    customer = CustomerFactory(organisation=organisation, name="Hoveniersbedrijf Groen B.V.")
    today = timezone.localdate()
    issued_invoice(customer, amount="2500.00", issued_on=today - timedelta(days=40))
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "fatima")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("nav a[href='/plans/']")
    page.wait_for_selector("h1:has-text('Regelingen & geschillen')")
    screenshot("plans-01-overview")

    page.click("text=Rekenhulp betalingsregeling")
    page.wait_for_selector("text=Betalingsregeling voor")
    page.fill("#id_count", "6")
    page.click("button[value=charges]")
    page.wait_for_selector("text=Rente tot vandaag")
    page.click("button[value=preview]")
    page.wait_for_selector("h2:has-text('Schema')")
    screenshot("plans-02-calculator")
    page.click("button[value=activate]")
    page.wait_for_selector("text=Betalingsregeling opgeslagen.")
    plan = PaymentPlan.objects.get(organisation=organisation)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.instalments.count() == 6
    assert plan.interest > 0
    screenshot("plans-03-plan")

    page.click("nav a[href='/plans/']")
    page.click("text=Betaalgedrag")
    page.wait_for_selector("text=Hoveniersbedrijf Groen B.V.")
    screenshot("plans-04-register")
    page.click("text=Hoveniersbedrijf Groen B.V.")
    page.wait_for_selector("text=Waarom deze score")
    screenshot("plans-05-customer")
