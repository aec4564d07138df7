"""betaald.core.interest: statutory (art. 6:119 BW), commercial (6:119a) and agreed interest."""

import calendar
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betaald.core.errors import InvalidAmount, InvalidPeriod
from betaald.core.interest import (
    InterestYear,
    RatePer,
    commercial_interest,
    contractual_interest,
    statutory_interest,
)
from betaald.core.rates import StaleRate
from tests.core.conftest import DATA


def test_statutory_example_of_the_docs(statutory):
    """Art. 6:119 lid 2 BW: yearly capitalisation from the first interest day
    (docs/algorithms/interest.md, example 1)."""
    result = statutory_interest(Decimal("1000.00"), date(2019, 3, 15), date(2024, 6, 29), statutory)
    assert (result.days, result.interest, result.total) == (
        1934,
        Decimal("171.44"),
        Decimal("1171.44"),
    )
    assert [(row.first_day, row.interest, row.capitalised) for row in result.years] == [
        (date(2019, 3, 15), Decimal("20.05"), True),  # 366 days: 29 Feb 2020, still / 365
        (date(2020, 3, 15), Decimal("20.40"), True),
        (date(2021, 3, 15), Decimal("20.81"), True),
        (date(2022, 3, 15), Decimal("25.47"), True),
        (date(2023, 3, 15), Decimal("61.15"), True),
        (date(2024, 3, 15), Decimal("23.56"), False),
    ]
    assert result.years[-1].last_day == date(2024, 6, 29)
    assert result.years[1].base == Decimal("1020.05")
    assert result.years[0].days == 366


def test_simple_interest_is_one_row_rounded_once(statutory):
    """Art. 6:119 BW without capitalisation (claims from before 1992; the --simple option)."""
    result = statutory_interest(
        Decimal("1000.00"), date(2019, 3, 15), date(2024, 6, 29), statutory, compound=False
    )
    assert result.interest == Decimal("160.85")
    assert result.years == (
        InterestYear(
            date(2019, 3, 15), date(2024, 6, 29), Decimal("160.85"), False, Decimal("1000.00")
        ),
    )


def test_a_full_year_ending_on_the_last_day_is_not_capitalised(commercial):
    """Art. 6:119a lid 3 BW: capitalisation happens on the anniversary, which is after --to
    (docs/algorithms/interest.md, example 2)."""
    result = commercial_interest(
        Decimal("1000.00"), date(2023, 1, 1), date(2023, 12, 31), commercial
    )
    # 181 days at 10.50 % + 184 days at 12.00 %, exact: 52.0685 + 60.4932 = 112.5616...
    assert result.interest == Decimal("112.56")
    assert [row.capitalised for row in result.years] == [False]
    assert [(part.percent, part.days) for part in result.segments] == [
        (Decimal("10.50"), 181),
        (Decimal("12.00"), 184),
    ]
    one_more = commercial_interest(
        Decimal("1000.00"), date(2023, 1, 1), date(2024, 1, 1), commercial
    )
    assert [row.capitalised for row in one_more.years] == [True, False]
    assert one_more.years[1].base == Decimal("1112.56")


def test_one_day_of_interest(commercial):
    """First and last day are both inclusive: from == to is one day."""
    result = commercial_interest(
        Decimal("36500.00"), date(2024, 1, 1), date(2024, 1, 1), commercial
    )
    assert (result.days, result.interest) == (1, Decimal("12.50"))


def test_leap_years_still_divide_by_365(statutory):
    """Convention (docs/algorithms/interest.md): daily interest = base x rate / 365."""
    result = statutory_interest(
        Decimal("36500.00"), date(2024, 1, 1), date(2024, 12, 31), statutory
    )
    assert result.days == 366
    assert result.interest == Decimal("2562.00")  # 366 days x 7.00


def test_29_february_anniversaries_fall_on_28_february(statutory):
    """Art. 6:119 lid 2 BW with the 29 Feb -> 28 Feb convention; always from the first day."""
    result = statutory_interest(Decimal("1000.00"), date(2020, 2, 29), date(2024, 3, 1), statutory)
    assert [row.first_day for row in result.years] == [
        date(2020, 2, 29),
        date(2021, 2, 28),
        date(2022, 2, 28),
        date(2023, 2, 28),
        date(2024, 2, 29),
    ]


def test_exact_accrual_is_rounded_half_up_only_at_the_end():
    """Convention: accrue exactly, round HALF_UP once; 0.005 becomes 0.01."""
    # 1.00 x 18.25 % x 1 / 365 = 0.0005 -> 0.00; 10.00 x 18.25 % / 365 = 0.005 -> 0.01
    low = contractual_interest(
        Decimal("1.00"), date(2024, 1, 1), date(2024, 1, 1), percent=Decimal("18.25")
    )
    half = contractual_interest(
        Decimal("10.00"), date(2024, 1, 1), date(2024, 1, 1), percent=Decimal("18.25")
    )
    assert (low.interest, half.interest) == (Decimal("0.00"), Decimal("0.01"))


