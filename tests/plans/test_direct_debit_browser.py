"""In chromium (Dutch UI): the plan page of a plan collected by direct debit, with a returned
and re-presented instalment, and the direct debit page refusing a mandate with a bad IBAN.
Screenshots go to test-artifacts/sepa-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from betaald.bank.models import BankAccount
from betaald.bank.sepa import mandate_create
from betaald.dunning.services import dunning_policies_install_defaults
from betaald.organisations.models import Role
from betaald.plans.services import plan_create
from tests.factories import CustomerFactory, MembershipFactory
from tests.plans.conftest import invoice_for
from tests.plans.test_direct_debit import CREDITOR_IBAN, DEBTOR_IBAN, Bank, live

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "postgresql", reason="runs on SQLite (live server connection)"
    ),
]


def test_a_plan_collected_by_direct_debit_and_a_refused_iban(live_server, page, screenshot):
    member = MembershipFactory(role=Role.CREDIT_CONTROLLER, user__username="sanne")
    organisation = member.organisation
    organisation.sepa_creditor_id = "NL08ZZZ502057730000"
    organisation.save()
    dunning_policies_install_defaults(organisation=organisation)
    BankAccount.objects.create(organisation=organisation, iban=CREDITOR_IBAN)
    customer = CustomerFactory(organisation=organisation, name="Installatiebedrijf Vos B.V.")
    today = timezone.localdate()
    start = today - timedelta(days=45)
    mandate_create(
        organisation=organisation,
        customer=customer,
        reference="MND-VOS-1",
        signed_on=start,
        iban=DEBTOR_IBAN,
        pre_notification_days=2,
    )
    invoices = [
        invoice_for(customer, "1000.00", issued_on=start - timedelta(days=30)),
        invoice_for(customer, "500.00", issued_on=start - timedelta(days=30)),
    ]
    plan = plan_create(
        organisation=organisation,
        customer=customer,
        invoices=invoices,
        actor=None,
        today=start,
        first_on=start + timedelta(days=10),
        frequency="weekly",
        count=6,
        grace_days=10,
        activate=True,
    )
    bank = Bank(organisation, returns={f"PLAN{plan.pk}-T2-1": (3, "AM04")})
    live(organisation, bank, start, today)

    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "sanne")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/plans/{plan.pk}/")
    page.wait_for_selector("text=Automatische incasso (machtiging MND-VOS-1")
    assert page.locator("text=gestorneerd (AM04)").count() == 1
    assert page.locator("a:has-text('bestand')").count() >= 3
    screenshot("sepa-01-plan-collected")

    page.goto(f"{base}/bank/mandates/")
    page.fill("#id_reference", "MND-VOS-2")
    page.select_option("#id_customer", str(customer.pk))
    page.fill("#id_signed_on", today.isoformat())
    page.fill("#id_iban", "NL91 ABNA 0417 1643 01")
    page.click("form:has(input[value=add]) button")
    page.wait_for_selector("text=is geen geldige IBAN: de controlecijfers kloppen niet")
    screenshot("sepa-02-bad-iban")
