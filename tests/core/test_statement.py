"""betaald.core.statement: the rentenota (art. 6:44, 6:119, 6:119a BW)."""

import calendar
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betaald.core.errors import InvalidAmount, InvalidPeriod
from betaald.core.interest import statutory_interest
from betaald.core.statement import CapitalisationEvent, Payment, PaymentEvent, claim_statement
from tests.core.test_interest import ROWS

D = Decimal


def test_the_issue_example(statutory):
    """Art. 6:44 lid 1 BW split, art. 6:119 lid 2 BW capitalisation
    (docs/algorithms/statement.md, example)."""
    result = claim_statement(
        principal="3000.00",
        interest_from=date(2014, 5, 29),
        costs="100.00",
        payments=[Payment(date(2014, 12, 12), D("1500.00"))],
        until=date(2015, 9, 30),
        table=statutory,
    )
    assert result.events == (
        PaymentEvent(
            date(2014, 12, 12), D("1500.00"), D("100.00"), D("48.82"), D("1351.18"), D("0.00")
        ),
        CapitalisationEvent(date(2015, 5, 29), D("15.95")),
    )
    state = result.state
    assert (state.on, state.costs, state.interest, state.principal, state.total) == (
        date(2015, 9, 30),
        D("0.00"),
        D("11.40"),
        D("1664.77"),
        D("1676.17"),
    )


def test_without_payments_the_statement_equals_the_interest_calculation(statutory):
    """The same conventions everywhere: calc statement and calc interest agree."""
    result = claim_statement(
        principal="1000.00",
        interest_from=date(2019, 3, 15),
        costs="0.00",
        payments=[],
        until=date(2024, 6, 29),
        table=statutory,
    )
    interest = statutory_interest(D("1000.00"), date(2019, 3, 15), date(2024, 6, 29), statutory)
    capitalised = [row.interest for row in interest.years if row.capitalised]
    assert [event.amount for event in result.events] == capitalised
    assert result.state.total == interest.total


def test_on_an_anniversary_capitalise_first_then_apply_the_payment(statutory):
    """Art. 6:119 lid 2 BW: interest up to the day before is capitalised, then the payment
    settles the anniversary's own day of interest and is split costs -> interest -> principal."""
    result = claim_statement(
        principal="36500.00",
        interest_from=date(2015, 1, 1),
        costs="0.00",
        payments=[Payment(date(2016, 1, 1), D("100.00"))],
        until=date(2016, 1, 1),
        table=statutory,
    )
    # 2015 at 2 %: 730.00 capitalised on 2016-01-01; that day bears 37230 x 2 % / 365 = 2.04
    assert result.events == (
        CapitalisationEvent(date(2016, 1, 1), D("730.00")),
        PaymentEvent(date(2016, 1, 1), D("100.00"), D("0.00"), D("2.04"), D("97.96"), D("0.00")),
    )
    assert result.state.principal == D("37132.04")
    assert result.state.interest == D("0.00")


def test_a_payment_day_bears_interest_and_the_surplus_is_unapplied(statutory):
    """Art. 6:119a lid 1 BW "tot en met de dag": the payment settles interest including its day."""
    result = claim_statement(
        principal="36500.00",
        interest_from=date(2015, 1, 1),
        costs="0.00",
        payments=[Payment(date(2015, 1, 1), D("40000.00")), Payment(date(2015, 1, 5), D("1.00"))],
        until=date(2015, 1, 10),
        table=statutory,
    )
    first, second = result.events
    assert (first.interest, first.principal, first.unapplied) == (
        D("2.00"),
        D("36500.00"),
        D("3498.00"),
    )
    assert (second.interest, second.principal, second.unapplied) == (
        D("0.00"),
        D("0.00"),
        D("1.00"),
    )
    assert result.state.total == D("0.00")


