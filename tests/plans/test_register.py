"""The payment-behaviour register, credit checks, contract terms and the review of suggested
terms. See docs/algorithms/scoring.md."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from betaald.audit.models import Event
from betaald.debtors.models import CustomerStatus
from betaald.dunning.models import HoldKind
from betaald.dunning.services import hold_add
from betaald.payments.models import PaymentMethod
from betaald.payments.services import payment_register, payment_reverse
from betaald.plans.models import ContractTerms, SuggestionAction, SuggestionStatus, TermSuggestion
from betaald.plans.selectors import contract_terms_for, customer_score, histories, register
from betaald.plans.services import (
    contract_terms_save,
    credit_check_run,
    credit_limit_set,
    suggestion_accept,
    suggestion_reject,
    suggestions_refresh,
)
from tests.factories import CustomerFactory
from tests.plans.conftest import pay

D = Decimal


def monthly_invoices(customer, start: date, months: int, days_late: int, amount="100.00"):
    """One invoice a month (14 days' term), each paid `days_late` days after its due date."""
    from tests.factories import issued_invoice

    for month in range(months):
        issued_on = date(
            start.year + (start.month - 1 + month) // 12, (start.month - 1 + month) % 12 + 1, 5
        )
        invoice = issued_invoice(customer, amount=amount, issued_on=issued_on, term=14)
        pay(customer, str(invoice.total), invoice.due_on + timedelta(days=days_late), invoice)


def test_a_customers_score_falls_when_paying_late_and_rises_when_paying_on_time(business):
    monthly_invoices(business, date(2025, 1, 1), 12, days_late=45)
    late = customer_score(business, date(2026, 1, 31))
    assert late.grade == "E"
    assert late.recent.weighted_days_late > D("40")
    assert late.recent.on_time_percent == D("0.0")
    monthly_invoices(business, date(2026, 1, 1), 12, days_late=0)
    better = customer_score(business, date(2027, 1, 31))
    assert better.grade == "A"
    assert better.trend.value == "improving"
    assert better.metrics.invoices == 24
    monthly_invoices(business, date(2027, 1, 1), 6, days_late=20)
    worse = customer_score(business, date(2027, 7, 31))
    assert "ABCDE".index(worse.grade) > "ABCDE".index(better.grade)


def test_open_overdue_invoices_count_as_late_up_to_today(business):
    from tests.factories import issued_invoice

    issued_invoice(business, amount="100.00", issued_on=date(2026, 1, 5), term=14)
    score = customer_score(business, date(2026, 3, 20))
    assert score.metrics.average_days_late == D("60.0")
    assert score.grade == "E"


def test_returned_direct_debits_broken_promises_and_reminders_are_in_the_history(business, owner):
    from tests.factories import issued_invoice

    invoice = issued_invoice(business, amount="100.00", issued_on=date(2026, 1, 5), term=14)
    first = payment_register(
        organisation=business.organisation,
        customer=business,
        amount=invoice.total,
        received_on=date(2026, 1, 19),
        method=PaymentMethod.DIRECT_DEBIT,
    )
    payment_reverse(payment=first, actor=owner, reason="MD06 terugboeking", on=date(2026, 1, 22))
    history = histories(business.organisation, [business.pk])[business.pk]
    assert history.returned_debits == (date(2026, 1, 22),)
    assert history.invoices[0].paid_on is None


def test_the_register_ranks_the_best_payers_first(organisation):
    good = CustomerFactory(organisation=organisation, name="Aannemer Goed")
    bad = CustomerFactory(organisation=organisation, name="Bouw Laat")
    middle = CustomerFactory(organisation=organisation, name="Centrum Soms")
    monthly_invoices(bad, date(2025, 6, 1), 6, days_late=70)
    monthly_invoices(good, date(2025, 6, 1), 6, days_late=0)
    monthly_invoices(middle, date(2025, 6, 1), 6, days_late=8)
    rows = register(organisation, date(2026, 1, 31))
    assert [row.customer.name for row in rows] == ["Aannemer Goed", "Centrum Soms", "Bouw Laat"]
    assert [row.score.grade for row in rows] == ["A", "C", "E"]


def test_a_rule_moves_a_bad_payer_to_prepayment_only_after_acceptance(business, owner):
    monthly_invoices(business, date(2025, 1, 1), 12, days_late=45)
    today = date(2026, 1, 31)
    assert suggestions_refresh(organisation=business.organisation, today=today) == 2
    pending = TermSuggestion.objects.filter(customer=business, status=SuggestionStatus.PENDING)
    assert {s.action for s in pending} == {
        SuggestionAction.PREPAYMENT,
        SuggestionAction.DIRECT_DEBIT_ONLY,
    }
    business.refresh_from_db()
    assert business.status == CustomerStatus.ACTIVE  # nothing applied yet
    assert suggestions_refresh(organisation=business.organisation, today=today) == 0
    prepayment = pending.get(action=SuggestionAction.PREPAYMENT)
    assert prepayment.reason.startswith("grade E: ")
    suggestion_accept(suggestion=prepayment, actor=owner, today=today)
    business.refresh_from_db()
    assert business.status == CustomerStatus.PREPAYMENT
    assert Event.objects.filter(name="plans.suggestion.accepted", customer=business).exists()
    assert Event.objects.filter(name="debtors.customer.status_changed", customer=business).exists()
    direct_debit = pending.get(action=SuggestionAction.DIRECT_DEBIT_ONLY)
    suggestion_reject(suggestion=direct_debit, actor=owner, note="Geen incasso bij deze klant")
    with pytest.raises(ValidationError, match="already decided"):
        suggestion_accept(suggestion=direct_debit, actor=owner, today=today)
    # Paying on time for a year earns the prepayment requirement back, again only on review.
    monthly_invoices(business, date(2026, 1, 1), 12, days_late=0)
    later = date(2027, 1, 31)
    suggestions_refresh(organisation=business.organisation, today=later)
    lift = TermSuggestion.objects.get(
        customer=business, status=SuggestionStatus.PENDING, action=SuggestionAction.LIFT_PREPAYMENT
    )
    suggestion_accept(suggestion=lift, actor=owner, today=later)
    business.refresh_from_db()
    assert business.status == CustomerStatus.ACTIVE


def test_accepting_longer_terms_and_a_discount_updates_the_customer_and_the_terms(business, owner):
    monthly_invoices(business, date(2025, 2, 1), 12, days_late=0)
    today = date(2026, 1, 31)
    suggestions_refresh(organisation=business.organisation, today=today)
    pending = {s.action: s for s in TermSuggestion.objects.filter(status="pending")}
    assert set(pending) == {"longer_term", "early_payment_discount"}
    suggestion_accept(suggestion=pending["longer_term"], actor=owner, today=today)
    suggestion_accept(suggestion=pending["early_payment_discount"], actor=owner, today=today)
    business.refresh_from_db()
    assert business.payment_term_days == 45
    terms = contract_terms_for(business)
    assert terms.payment_term_days == 45
    assert terms.early_discount_percent == D("2")
    assert terms.early_discount_days == 10
    # Nothing changes any more, so nothing is suggested again; stale ones become obsolete.
    assert suggestions_refresh(organisation=business.organisation, today=today) == 0


def test_a_pending_suggestion_that_no_longer_applies_becomes_obsolete(business):
    monthly_invoices(business, date(2025, 2, 1), 12, days_late=0)
    suggestions_refresh(organisation=business.organisation, today=date(2026, 1, 31))
    from tests.factories import issued_invoice

    issued_invoice(business, amount="5000.00", issued_on=date(2026, 1, 5), term=14)
    suggestions_refresh(organisation=business.organisation, today=date(2026, 4, 30))
    statuses = set(TermSuggestion.objects.values_list("status", flat=True))
    assert SuggestionStatus.OBSOLETE in statuses


# ------------------------------------------------------------------- credit, limits, terms


def test_a_credit_limit_below_zero_is_refused(business, owner):
    with pytest.raises(ValidationError) as error:
        credit_limit_set(customer=business, credit_limit="-1.00", actor=owner)
    assert "below zero" in " ".join(error.value.message_dict["credit_limit"])
    credit_limit_set(customer=business, credit_limit="5000.00", actor=owner)
    business.refresh_from_db()
    assert business.credit_limit == D("5000.00")
    credit_limit_set(customer=business, credit_limit=None, actor=owner)
    business.refresh_from_db()
    assert business.credit_limit is None


def test_a_credit_check_warns_when_open_plus_order_exceeds_the_limit(business, owner):
    from tests.factories import issued_invoice

    issued_invoice(business, amount="1000.00", issued_on=date(2026, 1, 5), term=14)  # 1210.00
    credit_limit_set(customer=business, credit_limit="2000.00", actor=owner)
    business.refresh_from_db()
    check = credit_check_run(
        customer=business, order_amount="1000.00", actor=owner, today=date(2026, 1, 10)
    )
    assert check.exceeds_limit
    assert check.open_amount == D("1210.00")
    assert any("exceeds the limit" in r["text"] for r in check.reasons)
    from django.utils import translation

    from betaald.plans.templatetags.plans import worded

    over = next(r for r in check.reasons if r["code"] == "over_limit")
    assert over["values"] == {"exposure": "2210.00", "limit": "2000.00", "points": "+3"}
    with translation.override("nl"):
        assert (
            "openstaand plus deze order (€\u00a02.210,00) overschrijdt de limiet "
            "€\u00a02.000,00 (+3)"
        ) in worded(check.reasons)
    assert Event.objects.filter(name="plans.credit.checked").exists()


def test_a_new_insolvent_customer_needs_prepayment_suggested_for_review(business, owner):
    hold_add(
        customer=business,
        kind=HoldKind.INSOLVENCY,
        actor=owner,
        starts_on=date(2026, 1, 5),
        reason="Faillissement uitgesproken",
    )
    check = credit_check_run(
        customer=business, order_amount="500.00", actor=owner, today=date(2026, 1, 10)
    )
    assert check.risk_class == "very_high"
    assert check.prepayment_required
    assert check.deposit_amount == D("500.00")
    suggestion = TermSuggestion.objects.get(customer=business)
    assert suggestion.action == SuggestionAction.PREPAYMENT
    business.refresh_from_db()
    assert business.status == CustomerStatus.ACTIVE


def test_a_credit_check_notes_problems_with_the_customers_details(organisation, owner):
    customer = CustomerFactory(organisation=organisation, kvk_number="", vat_number="NL12", city="")
    check = credit_check_run(
        customer=customer, order_amount="100.00", actor=owner, today=date(2026, 1, 10)
    )
    assert "the KvK number is missing" in check.problems
    assert "the address is incomplete" in check.problems
    assert any("VAT" in p for p in check.problems)
    with pytest.raises(ValidationError) as error:
        credit_check_run(customer=customer, order_amount="-5", actor=owner, today=date(2026, 1, 10))
    assert "order_amount" in error.value.message_dict


def test_contract_terms_are_recorded_and_read_by_the_selector(business, owner):
    assert contract_terms_for(business) is None
    terms = contract_terms_save(
        customer=business,
        actor=owner,
        document_reference="Offerte 2026-014",
        agreed_on=date(2026, 1, 2),
        general_terms_accepted=True,
        payment_term_days=30,
        late_fee_fixed=D("25.00"),
        interest_clause="contractual",
        contractual_rate=D("12.0000"),
        costs_clause="percent",
        costs_percent=D("15"),
        costs_minimum=D("40.00"),
    )
    assert contract_terms_for(business.pk) == terms
    assert Event.objects.get(name="plans.terms.saved").after["contractual_rate"] == "12.0000"
    with pytest.raises(ValidationError) as error:
        contract_terms_save(customer=business, actor=owner, costs_percent=D("150"))
    assert "costs_percent" in error.value.message_dict
    with pytest.raises(ValidationError):
        contract_terms_save(customer=business, actor=owner, colour="blue")
    with pytest.raises(ValidationError) as error:
        contract_terms_save(
            customer=business, actor=owner, payment_term_days=90, document_reference=""
        )
    assert "payment_term_days" in error.value.message_dict
    assert ContractTerms.objects.get().payment_term_days == 30


def test_the_flags_for_a_new_invoice_show_prepayment_disputes_and_the_limit(business, owner):
    from betaald.debtors.services import customer_set_status
    from betaald.plans.selectors import customer_flags
    from betaald.plans.services import dispute_open
    from tests.factories import issued_invoice

    assert customer_flags(business) == []
    invoice = issued_invoice(business, amount="1000.00", issued_on=date(2026, 1, 5), term=14)
    dispute_open(
        invoice=invoice, reason="quality", description="x", actor=owner, today=date(2026, 1, 20)
    )
    credit_limit_set(customer=business, credit_limit="1500.00", actor=owner)
    customer_set_status(
        customer=business, status=CustomerStatus.PREPAYMENT, actor=owner, reason="grade E"
    )
    contract_terms_save(customer=business, actor=owner, deposit_percent=D("30"))
    business.refresh_from_db()
    flags = customer_flags(business, D("500.00"))
    assert flags == [
        "Prepayment required: ask for payment before the work starts.",
        "Deposit agreed: 30%.",
        "1 open dispute(s).",
        "Open plus this order (1710.00) exceeds the credit limit 1500.00.",
    ]
    customer_set_status(customer=business, status=CustomerStatus.BLOCKED, actor=owner, reason="x")
    assert customer_flags(business)[0] == "Blocked for new work."


def test_a_deposit_invoice_is_drafted_once_for_a_check_that_asks_one(business, owner):
    from betaald.invoices.models import InvoiceStatus
    from betaald.plans.services import deposit_invoice_create

    check = credit_check_run(
        customer=business, order_amount="2000.00", actor=owner, today=date(2026, 1, 10)
    )
    assert check.risk_class == "high"  # unknown age, no limit, no history
    invoice = deposit_invoice_create(assessment=check, actor=owner)
    assert invoice.status == InvoiceStatus.DRAFT
    assert invoice.total_excl_vat == D("600.00")  # 30% deposit
    assert "Deposit of 30% on an order of 2000.00" in invoice.lines.get().description
    assert deposit_invoice_create(assessment=check, actor=owner) == invoice
    credit_limit_set(customer=business, credit_limit="100000.00", actor=owner)
    contract_terms_save(customer=business, actor=owner, founded_on=date(2000, 1, 1))
    business.refresh_from_db()
    low = credit_check_run(
        customer=business, order_amount="100.00", actor=owner, today=date(2026, 1, 10)
    )
    assert low.deposit_amount == D("0.00")
    with pytest.raises(ValidationError):
        deposit_invoice_create(assessment=low, actor=owner)


def test_an_organisation_chooses_its_rules_and_deposits(business, owner):
    from betaald.plans.services import relationship_settings_save

    organisation = business.organisation
    with pytest.raises(ValidationError) as error:
        relationship_settings_save(organisation=organisation, actor=owner, longer_term_days=90)
    assert "longer_term_days" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        relationship_settings_save(organisation=organisation, actor=owner, deposit_high=D("120"))
    assert "deposit_high" in error.value.message_dict
    with pytest.raises(ValidationError):
        relationship_settings_save(organisation=organisation, actor=owner, colour="blue")
    relationship_settings_save(
        organisation=organisation,
        actor=owner,
        suggest_prepayment=False,
        deposit_high=D("50"),
    )
    assert Event.objects.filter(name="plans.settings.saved").count() == 1
    monthly_invoices(business, date(2025, 1, 1), 12, days_late=45)
    suggestions_refresh(organisation=organisation, today=date(2026, 1, 31))
    assert list(TermSuggestion.objects.values_list("action", flat=True)) == [
        SuggestionAction.DIRECT_DEBIT_ONLY
    ]
    relationship_settings_save(organisation=organisation, actor=owner, longer_term_days=30)
    assert Event.objects.get(name="plans.settings.saved", before__isnull=False)
    other = CustomerFactory(organisation=organisation)
    check = credit_check_run(
        customer=other, order_amount="1000.00", actor=owner, today=date(2026, 1, 10)
    )
    assert (check.risk_class, check.deposit_amount) == ("high", D("500.00"))


def test_the_reasons_of_a_score_are_worded_in_the_users_language(business):
    from django.utils import translation

    from betaald.plans.templatetags.plans import WORDING, explain

    monthly_invoices(business, date(2024, 6, 1), 6, days_late=40)
    monthly_invoices(business, date(2025, 6, 1), 6, days_late=0)
    score = customer_score(business, date(2026, 1, 31))
    assert {r.code for r in score.explained} <= set(WORDING)
    assert explain(score) == list(score.reasons)  # English: the core's own words
    with translation.override("nl"):
        worded = explain(score)
    assert worded[0].startswith("gemiddeld 0,0 dagen te laat betaald")  # the Dutch decimal mark
    assert worded[-1].startswith("trend verbetert")


def test_every_reason_the_core_gives_has_a_wording():
    from betaald.core.scoring import History, InvoiceRecord, score
    from betaald.plans.templatetags.plans import WORDING, explain

    day = date(2026, 3, 1)
    late = tuple(
        InvoiceRecord(date(2025, m, 1), D("100.00"), date(2025, m, 1) + timedelta(days=70))
        for m in range(4, 12)
    )
    everything = History(
        invoices=(*late, InvoiceRecord(date(2024, 1, 1), D("5.00"), date(2024, 1, 1))),
        reminders=(date(2025, 12, 1),) * 20,
        broken_promises=(date(2025, 12, 1),) * 3,
        broken_plans=(date(2025, 12, 1),),
        returned_debits=(date(2025, 12, 1),) * 2,
    )
    codes = {r.code for r in score(everything, day).explained}
    codes |= {r.code for r in score(History(), day).explained}
    codes |= {r.code for r in score(History(invoices=late), date(2027, 6, 1)).explained}
    assert codes >= {"no_history", "base_recent", "base_overall", "few_on_time", "trend_worsening"}
    assert codes <= set(WORDING)
    assert all(explain(score(everything, day)))


def test_stored_reasons_of_a_suggestion_are_worded_and_plain_text_is_kept(business):
    from django.utils import translation

    from betaald.plans.templatetags.plans import suggestion_reason, word, worded

    monthly_invoices(business, date(2025, 1, 1), 12, days_late=45)
    suggestions_refresh(organisation=business.organisation, today=date(2026, 1, 31))
    suggestion = TermSuggestion.objects.filter(customer=business).first()
    assert suggestion_reason(suggestion).startswith("grade E: paid on average")
    with translation.override("nl"):
        assert suggestion_reason(suggestion).startswith("score E: gemiddeld")
    suggestion.details = {}
    assert suggestion_reason(suggestion) == suggestion.reason
    suggestion.grade = ""
    suggestion.details = {"reasons": [{"code": "insolvent", "text": "x"}]}
    assert suggestion_reason(suggestion) == "insolvency registered: very high"
    assert worded(["plain", {"code": "unknown", "text": "as is"}]) == ["plain", "as is"]
    assert word("grade", {}, "fallback") == "fallback"  # missing values: the English text
