"""betaald.core.money: Decimal-only amounts with one rounding function (ADR 0003)."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.core.errors import InvalidAmount
from betaald.core.money import round_cents, round_exact_cents, split_evenly, to_money


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("12.5", Decimal("12.50")),
        ("0", Decimal("0.00")),
        (7, Decimal("7.00")),
        (" 3.10 ", Decimal("3.10")),
        (Decimal("1.2"), Decimal("1.20")),
        ("-4.00", Decimal("-4.00")),
    ],
)
def test_to_money_accepts_exact_decimals(given_value, expected):
    assert to_money(given_value) == expected


@pytest.mark.parametrize(
    "bad", ["1.005", "abc", "1e3", "NaN", "Infinity", "", "1,50", True, 1.5, None]
)
def test_to_money_refuses_what_is_not_an_exact_amount(bad):
    with pytest.raises(InvalidAmount) as error:
        to_money(bad, field="principal")
    assert error.value.field == "principal"


@pytest.mark.parametrize(
    ("exact", "rounded"),
    [
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("-0.005", "-0.01"),
        ("2.675", "2.68"),
        ("1.994999", "1.99"),
    ],
)
def test_round_cents_rounds_half_up(exact, rounded):
    assert round_cents(Decimal(exact)) == Decimal(rounded)


def test_split_evenly_puts_the_extra_cents_first():
    assert split_evenly(Decimal("100.00"), 3) == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]
    assert split_evenly(Decimal("1.00"), 1) == [Decimal("1.00")]


def test_split_evenly_refuses_zero_parts():
    with pytest.raises(InvalidAmount):
        split_evenly(Decimal("1.00"), 0)


@given(
    cents=st.integers(min_value=-(10**9), max_value=10**9),
    parts=st.integers(min_value=1, max_value=400),
)
def test_split_evenly_always_sums_to_the_total(cents, parts):
    total = Decimal(cents) / 100
    result = split_evenly(total, parts)
    assert sum(result) == total
    assert len(result) == parts
    assert max(result) - min(result) <= Decimal("0.01")


@pytest.mark.parametrize(
    ("numerator", "denominator", "rounded"),
    [
        (1, 200, "0.01"),  # 0.005 exactly: half up
        (-1, 200, "-0.01"),  # away from zero, like round_cents
        (499999, 100000000, "0.00"),  # 0.00499999
        (1, 3, "0.33"),
        (2, 3, "0.67"),
        (0, 1, "0.00"),
    ],
)
def test_round_exact_cents_rounds_fractions_half_up(numerator, denominator, rounded):
    """Interest accrues as an exact fraction and is rounded like round_cents (ADR 0003)."""
    assert round_exact_cents(Fraction(numerator, denominator)) == Decimal(rounded)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_round_exact_cents_agrees_with_round_cents_on_decimals(micros):
    value = Decimal(micros) / Decimal(10**6)
    assert round_exact_cents(Fraction(value)) == round_cents(value)