def test_unpaid_interest_rounded_at_a_payment_joins_the_next_capitalisation(statutory):
    """Art. 6:119 lid 2 BW: interest not paid at a payment is capitalised at the anniversary."""
    result = claim_statement(
        principal="36500.00",
        interest_from=date(2015, 1, 1),
        costs="50.00",
        payments=[Payment(date(2015, 6, 30), D("10.00"))],
        until=date(2016, 1, 1),
        table=statutory,
    )
    payment, capitalisation = result.events
    assert (payment.costs, payment.interest) == (D("10.00"), D("0.00"))
    assert capitalisation == CapitalisationEvent(date(2016, 1, 1), D("730.00"))
    assert result.state.costs == D("40.00")


def test_early_payments_accrue_nothing_and_zero_capitalisations_are_not_listed(statutory):
    result = claim_statement(
        principal="100.00",
        interest_from=date(2015, 1, 1),
        costs="0.00",
        payments=[Payment(date(2014, 12, 1), D("100.00"))],
        until=date(2017, 1, 1),
        table=statutory,
    )
    assert [event.type for event in result.events] == ["payment"]
    assert result.state.total == D("0.00")


def test_simple_statement_never_capitalises(statutory):
    result = claim_statement(
        principal="36500.00",
        interest_from=date(2015, 1, 1),
        costs="0.00",
        payments=[Payment(date(2014, 1, 1), D("1.00"))],
        until=date(2016, 12, 31),
        table=statutory,
        compound=False,
    )
    assert [event.type for event in result.events] == ["payment"]
    # 731 days (2016 is a leap year) x 2.00 on 36,499.00
    assert result.state.interest == D("1461.96")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"principal": "-1.00"}, "principal"),
        ({"costs": "-1.00"}, "costs"),
        ({"until": date(2014, 12, 30)}, "until"),
        ({"payments": [Payment(date(2015, 1, 2), D("0.00"))]}, "payments[0].amount"),
        ({"payments": [Payment(date(2016, 1, 2), D("1.00"))]}, "payments[0].on"),
    ],
)
def test_bad_input_names_the_field(statutory, kwargs, field):
    arguments = {
        "principal": "100.00",
        "interest_from": date(2015, 1, 1),
        "costs": "0.00",
        "payments": [],
        "until": date(2016, 1, 1),
        "table": statutory,
    } | kwargs
    with pytest.raises((InvalidAmount, InvalidPeriod)) as error:
        claim_statement(**arguments)
    assert error.value.field == field


@settings(max_examples=40, deadline=None)
@given(
    principal=st.integers(min_value=0, max_value=10**7),
    costs=st.integers(min_value=0, max_value=10**5),
    payments=st.lists(
        st.tuples(
            st.dates(min_value=date(2019, 1, 1), max_value=date(2024, 12, 31)),
            st.integers(min_value=1, max_value=10**6),
        ),
        max_size=5,
    ),
)
def test_every_payment_is_split_exactly_and_the_state_is_never_negative(
    statutory, principal, costs, payments
):
    """Art. 6:44 BW: each payment's parts add up to it; nothing owed becomes negative."""
    result = claim_statement(
        principal=D(principal) / 100,
        interest_from=date(2019, 1, 1),
        costs=D(costs) / 100,
        payments=[Payment(day, D(cents) / 100) for day, cents in payments],
        until=date(2024, 12, 31),
        table=statutory,
    )
    for event in result.events:
        if isinstance(event, PaymentEvent):
            assert event.costs + event.interest + event.principal + event.unapplied == event.amount
            assert min(event.costs, event.interest, event.principal, event.unapplied) >= 0
        else:
            assert event.amount > 0
    assert min(result.state.costs, result.state.interest, result.state.principal) >= 0
    days = [event.on for event in result.events]
    assert days == sorted(days)


