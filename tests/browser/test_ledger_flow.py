"""End to end in chromium: log in, create a customer, issue an invoice, register a payment and
see the invoice paid. Screenshots of the main pages go to test-artifacts/."""

from __future__ import annotations

import pytest

from betaald.invoices.models import Invoice
from betaald.organisations.models import Role
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_create_customer_issue_invoice_register_payment_and_see_it_paid(
    live_server, page, screenshot
):
    member = MembershipFactory(role=Role.CREDIT_CONTROLLER, user__username="marieke")
    base = live_server.url

    page.goto(f"{base}/")
    assert "/accounts/login/" in page.url
    screenshot("01-login")
    page.fill("#id_username", "marieke")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").inner_text() == "Dashboard"

    page.click("text=Klanten")
    page.click("text=Nieuwe klant")
    page.select_option("#id_kind", "business")
    page.fill("#id_name", "Schildersbedrijf De Kwast B.V.")
    page.fill("#id_kvk_number", "8765 4321")
    page.fill("#id_vat_number", "nl123456789b13")
    page.fill("#id_email", "administratie@dekwast.nl")
    page.fill("#id_street", "Verfstraat 7")
    page.fill("#id_postal_code", "2511 cv")
    page.fill("#id_city", "Den Haag")
    screenshot("02-customer-form")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Klant Schildersbedrijf De Kwast B.V. aangemaakt.")
    assert "NL123456789B13" in page.content()
    screenshot("03-customer-detail")

    page.click("text=Nieuwe factuur")
    page.fill("#id_lines-0-description", "Schilderwerk kozijnen")
    page.fill("#id_lines-0-quantity", "12")
    page.fill("#id_lines-0-unit_price", "47.50")
    page.click("#add-line")
    page.fill("#id_lines-3-description", "Verf en materiaal")
    page.fill("#id_lines-3-quantity", "1")
    page.fill("#id_lines-3-unit_price", "135.00")
    screenshot("04-invoice-form")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Factuur (concept)")
    page.click("text=Factuur uitreiken")
    page.wait_for_selector("text=is uitgereikt")
    invoice = Invoice.objects.get(organisation=member.organisation)
    assert invoice.number.endswith("-00001")
    assert page.get_by_test_id("open-amount").inner_text() == "€\xa0853,05"
    screenshot("05-invoice-issued")

    page.click("text=Betaling registreren")
    page.fill("#id_amount", "853,05")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Betaling geregistreerd")
    assert page.get_by_test_id("invoice-state").inner_text() == "betaald"
    assert page.get_by_test_id("open-amount").inner_text() == "€\xa00,00"
    screenshot("06-invoice-paid")

    for name, path in [
        ("07-dashboard", "/"),
        ("08-customers", "/customers/"),
        ("09-invoices", "/invoices/"),
        ("10-payments", "/payments/"),
    ]:
        page.goto(f"{base}{path}")
        screenshot(name)
