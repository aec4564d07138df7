"""betaald.core.collection_costs: BIK staffel (art. 2 Besluit BIK) and art. 6:96 lid 4-7 BW."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.core.collection_costs import (
    CostsBasis,
    b2b_minimum,
    business_costs,
    collection_costs,
    consumer_costs,
    staffel_exact,
)
from betaald.core.errors import InvalidAmount


@pytest.mark.parametrize(
    ("principal", "costs"),
    [
        ("100.00", "40.00"),  # 15.00 -> the minimum of 40
        ("266.66", "40.00"),  # 39.999 -> 40
        ("266.70", "40.01"),  # 40.005 rounded HALF_UP
        ("2500.00", "375.00"),
        ("3000.00", "425.00"),  # 375 + 10 % of 500
        ("5000.00", "625.00"),
        ("10000.00", "875.00"),
        ("12345.67", "898.46"),  # 875 + 23.4567
        ("200000.00", "2775.00"),
        ("1000000.00", "6775.00"),
        ("2000000.00", "6775.00"),  # the maximum caps the total
        ("0.01", "40.00"),
    ],
)
def test_the_staffel(principal, costs):
    """Art. 2 lid 1 Besluit BIK: 15/10/5/1/0.5 %, at least 40, at most 6,775, rounded once."""
    result = collection_costs([Decimal(principal)], vat_applies=False)
    assert result.costs == Decimal(costs)
    assert (result.vat, result.total, result.basis) == (
        Decimal("0.00"),
        result.costs,
        CostsBasis.STAFFEL,
    )


def test_several_claims_in_one_letter_add_their_principals():
    """Art. 6:96 lid 7 BW: 1,800 + 1,200 gives 425.00, not 270.00 + 180.00."""
    result = collection_costs(["1800.00", "1200.00"], vat_applies=False)
    assert (result.principal, result.costs) == (Decimal("3000.00"), Decimal("425.00"))


@pytest.mark.parametrize(
    ("principal", "vat", "total"),
    [
        ("3000.00", "89.25", "514.25"),
        ("100.00", "8.40", "48.40"),
        ("12345.67", "188.68", "1087.14"),
    ],
)
def test_vat_is_added_only_when_the_creditor_cannot_deduct_it(principal, vat, total):
    """Art. 2 lid 3 Besluit BIK: 21 % of the rounded costs, rounded HALF_UP separately."""
    result = collection_costs([principal], vat_applies=True)
    assert (result.vat, result.total) == (Decimal(vat), Decimal(total))


@pytest.mark.parametrize("principals", [[], ["-1.00"], ["0.00"], ["1.005"], ["abc"]])
def test_bad_principals_are_refused(principals):
    """There is no fee without something to collect; every error names the field."""
    with pytest.raises(InvalidAmount) as error:
        collection_costs(principals, vat_applies=False)
    assert error.value.field == "principal"


def test_a_consumer_owes_nothing_without_a_valid_14_day_letter():
    """Art. 6:96 lid 6 BW (HR 13-06-2014, ECLI:NL:HR:2014:1405)."""
    none = consumer_costs(["3000.00"], has_valid_letter=False, vat_applies=True)
    assert (none.costs, none.vat, none.total, none.basis) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        CostsBasis.NONE,
    )
    due = consumer_costs(["3000.00"], has_valid_letter=True, vat_applies=False)
    assert due.costs == Decimal("425.00")


def test_a_business_owes_at_least_40_euro():
    """Art. 6:96 lid 4 BW: a floor without any demand, not an extra on top of the staffel."""
    assert b2b_minimum(["10.00"]).costs == Decimal("40.00")
    assert b2b_minimum(["10.00"]).basis == CostsBasis.B2B_MINIMUM
    assert business_costs(["100.00"], vat_applies=False).costs == Decimal("40.00")
    assert business_costs(["3000.00"], vat_applies=False).costs == Decimal("425.00")


@pytest.mark.parametrize(
    ("amount", "percent", "costs", "basis"),
    [
        ("500.00", None, "500.00", CostsBasis.CONTRACT),
        ("25.00", None, "40.00", CostsBasis.B2B_MINIMUM),
        (None, Decimal("15"), "450.00", CostsBasis.CONTRACT),
        (None, Decimal("1"), "40.00", CostsBasis.B2B_MINIMUM),
    ],
)
def test_a_business_clause_replaces_the_staffel_above_the_floor(amount, percent, costs, basis):
    """Art. 6:96 lid 4 BW; BIK is default law for business debtors (HR 10-07-2015,
    ECLI:NL:HR:2015:1868)."""
    result = business_costs(
        ["3000.00"], vat_applies=True, contractual_amount=amount, contractual_percent=percent
    )
    assert (result.costs, result.basis) == (Decimal(costs), basis)
    assert result.total == result.costs + result.vat


def test_a_business_clause_is_an_amount_or_a_percentage_and_never_negative():
    with pytest.raises(InvalidAmount):
        business_costs(
            ["3000.00"],
            vat_applies=False,
            contractual_amount="1.00",
            contractual_percent=Decimal("1"),
        )
    with pytest.raises(InvalidAmount):
        business_costs(["3000.00"], vat_applies=False, contractual_amount="-1.00")


@given(st.integers(min_value=1, max_value=10**10))
def test_costs_stay_between_40_and_6775_before_vat(cents):
    """Art. 2 lid 1 Besluit BIK: minimum EUR 40, maximum EUR 6,775."""
    result = collection_costs([Decimal(cents) / 100], vat_applies=True)
    assert Decimal("40.00") <= result.costs <= Decimal("6775.00")
    assert result.total == result.costs + result.vat


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**6))
def test_the_staffel_never_decreases(cents, more):
    """Art. 2 lid 1 Besluit BIK: a larger principal never earns lower costs."""
    low = Decimal(cents) / 100
    assert staffel_exact(low + Decimal(more) / 100) >= staffel_exact(low)
