"""In chromium: the next-step view of an invoice, the 14-day forecast and the approval queue
(issue 5, "Done when"). Screenshots go to test-artifacts/dunning-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from betaald.dunning.models import StepExecution
from betaald.dunning.services import dunning_policies_install_defaults, dunning_run
from betaald.organisations.models import Role
from tests.factories import CustomerFactory, MembershipFactory

from .conftest import invoice_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_next_step_forecast_and_approval_queue_in_the_browser(live_server, page, screenshot):
    member = MembershipFactory(role=Role.CREDIT_CONTROLLER, user__username="fenna")
    organisation = member.organisation
    dunning_policies_install_defaults(organisation=organisation)
    today = timezone.localdate()
    customer = CustomerFactory(organisation=organisation, phone="0301234567")
    recent = invoice_for(customer, amount="800.00", issued_on=today - timedelta(days=20))
    old_customer = CustomerFactory(organisation=organisation, name="Traag B.V.")
    invoice_for(old_customer, amount="2500.00", issued_on=today - timedelta(days=14 + 31))
    dunning_run(today=today)
    waiting = StepExecution.objects.get(status="awaiting_approval")

    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "fenna")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/dunning/invoices/{recent.pk}/")
    next_step = page.locator("[data-testid=dunning-next-step]")
    step_name = next_step.locator("[data-testid=next-step-name]").inner_text()
    assert "Call" in step_name or "Bellen" in step_name  # default names follow LANGUAGE_CODE
    assert next_step.locator("[data-testid=next-step-date]").inner_text().strip() != ""
    assert "€" in next_step.locator("[data-testid=next-step-cost]").inner_text()
    assert page.locator("[data-testid=simulation] tbody tr").count() >= 3
    screenshot("dunning-next-step")

    page.goto(f"{base}/dunning/forecast/")
    assert page.locator("[data-testid=forecast] tbody tr").count() == 14
    screenshot("dunning-forecast")

    page.goto(f"{base}/dunning/approvals/")
    rows = page.locator("[data-testid=approval-queue] tbody tr")
    assert rows.count() == 1
    assert "Traag B.V." in rows.first.inner_text()
    screenshot("dunning-approvals")
    page.check(f"input[name=execution][value='{waiting.pk}']")
    page.click("button[name=decision][value=approve]")
    page.wait_for_selector("[data-testid=approval-queue] tbody td.muted")
    waiting.refresh_from_db()
    assert waiting.status == "done"