@settings(max_examples=40, deadline=None)
@given(
    cents=st.integers(min_value=0, max_value=10**8),
    first=st.dates(min_value=date(2003, 1, 1), max_value=date(2024, 12, 31)),
    length=st.integers(min_value=0, max_value=2500),
    kind=st.sampled_from(["statutory", "commercial"]),
)
def test_a_statement_without_payments_ends_in_the_interest_total(
    statutory, commercial, cents, first, length, kind
):
    """One convention everywhere: the rentenota and the interest calculation agree."""
    table = statutory if kind == "statutory" else commercial
    until = min(first + timedelta(days=length), date(2026, 6, 30))
    principal = D(cents) / 100
    result = claim_statement(
        principal=principal,
        interest_from=first,
        costs="0.00",
        payments=[],
        until=until,
        table=table,
    )
    expected = statutory_interest(principal, first, until, table)
    assert result.state.total == expected.total
    assert [event.amount for event in result.events] == [
        row.interest for row in expected.years if row.capitalised and row.interest > 0
    ]


# --- an independent day-by-day simulation of the rentenota ---------------------------------


def _half_up(value):
    return D(int(abs(value) * 100 + Fraction(1, 2))) / 100


def naive_statement(rows, principal, first, costs, payments, until):
    """Day by day: capitalise at the start of an anniversary, accrue the day, then apply the
    day's payments (costs, interest, principal)."""
    principal, costs, unpaid, accrued = D(principal), D(costs), D("0.00"), Fraction(0)
    events = []
    day = min([first, *(on for on, _ in payments)])
    while day <= until:
        if day > first and (
            (day.month, day.day) == (first.month, first.day)
            or (
                ((first.month, first.day) == (2, 29) and (day.month, day.day) == (2, 28))
                and not calendar.isleap(day.year)
            )
        ):
            amount = unpaid + _half_up(accrued)
            principal, unpaid, accrued = principal + amount, D("0.00"), Fraction(0)
            if amount:
                events.append(("capitalisation", day, amount))
        if day >= first:
            percent = [rate for since, rate in rows if since <= day][-1]
            accrued += Fraction(principal) * Fraction(percent) / 100 / 365
        for on, amount in payments:
            if on == day:
                unpaid, accrued = unpaid + _half_up(accrued), Fraction(0)
                to_costs = min(amount, costs)
                to_interest = min(amount - to_costs, unpaid)
                to_principal = min(amount - to_costs - to_interest, principal)
                costs, unpaid, principal = (
                    costs - to_costs,
                    unpaid - to_interest,
                    principal - to_principal,
                )
                events.append(("payment", day, to_costs, to_interest, to_principal))
        day += timedelta(days=1)
    return events, (costs, unpaid + _half_up(accrued), principal)


@settings(max_examples=40, deadline=None)
@given(
    principal=st.integers(min_value=0, max_value=10**7),
    costs=st.integers(min_value=0, max_value=10**5),
    first=st.dates(min_value=date(2012, 1, 1), max_value=date(2020, 12, 31)),
    payments=st.lists(
        st.tuples(
            st.integers(min_value=-30, max_value=2000), st.integers(min_value=1, max_value=10**6)
        ),
        max_size=4,
    ),
    length=st.integers(min_value=0, max_value=2000),
)
def test_the_statement_matches_a_day_by_day_simulation(
    statutory, principal, costs, first, payments, length
):
    """Cross-check of art. 6:44, 6:119 lid 2 BW and the payment-day convention."""
    until = first + timedelta(days=length)
    dated = sorted(
        ((first + timedelta(days=offset), D(cents) / 100) for offset, cents in payments),
        key=lambda item: item[0],
    )
    dated = [(on, amount) for on, amount in dated if on <= until]
    result = claim_statement(
        principal=D(principal) / 100,
        interest_from=first,
        costs=D(costs) / 100,
        payments=[Payment(on, amount) for on, amount in dated],
        until=until,
        table=statutory,
    )
    events, state = naive_statement(
        ROWS["statutory"], D(principal) / 100, first, D(costs) / 100, dated, until
    )
    mine = [
        ("capitalisation", event.on, event.amount)
        if isinstance(event, CapitalisationEvent)
        else ("payment", event.on, event.costs, event.interest, event.principal)
        for event in result.events
    ]
    assert mine == events
    assert (result.state.costs, result.state.interest, result.state.principal) == state
