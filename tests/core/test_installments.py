"""betaald.core.installments: payment plans (betalingsregelingen).

See docs/algorithms/installments.md.
"""

from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.core.errors import DomainError
from betaald.core.installments import (
    MAX_INSTALMENTS,
    Frequency,
    Instalment,
    InvalidPlan,
    PlanPayment,
    PlanState,
    check_instalments,
    due_dates,
    instalments_to_remind,
    plan_status,
    schedule,
)

D = Decimal
TODAY = date(2026, 1, 10)


def amounts(result):
    return [str(i.amount) for i in result.instalments]


def dates(result):
    return [i.due_on.isoformat() for i in result.instalments]


def test_a_number_of_periods_splits_the_total_with_the_larger_instalments_first():
    result = schedule(D("1000.00"), first_on=date(2026, 2, 1), today=TODAY, count=3)
    assert amounts(result) == ["333.34", "333.33", "333.33"]
    assert dates(result) == ["2026-02-01", "2026-03-01", "2026-04-01"]
    assert result.total == D("1000.00")
    assert result.count == 3
    assert result.last_on == date(2026, 4, 1)


def test_an_amount_per_period_gives_a_smaller_last_instalment():
    result = schedule(
        D("1000.00"), first_on=TODAY, today=TODAY, frequency=Frequency.WEEKLY, amount=D("300.00")
    )
    assert amounts(result) == ["300.00", "300.00", "300.00", "100.00"]
    assert dates(result) == ["2026-01-10", "2026-01-17", "2026-01-24", "2026-01-31"]


def test_interest_and_costs_included_by_the_caller_are_part_of_the_total():
    """The caller computed interest (art. 6:119a BW) and costs (BIK) with the legal core."""
    result = schedule(
        D("3000.00"),
        interest=D("12.34"),
        costs=D("425.00"),
        first_on=date(2026, 2, 1),
        today=TODAY,
        count=4,
    )
    assert result.total == D("3437.34")
    assert amounts(result) == ["859.34", "859.34", "859.33", "859.33"]


def test_monthly_dates_keep_the_day_and_clamp_to_the_month_end():
    assert [d.isoformat() for d in due_dates(date(2026, 1, 31), Frequency.MONTHLY, 4)] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
    ]
    assert due_dates(date(2027, 12, 29), Frequency.MONTHLY, 3)[2] == date(2028, 2, 29)


def test_count_and_amount_together_must_cover_the_total():
    result = schedule(D("500.00"), first_on=TODAY, today=TODAY, count=3, amount=D("200.00"))
    assert amounts(result) == ["200.00", "200.00", "100.00"]


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"count": 3, "amount": D("100.00")}, "amount", "3 instalments of 100.00 do not cover"),
        ({"count": 5, "amount": D("250.00")}, "count", "would leave empty instalments"),
        ({}, "count", "give the number of instalments"),
        ({"count": 0}, "count", "1 to 120"),
        ({"count": MAX_INSTALMENTS + 1}, "count", "1 to 120"),
        ({"amount": D("0.00")}, "amount", "more than zero"),
        ({"amount": D("-5.00")}, "amount", "more than zero"),
        ({"amount": D("1.00")}, "amount", "at most 120"),
    ],
)
def test_a_plan_that_does_not_work_out_is_refused_naming_the_field(kwargs, field, text):
    with pytest.raises(InvalidPlan) as error:
        schedule(D("500.00"), first_on=TODAY, today=TODAY, **kwargs)
    assert error.value.field == field
    assert text in error.value.message