def test_contractual_interest_per_month():
    """Art. 6:119 lid 3 BW: an agreed 1 % a month is 12 % a year over 365 days; compound
    capitalises every month from the first day."""
    simple = contractual_interest(
        Decimal("1000.00"),
        date(2024, 1, 1),
        date(2024, 12, 30),
        percent=Decimal("1"),
        per=RatePer.MONTH,
    )
    assert simple.interest == Decimal("120.00")
    compound = contractual_interest(
        Decimal("1000.00"),
        date(2024, 1, 31),
        date(2024, 4, 30),
        percent=Decimal("1"),
        per=RatePer.MONTH,
        compound=True,
    )
    assert [row.first_day for row in compound.years] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),  # 31 Jan + 3 months, clipped: the last day is an anniversary
    ]
    assert [row.capitalised for row in compound.years] == [True, True, True, False]
    yearly = contractual_interest(
        Decimal("1000.00"), date(2024, 1, 1), date(2025, 1, 1), percent=Decimal("8"), compound=True
    )
    assert [row.interest for row in yearly.years] == [Decimal("80.22"), Decimal("0.24")]


@pytest.mark.parametrize(
    ("principal", "first", "last", "error", "field"),
    [
        ("-1.00", date(2024, 1, 1), date(2024, 1, 2), InvalidAmount, "principal"),
        ("1.001", date(2024, 1, 1), date(2024, 1, 2), InvalidAmount, "principal"),
        ("1.00", date(2024, 1, 2), date(2024, 1, 1), InvalidPeriod, "last_day"),
    ],
)
def test_bad_input_names_the_field(statutory, principal, first, last, error, field):
    """Errors are data: they name the input that is wrong."""
    with pytest.raises(error) as raised:
        statutory_interest(principal, first, last, statutory)
    assert raised.value.field == field


def test_interest_after_the_confirmed_half_year_is_refused(statutory):
    """rates/README.md: never extend the last row silently."""
    with pytest.raises(StaleRate):
        statutory_interest(Decimal("1.00"), date(2026, 1, 1), date(2026, 7, 1), statutory)


def test_a_negative_agreed_rate_is_refused():
    with pytest.raises(InvalidAmount):
        contractual_interest(
            Decimal("1.00"), date(2026, 1, 1), date(2026, 7, 1), percent=Decimal("-1")
        )


# --- an independent implementation: day by day, in fractions, with its own CSV reader ------


def _read_rows(name):
    lines = (DATA / name).read_text(encoding="utf-8").split()[1:]
    return [(date.fromisoformat(line[:10]), Fraction(line[11:])) for line in lines]


ROWS = {
    "statutory": _read_rows("wettelijke_rente.csv"),
    "commercial": _read_rows("handelsrente.csv"),
}


def _is_anniversary(day, first):
    if day.year <= first.year:
        return False
    if (day.month, day.day) == (first.month, first.day):
        return True
    return (
        (first.month, first.day) == (2, 29)
        and (day.month, day.day) == (2, 28)
        and not (calendar.isleap(day.year))
    )


def _half_up(value):
    return Fraction(int(value * 100 + Fraction(1, 2)), 100)


def naive_interest(kind, principal, first, last, compound):
    base = Fraction(principal)
    pieces = []
    year = Fraction(0)
    day = first
    while day <= last:
        if compound and _is_anniversary(day, first):
            pieces.append(_half_up(year))
            base += pieces[-1]
            year = Fraction(0)
        percent = [rate for since, rate in ROWS[kind] if since <= day][-1]
        year += base * percent / 100 / 365
        day += timedelta(days=1)
    pieces.append(_half_up(year))
    return sum(pieces)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["statutory", "commercial"]),
    cents=st.integers(min_value=0, max_value=10**8),
    first=st.dates(min_value=date(2003, 1, 1), max_value=date(2025, 12, 31)),
    length=st.integers(min_value=0, max_value=2200),
    compound=st.booleans(),
)
def test_interest_matches_a_naive_day_by_day_fraction_loop(
    statutory, commercial, kind, cents, first, length, compound
):
    """Cross-check of art. 6:119/6:119a BW: a second, independent implementation agrees."""
    last = min(first + timedelta(days=length), date(2026, 6, 30))
    principal = Decimal(cents) / 100
    table = statutory if kind == "statutory" else commercial
    result = statutory_interest(principal, first, last, table, compound=compound)
    assert Fraction(result.interest) == naive_interest(kind, principal, first, last, compound)


@settings(deadline=None)
@given(
    cents=st.integers(min_value=0, max_value=10**9),
    first=st.dates(min_value=date(1992, 1, 1), max_value=date(2020, 12, 31)),
    length=st.integers(min_value=0, max_value=2000),
    extra_days=st.integers(min_value=0, max_value=800),
    extra_cents=st.integers(min_value=0, max_value=10**7),
)
def test_interest_grows_with_the_period_and_the_principal_and_compound_beats_simple(
    statutory, cents, first, length, extra_days, extra_cents
):
    """Art. 6:119 BW: more days or more principal never mean less interest; capitalisation
    (lid 2) never means less than simple interest, up to the rounding of each capitalised
    year (at most a cent per extra rounding point, docs/algorithms/interest.md)."""
    principal = Decimal(cents) / 100
    last = first + timedelta(days=length)
    longer = min(last + timedelta(days=extra_days), date(2026, 6, 30))
    base = statutory_interest(principal, first, last, statutory)
    assert statutory_interest(principal, first, longer, statutory).interest >= base.interest
    bigger = principal + Decimal(extra_cents) / 100
    assert statutory_interest(bigger, first, last, statutory).interest >= base.interest
    simple = statutory_interest(principal, first, last, statutory, compound=False)
    tolerance = Decimal("0.01") * (len(base.years) - 1)
    assert base.interest + tolerance >= simple.interest
    assert base.total == principal + base.interest
    assert base.days == length + 1
