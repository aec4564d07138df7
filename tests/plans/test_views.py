"""The plans pages: login, tenancy (another organisation's id is a 404), read-only roles (403),
and the flows behind the forms: calculator, plan, promise, dispute, register, credit page."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from betaald.debtors.models import CustomerStatus
from betaald.organisations.models import Role
from betaald.plans.models import (
    ContractTerms,
    CreditAssessment,
    Dispute,
    DisputeStatus,
    PaymentPlan,
    PlanStatus,
    Promise,
    SuggestionAction,
    TermSuggestion,
)
from betaald.plans.services import dispute_open
from tests.factories import CustomerFactory, MembershipFactory, OrganisationFactory

from .conftest import invoice_for


@pytest.fixture
def client_owner(client, owner, settings):
    """Logged in, asking for English pages (the default is Dutch; see the Dutch test)."""
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def today():
    return timezone.localdate()


def recent_invoice(customer, today, amount="1000.00"):
    return invoice_for(customer, amount=amount, issued_on=today - timedelta(days=20))


def test_pages_need_a_login(client, db):
    response = client.get(reverse("plans:index"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_overview_and_the_lists_render(client_owner, business, today, owner):
    invoice = recent_invoice(business, today)
    dispute_open(invoice=invoice, reason="quality", description="Krassen", actor=owner, today=today)
    for name in ("index", "disputes", "register"):
        response = client_owner.get(reverse(f"plans:{name}"))
        assert response.status_code == 200, name
    body = client_owner.get(reverse("plans:index")).content.decode()
    assert invoice.number in body
    assert reverse("plans:index") in client_owner.get(reverse("web:dashboard")).content.decode()


def test_the_calculator_previews_then_starts_a_plan(client_owner, business, today):
    invoice = recent_invoice(business, today)
    url = reverse("plans:plan_create") + f"?customer={business.pk}"
    assert client_owner.get(url).status_code == 200
    data = {
        "customer": business.pk,
        "invoices": [str(invoice.pk)],
        "frequency": "monthly",
        "count": "4",
        "first_on": (today + timedelta(days=3)).isoformat(),
        "grace_days": "5",
        "on_break": "resume",
        "action": "preview",
    }
    response = client_owner.post(reverse("plans:plan_create"), data)
    assert response.status_code == 200
    assert "302,50" in response.content.decode()  # 1210.00 / 4
    assert not PaymentPlan.objects.exists()
    response = client_owner.post(reverse("plans:plan_create"), {**data, "action": "activate"})
    plan = PaymentPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("plans:plan_detail", args=[plan.pk])
    assert plan.status == PlanStatus.ACTIVE
    detail = client_owner.get(response["Location"])
    assert detail.status_code == 200
    assert "302,50" in detail.content.decode()


def test_a_plan_that_does_not_cover_the_amount_shows_the_error_on_the_field(
    client_owner, business, today
):
    invoice = recent_invoice(business, today)
    data = {
        "customer": business.pk,
        "invoices": [str(invoice.pk)],
        "frequency": "monthly",
        "count": "2",
        "amount": "100.00",
        "first_on": (today - timedelta(days=1)).isoformat(),
        "grace_days": "5",
        "on_break": "resume",
        "action": "propose",
    }
    response = client_owner.post(reverse("plans:plan_create"), data)
    assert response.status_code == 200
    assert "in the past" in response.content.decode()
    data["first_on"] = today.isoformat()
    response = client_owner.post(reverse("plans:plan_create"), data)
    assert "do not cover the total" in response.content.decode()
    assert not PaymentPlan.objects.exists()


def test_cancelling_a_plan_from_its_page(client_owner, business, today):
    invoice = recent_invoice(business, today)
    client_owner.post(
        reverse("plans:plan_create"),
        {
            "customer": business.pk,
            "invoices": [str(invoice.pk)],
            "frequency": "weekly",
            "count": "2",
            "first_on": today.isoformat(),
            "grace_days": "0",
            "on_break": "resume",
            "action": "propose",
        },
    )
    plan = PaymentPlan.objects.get()
    client_owner.post(reverse("plans:plan_action", args=[plan.pk, "activate"]))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    client_owner.post(reverse("plans:plan_action", args=[plan.pk, "cancel"]), {"note": "Anders"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED


def test_a_promise_before_today_is_refused_in_the_form(client_owner, business, today):
    invoice = recent_invoice(business, today)
    url = reverse("plans:promise_create")
    assert client_owner.get(url + f"?customer={business.pk}").status_code == 200
    data = {
        "customer": business.pk,
        "invoices": [str(invoice.pk)],
        "amount": "1210.00",
        "promised_on": (today - timedelta(days=1)).isoformat(),
        "source": "call",
    }
    response = client_owner.post(url, data)
    assert "before today" in response.content.decode()
    data["promised_on"] = (today + timedelta(days=5)).isoformat()
    assert client_owner.post(url, data).status_code == 302
    assert Promise.objects.get().amount == Decimal("1210.00")


def test_a_dispute_is_recorded_and_rejected_from_its_page(client_owner, business, today, owner):
    invoice = recent_invoice(business, today)
    url = reverse("plans:dispute_create", args=[invoice.pk])
    assert client_owner.get(url).status_code == 200
    response = client_owner.post(
        url,
        {
            "reason": "not_delivered",
            "description": "Nooit ontvangen",
            "owner": str(owner.pk),
            "line": "",
            "resolve_by": "",
        },
    )
    dispute = Dispute.objects.get()
    assert response["Location"] == reverse("plans:dispute_detail", args=[dispute.pk])
    assert dispute.owner == owner
    response = client_owner.post(
        reverse("plans:dispute_detail", args=[dispute.pk]),
        {"decision": "partial", "note": "Deels geleverd", "partial_amount": ""},
    )
    assert "give the amount to credit" in response.content.decode()
    client_owner.post(
        reverse("plans:dispute_detail", args=[dispute.pk]),
        {"decision": "partial", "note": "Deels geleverd", "partial_amount": "100.00"},
    )
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.PARTIALLY_CREDITED
    assert dispute.credit_note.total == Decimal("-121.00")


def test_the_customer_page_sets_a_limit_checks_credit_and_saves_terms(
    client_owner, business, today
):
    invoice = recent_invoice(business, today)
    url = reverse("plans:credit", args=[business.pk])
    page = client_owner.get(url)
    assert page.status_code == 200
    assert reverse("plans:dispute_create", args=[invoice.pk]) in page.content.decode()
    response = client_owner.post(url, {"form": "limit", "credit_limit": "-5.00"})
    assert "below zero" in response.content.decode()
    client_owner.post(url, {"form": "limit", "credit_limit": "1000.00"})
    business.refresh_from_db()
    assert business.credit_limit == Decimal("1000.00")
    response = client_owner.post(url, {"form": "check", "order_amount": "1500.00"})
    assert 'data-testid="credit-check"' in response.content.decode()
    assert CreditAssessment.objects.get().exceeds_limit
    response = client_owner.post(
        url,
        {
            "form": "terms",
            "document_reference": "Contract 7",
            "payment_term_days": "30",
            "interest_clause": "statutory",
            "costs_clause": "bik",
            "interest_capitalises": "on",
        },
    )
    assert response.status_code == 302
    assert ContractTerms.objects.get().document_reference == "Contract 7"


def test_accepting_a_suggestion_from_the_review_list(client_owner, business, organisation):
    suggestion = TermSuggestion.objects.create(
        organisation=organisation,
        customer=business,
        rule="de_prepayment",
        action=SuggestionAction.PREPAYMENT,
        grade="E",
        reason="grade E: paid 70 days late",
        suggested_on=date(2026, 1, 31),
    )
    assert "grade E" in client_owner.get(reverse("plans:index")).content.decode()
    response = client_owner.post(
        reverse("plans:suggestion_decide", args=[suggestion.pk, "accept"]),
        {"next": reverse("plans:index")},
    )
    assert response.status_code == 302
    business.refresh_from_db()
    assert business.status == CustomerStatus.PREPAYMENT


def test_another_organisations_records_are_not_found(client_owner, today):
    other = OrganisationFactory()
    customer = CustomerFactory(organisation=other)
    invoice = recent_invoice(customer, today)
    owner = MembershipFactory(organisation=other).user
    dispute = dispute_open(
        invoice=invoice, reason="quality", description="x", actor=owner, today=today
    )
    for url in (
        reverse("plans:credit", args=[customer.pk]),
        reverse("plans:dispute_detail", args=[dispute.pk]),
        reverse("plans:dispute_create", args=[invoice.pk]),
        reverse("plans:plan_create") + f"?customer={customer.pk}",
        reverse("plans:promise_create") + f"?customer={customer.pk}",
    ):
        assert client_owner.get(url).status_code == 404, url


def test_a_read_only_member_cannot_write(client, organisation, business, today):
    accountant = MembershipFactory(organisation=organisation, role=Role.ACCOUNTANT).user
    client.force_login(accountant)
    invoice = recent_invoice(business, today)
    assert client.get(reverse("plans:index")).status_code == 200
    response = client.post(
        reverse("plans:dispute_create", args=[invoice.pk]),
        {"reason": "quality", "description": "x"},
    )
    assert response.status_code == 403
    response = client.post(
        reverse("plans:credit", args=[business.pk]), {"form": "limit", "credit_limit": "1"}
    )
    assert response.status_code == 403
    assert not Dispute.objects.exists()


def test_the_calculator_fills_in_interest_and_costs_to_date(client_owner, business, today):
    invoice = invoice_for(business, issued_on=today - timedelta(days=60))
    response = client_owner.post(
        reverse("plans:plan_create"),
        {
            "customer": business.pk,
            "invoices": [str(invoice.pk)],
            "frequency": "monthly",
            "count": "3",
            "first_on": today.isoformat(),
            "grace_days": "5",
            "on_break": "resume",
            "action": "charges",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert Decimal(form.data["interest"]) > 0
    assert "Interest to date" in response.content.decode()


def test_the_pages_speak_dutch(client_owner, settings):
    client_owner.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    body = client_owner.get(reverse("plans:index")).content.decode()
    assert "Betalingsregelingen" in body
    assert "<h1>Regelingen & geschillen</h1>" in body


def test_a_deposit_invoice_from_the_credit_page(client_owner, business):
    url = reverse("plans:credit", args=[business.pk])
    client_owner.post(url, {"form": "check", "order_amount": "1000.00"})
    check = CreditAssessment.objects.get()
    response = client_owner.post(url, {"form": "deposit", "assessment": str(check.pk)})
    check.refresh_from_db()
    assert response["Location"] == reverse("web:invoice_detail", args=[check.deposit_invoice_id])
    assert ">Deposit invoice</button>" not in client_owner.get(url).content.decode()


def test_the_rules_and_deposits_page_saves_the_settings(client_owner, organisation):
    from betaald.plans.selectors import deposit_policy_for

    url = reverse("plans:settings")
    assert client_owner.get(url).status_code == 200
    data = {
        "suggest_longer_term": "on",
        "longer_term_days": "90",
        "early_discount_percent": "2",
        "early_discount_days": "10",
        "loyal_customer_days": "730",
        "deposit_low": "0",
        "deposit_medium": "10",
        "deposit_high": "40",
        "deposit_very_high": "100",
    }
    response = client_owner.post(url, data)
    assert "1 to 60 days" in response.content.decode()
    response = client_owner.post(url, {**data, "longer_term_days": "45"})
    assert response.status_code == 302
    assert deposit_policy_for(organisation).medium == Decimal("10")


def test_resuming_dunning_of_a_broken_plan_from_its_page(client_owner, business, owner, today):
    from betaald.dunning.models import Hold
    from betaald.plans.services import plan_create, plans_evaluate

    invoice = recent_invoice(business, today)
    plan = plan_create(
        organisation=business.organisation,
        customer=business,
        invoices=[invoice],
        actor=owner,
        today=today,
        first_on=today,
        count=2,
        grace_days=0,
        on_break="review",
        activate=True,
    )
    plans_evaluate(today=today + timedelta(days=1))
    assert (
        "Resume dunning"
        in client_owner.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    )
    client_owner.post(reverse("plans:plan_action", args=[plan.pk, "resume"]), {"note": "Klaar"})
    assert not Hold.objects.filter(invoice=invoice, released_at=None).exists()
    response = client_owner.post(reverse("plans:plan_action", args=[plan.pk, "explode"]))
    assert response.status_code == 404
