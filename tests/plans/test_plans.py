"""Payment plans (betalingsregelingen) walked over months of simulated days.

See docs/algorithms/installments.md.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from betaald.audit.models import Event
from betaald.dunning.models import DunningState, Hold, HoldKind
from betaald.letters.models import Message
from betaald.plans.models import InstalmentStatus, OnBreak, PaymentPlan, PlanStatus
from betaald.plans.services import plan_activate, plan_cancel, plan_create, plans_evaluate
from tests.plans.conftest import DUE, invoice_for, pay, steps_of, walk

D = Decimal
START = DUE + timedelta(days=6)  # 2026-01-25: the reminder at +3 has gone out


def make_plan(customer, invoices, actor, **kwargs):
    options = {
        "first_on": date(2026, 2, 1),
        "count": 3,
        "grace_days": 5,
        "activate": True,
    }
    options.update(kwargs)
    return plan_create(
        organisation=customer.organisation,
        customer=customer,
        invoices=invoices,
        actor=actor,
        today=START,
        **options,
    )


def test_a_kept_plan_pauses_dunning_reminds_each_instalment_and_completes(business, owner):
    invoice = invoice_for(business)
    walk(DUE + timedelta(days=1), START - timedelta(days=1))
    assert [s[0] for s in steps_of(invoice)] == ["reminder"]
    plan = make_plan(business, [invoice], owner)
    assert plan.status == PlanStatus.ACTIVE
    assert [str(i.amount) for i in plan.instalments.all()] == ["403.34", "403.33", "403.33"]
    assert Hold.objects.filter(invoice=invoice, kind=HoldKind.PLAN, released_at=None).count() == 1
    assert Message.objects.filter(unique_key=f"plan:{plan.pk}:confirmation").count() == 1
    walk(
        START,
        date(2026, 4, 10),
        payments={
            date(2026, 2, 1): [(business, "403.34")],
            date(2026, 3, 3): [(business, "403.33")],  # within the 5 grace days
            date(2026, 4, 1): [(business, "403.33")],
        },
    )
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    assert plan.ended_on == date(2026, 4, 1)
    assert {i.status for i in plan.instalments.all()} == {InstalmentStatus.PAID}
    assert [s[0] for s in steps_of(invoice)] == ["reminder"]  # no step while the plan ran
    assert not Hold.objects.filter(invoice=invoice, released_at=None).exists()
    reminders = Message.objects.filter(kind="plan_instalment_reminder", customer=business)
    assert reminders.count() == 3
    assert reminders.first().context["instalment"]["number"] in (1, 2, 3)
    assert Event.objects.filter(name="plans.plan.completed", customer=business).count() == 1


def test_a_missed_instalment_breaks_the_plan_after_grace_and_dunning_resumes(business, owner):
    invoice = invoice_for(business)
    walk(DUE + timedelta(days=1), START - timedelta(days=1))
    plan = make_plan(business, [invoice], owner)
    walk(START, date(2026, 3, 6), payments={date(2026, 2, 1): [(business, "403.34")]})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    assert [s[0] for s in steps_of(invoice)] == ["reminder"]
    walk(date(2026, 3, 7), date(2026, 3, 20))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert plan.ended_on == date(2026, 3, 7)
    assert plan.missed_instalment == 2
    assert [i.status for i in plan.instalments.all()] == ["paid", "missed", "open"]
    assert not Hold.objects.filter(invoice=invoice, released_at=None).exists()
    # Dunning resumed the day the plan broke, at the step due now (the earlier ones skipped).
    resumed = [s for s in steps_of(invoice) if s[2] >= date(2026, 3, 7)]
    assert resumed
    assert resumed[0][2] == date(2026, 3, 7)
    event = Event.objects.get(name="plans.plan.broken", customer=business)
    assert event.after["remaining"] == "806.66"
    from betaald.plans.selectors import customer_score

    score = customer_score(business, date(2026, 3, 20))
    assert score.recent.broken_plans == 1
    assert "broken_plans" in {reason.code for reason in score.explained}


def test_a_broken_plan_set_to_review_keeps_dunning_paused(business, owner):
    invoice = invoice_for(business)
    plan = make_plan(business, [invoice], owner, on_break=OnBreak.REVIEW)
    walk(START, date(2026, 2, 20))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert Hold.objects.filter(invoice=invoice, released_at=None, kind=HoldKind.PLAN).exists()
    assert DunningState.objects.get(invoice=invoice).pause == "plan"


def test_the_evaluation_is_idempotent(business, owner):
    invoice = invoice_for(business)
    plan = make_plan(business, [invoice], owner)
    first = plans_evaluate(today=date(2026, 1, 30))
    second = plans_evaluate(today=date(2026, 1, 30))
    assert first.reminders == 1
    assert second.reminders == 0
    walk(date(2026, 2, 7), date(2026, 2, 7))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    again = plans_evaluate(today=date(2026, 2, 7))
    assert again.broken == 0
    assert Event.objects.filter(name="plans.plan.broken").count() == 1


def test_a_plan_over_several_invoices_with_interest_and_costs(business, owner):
    one = invoice_for(business, amount="100.00")
    two = invoice_for(business, amount="200.00")
    plan = make_plan(
        business,
        [one, two],
        owner,
        count=None,
        amount=D("100.00"),
        interest=D("3.21"),
        costs=D("54.45"),
        frequency="weekly",
        activate=False,
    )
    assert plan.status == PlanStatus.PROPOSED
    assert plan.principal == D("363.00")
    assert plan.total == D("420.66")
    assert [str(i.amount) for i in plan.instalments.all()] == [
        "100.00",
        "100.00",
        "100.00",
        "100.00",
        "20.66",
    ]
    assert [i.due_on for i in plan.instalments.all()][:2] == [date(2026, 2, 1), date(2026, 2, 8)]
    assert not Hold.objects.filter(kind=HoldKind.PLAN).exists()
    plan_activate(plan=plan, actor=owner, today=START)
    assert Hold.objects.filter(kind=HoldKind.PLAN, released_at=None).count() == 2
    with pytest.raises(ValidationError) as error:
        make_plan(business, [one], owner)
    assert "invoices" in error.value.message_dict


def test_cancelling_a_plan_releases_its_holds(business, owner):
    invoice = invoice_for(business)
    plan = make_plan(business, [invoice], owner)
    with pytest.raises(ValidationError) as error:
        plan_cancel(plan=plan, actor=owner, today=START, reason=" ")
    assert "reason" in error.value.message_dict
    plan_cancel(plan=plan, actor=owner, today=START, reason="Klant betaalt alles ineens")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
    assert not Hold.objects.filter(invoice=invoice, released_at=None).exists()
    with pytest.raises(ValidationError):
        plan_cancel(plan=plan, actor=owner, today=START, reason="again")
    with pytest.raises(ValidationError):
        plan_activate(plan=plan, actor=owner, today=START)


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        (
            {"count": 3, "amount": D("100.00")},
            "amount",
            "do not cover the total of €\u00a01.210,00",
        ),
        ({"first_on": START - timedelta(days=1)}, "first_on", "in the past"),
        ({"count": 0}, "count", "1 to 120"),
        ({"frequency": "daily"}, "frequency", "weekly or monthly"),
        ({"grace_days": 99}, "grace_days", "0 to 60"),
        ({"on_break": "explode"}, "on_break", "unknown"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(business, owner, kwargs, field, text):
    invoice = invoice_for(business)
    with pytest.raises(ValidationError) as error:
        make_plan(business, [invoice], owner, **kwargs)
    assert field in error.value.message_dict
    assert text in " ".join(error.value.message_dict[field])
    assert not PaymentPlan.objects.exists()


def test_only_open_invoices_of_the_customer_can_be_in_a_plan(business, owner, organisation):
    from tests.factories import CustomerFactory

    other = CustomerFactory(organisation=organisation)
    theirs = invoice_for(other)
    with pytest.raises(ValidationError, match="not the customer's"):
        make_plan(business, [theirs], owner)
    paid = invoice_for(business)
    pay(business, "1210.00", START)
    with pytest.raises(ValidationError, match="already paid"):
        make_plan(business, [paid], owner)
    with pytest.raises(ValidationError, match="at least one invoice"):
        make_plan(business, [], owner)


def test_interest_and_costs_to_date_come_from_the_legal_core_and_the_dunning_letters(
    business, owner
):
    """Art. 6:119a BW: commercial interest from the day after the due date; the costs are what
    the dunning letters claimed (BIK, art. 6:96 BW)."""
    from betaald.core.interest import statutory_interest
    from betaald.core.rates import RateKind
    from betaald.dunning.charges import rate_table
    from betaald.plans.selectors import charges_to_date
    from betaald.plans.services import contract_terms_save

    invoice = invoice_for(business)
    walk(DUE + timedelta(days=1), DUE + timedelta(days=17))
    state = DunningState.objects.get(invoice=invoice)
    today = DUE + timedelta(days=20)
    charges = charges_to_date(business, [invoice], today)
    expected = statutory_interest(
        D("1210.00"), DUE + timedelta(days=1), today, rate_table(RateKind.COMMERCIAL)
    ).interest
    assert charges.interest == expected
    assert charges.interest > 0
    assert charges.costs == state.costs_claimed + state.late_fee_charged
    assert charges.costs == D("181.50")  # BIK staffel: 15% of 1,210.00
    contract_terms_save(
        customer=business, actor=owner, interest_clause="contractual", contractual_rate=D("12")
    )
    contractual = charges_to_date(business, [invoice], today)
    assert contractual.interest == D("7.96")  # 1,210.00 x 12% x 20/365, rounded once
    contract_terms_save(customer=business, actor=owner, interest_clause="none")
    assert charges_to_date(business, [invoice], today).interest == D("0.00")


def test_a_consumer_owes_no_interest_in_a_plan_before_verzuim(organisation):
    from betaald.plans.selectors import charges_to_date
    from tests.factories import CustomerFactory

    consumer = CustomerFactory(organisation=organisation, kind="consumer", kvk_number="")
    invoice = invoice_for(consumer)
    charges = charges_to_date(consumer, [invoice], DUE + timedelta(days=10))
    assert (charges.interest, charges.costs) == (D("0.00"), D("0.00"))


def test_a_plan_including_interest_and_costs_completes_when_the_total_is_paid(business, owner):
    """The included interest and costs are on no invoice: the money for them stays unapplied
    with the customer and still counts towards the plan."""
    invoice = invoice_for(business)
    plan = make_plan(business, [invoice], owner, interest=D("10.00"), costs=D("40.00"), count=2)
    assert plan.total == D("1260.00")
    walk(
        START,
        date(2026, 3, 10),
        payments={
            date(2026, 2, 1): [(business, "630.00")],
            date(2026, 3, 1): [(business, "630.00")],
        },
    )
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED


def test_a_credit_note_counts_towards_the_plan(business, owner):
    from betaald.invoices.services import credit_note_create

    invoice = invoice_for(business)
    plan = make_plan(business, [invoice], owner, count=2)
    credit_note_create(invoice=invoice, actor=owner, issued_on=START, reason="Niet geleverd")
    plans_evaluate(today=START)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED


def test_a_broken_plan_on_review_resumes_dunning_when_the_controller_says_so(business, owner):
    from betaald.plans.services import plan_resume_dunning

    invoice = invoice_for(business)
    plan = make_plan(business, [invoice], owner, on_break=OnBreak.REVIEW)
    with pytest.raises(ValidationError):
        plan_resume_dunning(plan=plan, actor=owner, today=START, reason="x")
    walk(START, date(2026, 2, 10))
    with pytest.raises(ValidationError):
        plan_resume_dunning(plan=plan, actor=owner, today=date(2026, 2, 10), reason="")
    plan_resume_dunning(plan=plan, actor=owner, today=date(2026, 2, 10), reason="Geen contact")
    assert not Hold.objects.filter(invoice=invoice, released_at=None).exists()
    walk(date(2026, 2, 11), date(2026, 2, 11))
    assert steps_of(invoice)[-1][2] == date(2026, 2, 11)


@pytest.mark.parametrize(
    ("amounts", "options"),
    [
        (["1000.00"], {"count": 7}),
        (["333.33", "0.01"], {"count": 12, "frequency": "weekly"}),
        (["999.99", "1.01", "10.00"], {"amount": D("97.13")}),
        (["0.10"], {"count": 1, "interest": D("0.01"), "costs": D("40.00")}),
    ],
)
def test_the_stored_instalments_sum_to_the_plan_total(business, owner, amounts, options):
    invoices = [invoice_for(business, amount=amount) for amount in amounts]
    plan = make_plan(business, invoices, owner, **{"count": None, **options})
    stored = sum(i.amount for i in plan.instalments.all())
    assert stored == plan.total == plan.principal + plan.interest + plan.costs
    assert plan.principal == sum(i.total for i in invoices)
