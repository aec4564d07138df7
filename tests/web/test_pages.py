"""The web UI: login everywhere, tenancy isolation, roles, and every main page renders."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from betaald.debtors.models import Customer
from betaald.invoices.models import Invoice
from betaald.invoices.selectors import invoice_open_amount
from betaald.organisations.models import Role
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MembershipFactory(role=Role.OWNER)


@pytest.fixture
def client_of(member):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # assertions read the English text
    client.force_login(member.user)
    return client


def test_every_page_needs_a_login(client):
    for url in ["/", "/customers/", "/invoices/", "/payments/", "/customers/1/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")


def test_the_main_pages_render_with_data(member, client_of):
    customer = CustomerFactory(organisation=member.organisation)
    invoice = issued_invoice(customer, issued_on=timezone.localdate() - timedelta(days=40))
    pages = [
        reverse("web:dashboard"),
        reverse("web:customer_list") + "?q=Klant&sort=-open",
        reverse("web:customer_detail", args=[customer.pk]),
        reverse("web:customer_create"),
        reverse("web:customer_edit", args=[customer.pk]),
        reverse("web:invoice_list") + "?state=overdue",
        reverse("web:invoice_detail", args=[invoice.pk]),
        reverse("web:invoice_create") + f"?customer={customer.pk}",
        reverse("web:invoice_credit", args=[invoice.pk]),
        reverse("web:payment_list"),
        reverse("web:payment_create") + f"?designated_invoice={invoice.pk}",
    ]
    for url in pages:
        response = client_of.get(url)
        assert response.status_code == 200, url
    overdue = client_of.get(reverse("web:dashboard")).content.decode()
    assert "€\xa0121,00" in overdue


def test_a_user_of_one_organisation_gets_404_for_anything_of_another(client_of):
    stranger = CustomerFactory()  # another organisation
    invoice = issued_invoice(stranger)
    for url in [
        reverse("web:customer_detail", args=[stranger.pk]),
        reverse("web:customer_edit", args=[stranger.pk]),
        reverse("web:invoice_detail", args=[invoice.pk]),
        reverse("web:invoice_credit", args=[invoice.pk]),
        reverse("web:invoice_create") + f"?customer={stranger.pk}",
        reverse("web:payment_create") + f"?designated_invoice={invoice.pk}",
    ]:
        assert client_of.get(url).status_code == 404, url
    assert stranger.name not in client_of.get(reverse("web:customer_list")).content.decode()
    assert invoice.number not in client_of.get(reverse("web:invoice_list")).content.decode()


def test_an_accountant_reads_but_cannot_write():
    member = MembershipFactory(role=Role.ACCOUNTANT)
    client = Client()
    client.force_login(member.user)
    assert client.get(reverse("web:customer_list")).status_code == 200
    assert client.get(reverse("web:customer_create")).status_code == 403
    response = client.post(reverse("web:customer_create"), {"kind": "consumer", "name": "X"})
    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_creating_a_customer_normalises_identifiers_and_refuses_bad_ones(member, client_of):
    data = {
        "kind": "business",
        "name": "Bakkerij De Korenschoof B.V.",
        "kvk_number": "1234 5678",
        "vat_number": "nl123456789b13",
        "email": "Info@Korenschoof.NL",
        "language": "nl",
        "street": "Dorpsstraat 4",
        "postal_code": "1234 ab",
        "city": "Ede",
        "country": "NL",
    }
    response = client_of.post(reverse("web:customer_create"), data)
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.kvk_number, customer.vat_number, customer.email, customer.postal_code) == (
        "12345678",
        "NL123456789B13",
        "info@korenschoof.nl",
        "1234 AB",
    )
    bad = client_of.post(reverse("web:customer_create"), {**data, "vat_number": "NL123456789B12"})
    assert bad.status_code == 200
    assert "not a valid Dutch VAT number" in bad.content.decode()
    assert Customer.objects.count() == 1


def test_create_issue_and_pay_an_invoice_through_the_pages(member, client_of):
    customer = CustomerFactory(organisation=member.organisation)
    response = client_of.post(
        reverse("web:invoice_create"),
        {
            "customer": customer.pk,
            "payment_term_days": "14",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "1",
            "lines-MAX_NUM_FORMS": "200",
            "lines-0-description": "Advies",
            "lines-0-quantity": "3",
            "lines-0-unit_price": "95.00",
            "lines-0-vat_rate": "21",
            "lines-1-description": "",
            "lines-1-quantity": "",
            "lines-1-unit_price": "",
            "lines-1-vat_rate": "21",
        },
    )
    assert response.status_code == 302
    invoice = Invoice.objects.get()
    client_of.post(reverse("web:invoice_issue", args=[invoice.pk]), {"issued_on": "2026-11-02"})
    invoice.refresh_from_db()
    assert invoice.number == "2026-00001"
    assert invoice.total == Decimal("344.85")
    client_of.post(
        reverse("web:payment_create"),
        {
            "customer": customer.pk,
            "amount": "344,85",
            "received_on": "2026-11-10",
            "method": "bank_transfer",
            "designated_invoice": invoice.pk,
        },
    )
    assert invoice_open_amount(invoice) == Decimal("0.00")
    page = client_of.get(reverse("web:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'data-testid="invoice-state">betaald' in page or "paid" in page


def test_a_line_with_a_negative_quantity_is_shown_on_the_line(member, client_of):
    customer = CustomerFactory(organisation=member.organisation)
    response = client_of.post(
        reverse("web:invoice_create"),
        {
            "customer": customer.pk,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "1",
            "lines-MAX_NUM_FORMS": "200",
            "lines-0-description": "Advies",
            "lines-0-quantity": "-3",
            "lines-0-unit_price": "95.00",
            "lines-0-vat_rate": "21",
        },
    )
    assert response.status_code == 200
    assert "credit note" in response.content.decode() or "creditnota" in response.content.decode()
    assert not Invoice.objects.exists()


def test_login_is_rate_limited(member, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        response = client.post(
            "/accounts/login/", {"username": member.user.username, "password": "x"}
        )
        assert response.status_code == 200
    response = client.post(
        "/accounts/login/", {"username": member.user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_good_login_works(member):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": member.user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_the_euro_filter_formats_dutch_style():
    from betaald.web.templatetags.betaald import euro

    assert euro(Decimal("1234567.891")) == "€\xa01.234.567,89"
    assert euro(Decimal("-5")) == "€\xa0-5,00"
    assert euro(None) == ""
    assert date(2026, 1, 1)


def test_an_owner_edits_the_organisation_and_identifiers_are_checked(member, client_of):
    organisation = member.organisation
    page = client_of.get(reverse("web:settings"))
    assert page.status_code == 200
    data = {
        field: getattr(organisation, field)
        for field in [
            "legal_name",
            "trade_name",
            "legal_form",
            "seat",
            "kvk_number",
            "vat_number",
            "iban",
            "bic",
            "sepa_creditor_id",
            "street",
            "postal_code",
            "city",
            "country",
            "email",
            "phone",
            "website",
            "default_payment_term_days",
        ]
    }
    data.update(iban="nl91 abna 0417 1643 00", can_deduct_vat="on")
    response = client_of.post(reverse("web:settings"), data)
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.iban == "NL91ABNA0417164300"
    bad = client_of.post(reverse("web:settings"), {**data, "iban": "NL91ABNA0417164301"})
    assert "not a valid IBAN" in bad.content.decode()


def test_an_accountant_cannot_change_the_organisation():
    member = MembershipFactory(role=Role.ACCOUNTANT)
    client = Client()
    client.force_login(member.user)
    assert client.get(reverse("web:settings")).status_code == 200
    assert client.post(reverse("web:settings"), {"legal_name": "X"}).status_code == 403


def test_an_api_token_is_shown_once_and_can_be_revoked(member, client_of):
    client_of.post(reverse("web:token_create"), {"name": "boekhouding"})
    page = client_of.get(reverse("web:settings")).content.decode()
    assert "btl_" in page
    assert "btl_" not in client_of.get(reverse("web:settings")).content.decode()
    token = member.tokens.get()
    client_of.post(reverse("web:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_prepayment_customer_is_flagged_on_the_new_invoice_and_the_draft(member, client_of):
    from betaald.debtors.services import customer_set_status
    from betaald.invoices.services import LineInput, invoice_create_draft

    customer = CustomerFactory(organisation=member.organisation)
    customer_set_status(customer=customer, status="prepayment", actor=None, reason="score E")
    page = client_of.get(reverse("web:invoice_create") + f"?customer={customer.pk}")
    assert 'data-testid="customer-flags"' in page.content.decode()
    invoice = invoice_create_draft(
        organisation=member.organisation,
        customer=customer,
        actor=None,
        lines=[LineInput("Werk", "1", "10.00", "21")],
    )
    detail = client_of.get(reverse("web:invoice_detail", args=[invoice.pk])).content.decode()
    assert 'data-testid="customer-flags"' in detail


def test_the_dashboard_warns_when_a_rate_table_has_no_rate_for_the_current_half_year(
    member, client_of, monkeypatch
):
    from betaald.web import views

    # The packaged tables are confirmed up to 30 June 2026 (shared/reference/rates/README.md).
    monkeypatch.setattr(views, "today", lambda: date(2026, 11, 30))
    page = client_of.get(reverse("web:dashboard")).content.decode()
    assert "no rate for the current half-year yet" in page
    assert "statutory interest, commercial interest" in page
    assert reverse("admin:rates_rateperiod_changelist") not in page  # not staff: no admin link
    member.user.is_staff = True
    member.user.save()
    page = client_of.get(reverse("web:dashboard")).content.decode()
    assert reverse("admin:rates_rateperiod_changelist") in page

    monkeypatch.setattr(views, "today", lambda: date(2026, 6, 30))
    page = client_of.get(reverse("web:dashboard")).content.decode()
    assert "no rate for the current half-year yet" not in page


def test_the_customer_page_states_the_default_payment_term_with_its_unit(member, client_of):
    customer = CustomerFactory(organisation=member.organisation, payment_term_days=None)
    page = client_of.get(reverse("web:customer_detail", args=[customer.pk])).content.decode()
    term = member.organisation.default_payment_term_days
    assert f"{term} days (default)" in page


def test_the_customer_page_shows_what_dunning_does_next_and_changes_the_policy(member, client_of):
    """Issue 5, item 5: every customer page says the next step of each open invoice, its day
    and what it costs; the policy is changed there (a form, not a link to a POST-only URL)."""
    from betaald.dunning.models import CustomerDunning, DunningPolicy
    from betaald.dunning.services import dunning_policies_install_defaults

    organisation = member.organisation
    dunning_policies_install_defaults(organisation=organisation)
    customer = CustomerFactory(organisation=organisation, kind="business")
    invoice = issued_invoice(customer, issued_on=timezone.localdate() - timedelta(days=40))
    url = reverse("web:customer_detail", args=[customer.pk])
    page = client_of.get(url).content.decode()
    assert f'data-testid="customer-next-{invoice.pk}"' in page
    assert reverse("dunning:invoice_next", args=[invoice.pk]) in page
    assert f'href="{reverse("dunning:customer_policy", args=[customer.pk])}"' not in page

    other = DunningPolicy.objects.filter(organisation=organisation).exclude(debtor_kind="business")[
        0
    ]
    response = client_of.post(
        reverse("dunning:customer_policy", args=[customer.pk]), {"policy": other.pk, "next": url}
    )
    assert response.status_code == 302
    assert response["Location"] == url
    assert CustomerDunning.objects.get(customer=customer).policy == other
    page = client_of.get(url).content.decode()
    assert f'<option value="{other.pk}" selected>' in page
