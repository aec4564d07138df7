"""Court and amount to secure for a hand-over (art. 93, 332 and 700 Rv;
docs/algorithms/handover.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.core.attachment import (
    CaseKind,
    Court,
    amount_to_secure,
    appeal_possible,
    court_for,
)
from betaald.core.errors import InvalidAmount

D = Decimal


@pytest.mark.parametrize(
    ("amount", "kind", "court"),
    [
        (D("25000.00"), CaseKind.ORDINARY, Court.KANTONRECHTER),
        (D("25000.01"), CaseKind.ORDINARY, Court.RECHTBANK),
        (D("0.00"), CaseKind.ORDINARY, Court.KANTONRECHTER),
        (D("90000.00"), CaseKind.CONSUMER_SALE, Court.KANTONRECHTER),
        (D("90000.00"), CaseKind.RENT, Court.KANTONRECHTER),
        (D("40000.00"), CaseKind.CONSUMER_CREDIT, Court.KANTONRECHTER),
        (D("40000.01"), CaseKind.CONSUMER_CREDIT, Court.RECHTBANK),
    ],
)
def test_court(amount, kind, court):
    """Art. 93 sub a Rv: the kantonrechter up to EUR 25,000; sub c: consumer sale, rent and
    employment whatever the amount, consumer credit up to EUR 40,000."""
    assert court_for(amount, kind) is court


def test_court_refuses_a_negative_claim():
    with pytest.raises(InvalidAmount) as error:
        court_for(D("-0.01"))
    assert error.value.field == "amount"


@pytest.mark.parametrize(
    ("amount", "possible"), [(D("1750.00"), False), (D("1750.01"), True), (D("0"), False)]
)
def test_appeal(amount, possible):
    """Art. 332 Rv: appeal only against a judgment on a claim above EUR 1,750."""
    assert appeal_possible(amount) is possible


@pytest.mark.parametrize(
    ("principal", "to_date", "rate", "secure"),
    [
        # A year's commercial interest at 10.15 % on 10,000 plus the claim to date (10,000 +
        # 400 interest + 775 BIK = 11,175) = 12,190.00, below 13,000.00 (principal + 30 %).
        (D("10000.00"), D("11175.00"), D("10.15"), D("13000.00")),
        # An old claim with much interest already: the claim to date plus a year wins.
        (D("1000.00"), D("1600.00"), D("12.15"), D("1721.50")),
        (D("0.00"), D("0.00"), D("8"), D("0.00")),
        (D("333.33"), D("333.33"), D("0"), D("433.33")),
    ],
)
def test_amount_to_secure(principal, to_date, rate, secure):
    """Art. 700 lid 2 Rv: the higher of the claim to date plus a year's interest and the
    principal plus 30 % (docs/algorithms/handover.md)."""
    assert (
        amount_to_secure(principal=principal, claim_to_date=to_date, yearly_rate_percent=rate)
        == secure
    )


@pytest.mark.parametrize(
    ("principal", "to_date", "rate", "field"),
    [
        (D("-1"), D("0"), D("8"), "principal"),
        (D("1"), D("-1"), D("8"), "principal"),
        (D("1"), D("1"), D("-0.01"), "rate"),
    ],
)
def test_amount_to_secure_refuses_negative_input(principal, to_date, rate, field):
    with pytest.raises(InvalidAmount) as error:
        amount_to_secure(principal=principal, claim_to_date=to_date, yearly_rate_percent=rate)
    assert error.value.field == field


money = st.decimals(min_value=0, max_value=10**7, places=2)


@given(money, money, st.decimals(min_value=0, max_value=30, places=2))
def test_secured_covers_the_claim_and_the_margin(principal, extra, rate):
    """Property: never less than the claim to date, nor than the principal plus 30 %."""
    to_date = principal + extra
    secure = amount_to_secure(principal=principal, claim_to_date=to_date, yearly_rate_percent=rate)
    assert secure >= to_date
    assert secure >= (principal * D("1.3")).quantize(D("0.01"))
