"""betaald.core.scoring: payment behaviour, risk and adaptive terms.

See docs/algorithms/scoring.md (all thresholds are the project's conventions).
"""

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.core.scoring import (
    DEFAULT_RULES,
    CurrentTerms,
    DepositPolicy,
    History,
    InvalidInput,
    InvoiceRecord,
    RiskClass,
    RiskInput,
    TermAction,
    TermRule,
    Trend,
    credit_check,
    metrics,
    risk_score,
    score,
    suggest_terms,
)

D = Decimal
TODAY = date(2026, 6, 30)


def paid(due, days_late, amount="100.00"):
    return InvoiceRecord(due, D(amount), due + timedelta(days=days_late))


def monthly(count, days_late, start=date(2025, 8, 1), amount="100.00"):
    return tuple(paid(start + timedelta(days=30 * i), days_late, amount) for i in range(count))


def test_average_and_amount_weighted_days_late_and_share_on_time():
    history = History(
        invoices=(
            paid(date(2026, 1, 1), 0, "100.00"),
            paid(date(2026, 2, 1), 10, "900.00"),
            paid(date(2026, 3, 1), 2, "100.00"),
        )
    )
    result = metrics(history, TODAY)
    assert result.invoices == 3
    assert result.average_days_late == D("4.0")
    assert result.weighted_days_late == D("8.4")  # (0*100 + 10*900 + 2*100) / 1100 = 8.36
    assert result.on_time_percent == D("33.3")


def test_an_open_invoice_counts_late_up_to_today_and_one_not_due_is_left_out():
    history = History(
        invoices=(
            InvoiceRecord(date(2026, 6, 20), D("100.00")),
            InvoiceRecord(date(2026, 7, 20), D("100.00")),
            InvoiceRecord(TODAY, D("100.00")),  # due today: not late yet
            # paid after today: open on today
            InvoiceRecord(date(2026, 6, 25), D("100.00"), date(2026, 7, 3)),
        )
    )
    result = metrics(history, TODAY)
    assert result.invoices == 2
    assert result.average_days_late == D("7.5")


def test_an_empty_history_has_zero_metrics_and_the_neutral_grade_c():
    result = score(History(), TODAY)
    assert result.grade == "C"
    assert result.reasons == ("no invoice due yet: neutral grade C",)
    assert result.trend is Trend.UNKNOWN
    assert result.metrics.invoices == 0


def test_zero_amount_invoices_fall_back_to_the_plain_average():
    history = History(invoices=(paid(date(2026, 1, 1), 4, "0.00"),))
    assert metrics(history, TODAY).weighted_days_late == D("4.0")


@pytest.mark.parametrize(
    ("days_late", "grade"),
    [
        (0, "A"),
        (2, "A"),
        (3, "B"),
        (10, "B"),
        (11, "C"),
        (30, "C"),
        (31, "D"),
        (60, "D"),
        (61, "E"),
    ],
)
def test_the_base_grade_follows_the_weighted_days_late(days_late, grade):
    history = History(invoices=monthly(10, days_late))
    result = score(history, TODAY)
    expected = grade
    if days_late > 0:  # nothing paid on time: one grade down
        expected = "ABCDEE"["ABCDE".index(grade) + 1]
    assert result.grade == expected


def test_penalties_each_take_a_grade_off_and_never_go_below_e():
    base = monthly(10, 0)
    assert score(History(invoices=base), TODAY).grade == "A"
    one = History(invoices=base, broken_promises=(date(2026, 3, 1),))
    assert score(one, TODAY).grade == "B"
    three = History(invoices=base, broken_promises=(date(2026, 3, 1),) * 3)
    assert score(three, TODAY).grade == "C"
    plan = History(invoices=base, broken_plans=(date(2026, 3, 1),))
    assert score(plan, TODAY).grade == "B"
    debits = History(invoices=base, returned_debits=(date(2026, 3, 1), date(2026, 4, 1)))
    assert score(debits, TODAY).grade == "B"
    reminders = History(invoices=base, reminders=(date(2026, 3, 1),) * 20)
    assert score(reminders, TODAY).grade == "B"
    everything = History(
        invoices=monthly(10, 90),
        broken_promises=(date(2026, 3, 1),) * 3,
        broken_plans=(date(2026, 3, 1),),
    )
    result = score(everything, TODAY)
    assert result.grade == "E"
    assert any("broken payment plan" in r for r in result.reasons)


def test_events_older_than_twelve_months_no_longer_count():
    history = History(invoices=monthly(10, 0), broken_promises=(date(2025, 6, 1),))
    assert score(history, TODAY).grade == "A"
    assert score(history, TODAY).metrics.broken_promises == 1