def test_a_first_date_in_the_past_is_refused():
    with pytest.raises(InvalidPlan, match="in the past") as error:
        schedule(D("500.00"), first_on=TODAY - timedelta(days=1), today=TODAY, count=2)
    assert error.value.field == "first_on"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"principal": D("0.00")}, "principal"),
        ({"principal": D("-1.00")}, "principal"),
        ({"principal": D("10.00"), "interest": D("-0.01")}, "interest"),
        ({"principal": D("10.00"), "costs": D("-0.01")}, "costs"),
    ],
)
def test_non_positive_principal_and_negative_extras_are_refused(kwargs, field):
    principal = kwargs.pop("principal")
    with pytest.raises(DomainError) as error:
        schedule(principal, first_on=TODAY, today=TODAY, count=2, **kwargs)
    assert error.value.field == field


def test_an_amount_with_more_than_two_decimals_is_refused():
    with pytest.raises(DomainError) as error:
        schedule(D("10.001"), first_on=TODAY, today=TODAY, count=2)
    assert error.value.field == "principal"


def inst(number, day, amount):
    return Instalment(number, day, D(amount))


def test_a_hand_made_schedule_must_cover_the_total_exactly():
    good = [inst(1, TODAY, "50.00"), inst(2, TODAY + timedelta(days=30), "50.00")]
    check_instalments(D("100.00"), good, today=TODAY)
    with pytest.raises(InvalidPlan, match=r"add up to 100\.00, not to the total of 120\.00") as e:
        check_instalments(D("120.00"), good, today=TODAY)
    assert e.value.field == "instalments"


@pytest.mark.parametrize(
    ("instalments", "field", "text"),
    [
        ([], "instalments", "at least one"),
        ([inst(1, TODAY, "0.00")], "instalments", "instalment 1 must be more than zero"),
        (
            [inst(1, TODAY, "50.00"), inst(2, TODAY, "50.00")],
            "instalments",
            "instalment 2 is not after instalment 1",
        ),
        ([inst(1, TODAY - timedelta(days=1), "100.00")], "first_on", "in the past"),
    ],
)
def test_a_bad_hand_made_schedule_is_refused(instalments, field, text):
    with pytest.raises(InvalidPlan) as error:
        check_instalments(D("100.00"), instalments, today=TODAY)
    assert error.value.field == field
    assert text in error.value.message


PLAN = [
    inst(1, date(2026, 2, 1), "100.00"),
    inst(2, date(2026, 3, 1), "100.00"),
    inst(3, date(2026, 4, 1), "100.00"),
]


def pay(day, amount):
    return PlanPayment(day, D(amount))


def test_a_plan_paid_on_time_is_kept_and_names_the_next_instalment():
    status = plan_status(PLAN, [pay(date(2026, 2, 1), "100.00")], date(2026, 2, 15), 3)
    assert status.state is PlanState.KEPT
    assert status.next_instalment == PLAN[1]
    assert (status.paid, status.due_so_far, status.remaining) == (
        D("100.00"),
        D("100.00"),
        D("200.00"),
    )


def test_a_late_instalment_within_grace_is_behind_then_broken_the_day_after_grace():
    status = plan_status(PLAN, [], date(2026, 2, 2), grace_days=3)
    assert status.state is PlanState.BEHIND
    assert status.missed == PLAN[0]
    assert plan_status(PLAN, [], date(2026, 2, 4), grace_days=3).state is PlanState.BEHIND
    broken = plan_status(PLAN, [], date(2026, 2, 5), grace_days=3)
    assert broken.state is PlanState.BROKEN
    assert broken.missed == PLAN[0]
    assert broken.broken_on == date(2026, 2, 5)


def test_a_payment_within_grace_keeps_the_plan():
    payments = [pay(date(2026, 2, 4), "100.00")]
    assert plan_status(PLAN, payments, date(2026, 2, 20), grace_days=3).state is PlanState.KEPT


def test_a_payment_after_the_grace_period_does_not_mend_a_broken_plan():
    payments = [pay(date(2026, 2, 6), "100.00")]
    status = plan_status(PLAN, payments, date(2026, 2, 20), grace_days=3)
    assert status.state is PlanState.BROKEN
    assert status.broken_on == date(2026, 2, 5)


def test_a_short_payment_breaks_the_plan_at_the_instalment_it_does_not_cover():
    payments = [pay(date(2026, 2, 1), "100.00"), pay(date(2026, 3, 1), "60.00")]
    status = plan_status(PLAN, payments, date(2026, 3, 10), grace_days=5)
    assert status.state is PlanState.BROKEN
    assert status.missed == PLAN[1]


def test_paying_ahead_covers_later_instalments():
    payments = [pay(date(2026, 1, 20), "200.00")]
    status = plan_status(PLAN, payments, date(2026, 3, 20), grace_days=0)
    assert status.state is PlanState.KEPT
    assert status.next_instalment == PLAN[2]


def test_the_whole_amount_paid_completes_the_plan_even_after_a_miss():
    payments = [pay(date(2026, 2, 20), "300.00")]
    assert plan_status(PLAN, payments, date(2026, 2, 20)).state is PlanState.COMPLETED
    assert plan_status(PLAN, payments, date(2026, 2, 19)).state is PlanState.BROKEN


def test_payments_after_today_are_ignored():
    payments = [pay(date(2026, 5, 1), "300.00")]
    assert plan_status(PLAN, payments, date(2026, 1, 31)).state is PlanState.KEPT


def test_grace_days_out_of_range_are_refused():
    with pytest.raises(InvalidPlan) as error:
        plan_status(PLAN, [], TODAY, grace_days=-1)
    assert error.value.field == "grace_days"


def test_reminders_are_due_from_days_before_up_to_the_due_date_unless_paid():
    assert instalments_to_remind(PLAN, [], date(2026, 1, 28), 3) == []
    assert instalments_to_remind(PLAN, [], date(2026, 1, 29), 3) == [PLAN[0]]
    assert instalments_to_remind(PLAN, [], date(2026, 2, 1), 3) == [PLAN[0]]
    assert instalments_to_remind(PLAN, [], date(2026, 2, 2), 3) == []
    paid = [pay(date(2026, 1, 25), "100.00")]
    assert instalments_to_remind(PLAN, paid, date(2026, 1, 30), 3) == []


money = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)


@given(
    total=money,
    count=st.integers(min_value=1, max_value=MAX_INSTALMENTS),
    weekly=st.booleans(),
    offset=st.integers(min_value=0, max_value=400),
)
def test_instalments_always_sum_to_the_plan_total(total, count, weekly, offset):
    frequency = Frequency.WEEKLY if weekly else Frequency.MONTHLY
    first = TODAY + timedelta(days=offset)
    if total < D("0.01") * count:
        with pytest.raises(InvalidPlan) as error:
            schedule(total, first_on=first, today=TODAY, count=count, frequency=frequency)
        assert error.value.field == "count"
        return
    result = schedule(total, first_on=first, today=TODAY, count=count, frequency=frequency)
    assert sum(i.amount for i in result.instalments) == total
    assert all(i.amount > 0 for i in result.instalments)
    assert [i.due_on for i in result.instalments] == sorted({i.due_on for i in result.instalments})


@given(total=money, per=money)
def test_an_amount_per_period_sums_to_the_total_too(total, per):
    if (total / per).to_integral_value(rounding=ROUND_CEILING) > MAX_INSTALMENTS:
        with pytest.raises(InvalidPlan) as error:
            schedule(total, first_on=TODAY, today=TODAY, amount=per)
        assert error.value.field == "amount"
        return
    result = schedule(total, first_on=TODAY, today=TODAY, amount=per)
    assert sum(i.amount for i in result.instalments) == total
    assert all(D("0") < i.amount <= per for i in result.instalments)


def test_more_instalments_than_cents_are_refused():
    with pytest.raises(InvalidPlan, match="more than the cents") as error:
        schedule(D("0.02"), first_on=TODAY, today=TODAY, count=3)
    assert error.value.field == "count"