def test_without_recent_invoices_the_grade_comes_from_all_of_them():
    history = History(invoices=monthly(5, 40, start=date(2023, 1, 1)))
    result = score(history, TODAY)
    assert result.grade == "E"
    assert "overall" in result.reasons[0]


def test_the_trend_compares_the_last_twelve_months_with_before():
    late_before = monthly(6, 40, start=date(2024, 6, 1))
    improving = score(History(invoices=late_before + monthly(6, 0)), TODAY)
    assert improving.trend is Trend.IMPROVING
    assert improving.trend_days == D("-40.0")
    worsening = score(
        History(invoices=monthly(6, 0, start=date(2024, 6, 1)) + monthly(6, 20)), TODAY
    )
    assert worsening.trend is Trend.WORSENING
    stable = score(History(invoices=monthly(6, 1, start=date(2024, 6, 1)) + monthly(6, 2)), TODAY)
    assert stable.trend is Trend.STABLE
    assert "trend stable" in stable.reasons[-1]


invoice = st.builds(
    InvoiceRecord,
    due_on=st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31)),
    amount=st.decimals(min_value=D("0.00"), max_value=D("100000"), places=2),
    paid_on=st.one_of(st.none(), st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 3, 1))),
)
days = st.lists(st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31)), max_size=6)


@given(
    invoices=st.lists(invoice, max_size=25),
    reminders=days,
    broken=days,
    plans=days,
    debits=days,
    seed=st.integers(),
)
def test_the_score_is_deterministic_for_the_same_history_in_any_order(
    invoices, reminders, broken, plans, debits, seed
):
    history = History(
        tuple(invoices), tuple(reminders), tuple(broken), (), tuple(plans), tuple(debits)
    )
    shuffled = list(invoices)
    random.Random(seed).shuffle(shuffled)
    again = History(
        tuple(shuffled), tuple(reversed(reminders)), tuple(broken), (), tuple(plans), tuple(debits)
    )
    assert score(history, TODAY) == score(again, TODAY)
    assert score(history, TODAY).grade in "ABCDE"


# ------------------------------------------------------------------------ credit and risk


def test_the_credit_check_warns_when_open_plus_the_order_exceeds_the_limit():
    check = credit_check(D("800.00"), D("300.00"), D("1000.00"))
    assert check.exceeds_limit
    assert check.exposure == D("1100.00")
    assert check.headroom == D("-100.00")
    assert not credit_check(D("700.00"), D("300.00"), D("1000.00")).exceeds_limit
    unlimited = credit_check(D("1E+6"), D("1.00"), None)
    assert not unlimited.exceeds_limit
    assert unlimited.headroom is None


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((D("0.00"), D("1.00"), D("-0.01")), "credit_limit"),
        ((D("0.00"), D("-1.00"), D("10.00")), "order_amount"),
    ],
)
def test_a_negative_credit_limit_or_order_is_refused(args, field):
    with pytest.raises(InvalidInput) as error:
        credit_check(*args)
    assert error.value.field == field
    assert "below zero" in error.value.message or "negative" in error.value.message


def test_a_new_unknown_company_without_limit_is_medium_risk():
    result = risk_score(RiskInput(order_amount=D("1000.00")), TODAY)
    assert result.points == 3
    assert result.risk_class is RiskClass.HIGH
    assert result.deposit_percent == D("30")
    assert result.deposit_amount == D("300.00")
    assert not result.prepayment_required


@pytest.mark.parametrize(
    ("data", "points", "risk"),
    [
        (
            RiskInput(
                D("100.00"), credit_limit=D("5000.00"), founded_on=date(2000, 1, 1), grade="A"
            ),
            -1,
            RiskClass.LOW,
        ),
        (
            RiskInput(
                D("100.00"), credit_limit=D("5000.00"), founded_on=date(2024, 1, 1), grade="B"
            ),
            1,
            RiskClass.MEDIUM,
        ),
        (
            RiskInput(
                D("900.00"),
                open_amount=D("0.00"),
                credit_limit=D("1000.00"),
                founded_on=date(2000, 1, 1),
                grade="C",
            ),
            2,
            RiskClass.MEDIUM,
        ),
        (
            RiskInput(
                D("900.00"),
                open_amount=D("500.00"),
                credit_limit=D("1000.00"),
                founded_on=date(2026, 1, 1),
                grade="E",
            ),
            8,
            RiskClass.VERY_HIGH,
        ),
    ],
)
def test_risk_points_add_up_to_a_class(data, points, risk):
    result = risk_score(data, TODAY)
    assert (result.points, result.risk_class) == (points, risk)


def test_insolvency_or_a_block_makes_the_risk_very_high_and_requires_prepayment():
    data = RiskInput(D("100.00"), credit_limit=D("5000.00"), founded_on=date(2000, 1, 1), grade="A")
    for flags in ({"is_insolvent": True}, {"is_blocked": True}):
        result = risk_score(replace(data, **flags), TODAY)
        assert result.risk_class is RiskClass.VERY_HIGH
        assert result.prepayment_required
        assert result.deposit_amount == D("100.00")


def test_deposit_percentages_are_configurable_per_class():
    policy = DepositPolicy(low=D("10"))
    data = RiskInput(D("250.00"), credit_limit=D("5000.00"), founded_on=date(2000, 1, 1), grade="A")
    assert risk_score(data, TODAY, policy).deposit_amount == D("25.00")


def test_an_unknown_grade_is_refused():
    with pytest.raises(InvalidInput) as error:
        risk_score(RiskInput(D("1.00"), grade="F"), TODAY)
    assert error.value.field == "grade"


# ------------------------------------------------------------------------ adaptive terms


def graded(grade):
    history = {
        "A": History(invoices=monthly(10, 0)),
        "B": History(invoices=monthly(10, 0), broken_promises=(date(2026, 3, 1),)),
        "C": History(invoices=monthly(10, 0), broken_promises=(date(2026, 3, 1),) * 3),
        "D": History(invoices=monthly(10, 20)),
        "E": History(invoices=monthly(10, 40)),
    }[grade]
    result = score(history, TODAY)
    assert result.grade == grade
    return result


def actions(suggestions):
    return [s.action for s in suggestions]


def test_an_a_customer_is_offered_a_longer_term_and_an_early_payment_discount():
    current = CurrentTerms(payment_term_days=30, customer_since=date(2025, 1, 1))
    result = suggest_terms(graded("A"), current, TODAY)
    assert actions(result) == [TermAction.LONGER_TERM, TermAction.EARLY_PAYMENT_DISCOUNT]
    assert result[0].payment_term_days == 45
    assert result[0].reason.startswith("grade A: ")


def test_a_long_standing_good_customer_is_offered_direct_debit():
    recent = CurrentTerms(payment_term_days=45, customer_since=TODAY - timedelta(days=100))
    assert TermAction.OFFER_DIRECT_DEBIT not in actions(suggest_terms(graded("B"), recent, TODAY))
    loyal = CurrentTerms(payment_term_days=45, customer_since=date(2020, 1, 1))
    assert actions(suggest_terms(graded("B"), loyal, TODAY)) == [TermAction.OFFER_DIRECT_DEBIT]
    unknown = CurrentTerms(payment_term_days=45)
    assert suggest_terms(graded("B"), unknown, TODAY) == ()


def test_a_d_or_e_customer_gets_prepayment_or_direct_debit_only_suggested():
    current = CurrentTerms(payment_term_days=30)
    for grade in "DE":
        assert actions(suggest_terms(graded(grade), current, TODAY)) == [
            TermAction.PREPAYMENT,
            TermAction.DIRECT_DEBIT_ONLY,
        ]
    already = CurrentTerms(payment_term_days=30, status="prepayment", direct_debit_only=True)
    assert suggest_terms(graded("E"), already, TODAY) == ()


def test_a_recovered_customer_gets_prepayment_lifted_and_nothing_is_suggested_twice():
    current = CurrentTerms(
        payment_term_days=45,
        status="prepayment",
        has_direct_debit=True,
        early_discount_percent=D("2"),
    )
    assert actions(suggest_terms(graded("A"), current, TODAY)) == [TermAction.LIFT_PREPAYMENT]
    active = CurrentTerms(
        payment_term_days=45, has_direct_debit=True, early_discount_percent=D("2")
    )
    assert suggest_terms(graded("A"), active, TODAY) == ()
    assert suggest_terms(graded("C"), CurrentTerms(payment_term_days=14), TODAY) == ()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"grades": frozenset(), "action": TermAction.PREPAYMENT}, "grades"),
        ({"grades": frozenset({"F"}), "action": TermAction.PREPAYMENT}, "grades"),
        ({"grades": frozenset({"A"}), "action": TermAction.LONGER_TERM}, "payment_term_days"),
        (
            {"grades": frozenset({"A"}), "action": TermAction.LONGER_TERM, "payment_term_days": 61},
            "payment_term_days",
        ),
        (
            {"grades": frozenset({"A"}), "action": TermAction.EARLY_PAYMENT_DISCOUNT},
            "discount_percent",
        ),
        (
            {
                "grades": frozenset({"A"}),
                "action": TermAction.EARLY_PAYMENT_DISCOUNT,
                "discount_percent": D("100"),
                "discount_days": 10,
            },
            "discount_percent",
        ),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused(kwargs, field):
    with pytest.raises(InvalidInput) as error:
        TermRule("x", **kwargs)
    assert error.value.field == field


def test_the_default_rules_are_valid_and_named():
    assert len({rule.code for rule in DEFAULT_RULES}) == len(DEFAULT_RULES)
