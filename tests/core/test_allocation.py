"""betaald.core.allocation: a payment over claims (art. 6:43 and 6:44 BW)."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betaald.core.allocation import (
    Claim,
    ClaimAllocation,
    InvalidAllocation,
    allocate_payment,
)
from betaald.core.errors import InvalidAmount

D = Decimal
ON = date(2024, 2, 15)


def claim(id, due_on=date(2024, 1, 31), costs="0.00", interest="0.00", principal="0.00", rate="0"):
    return Claim(id, due_on, D(costs), D(interest), D(principal), D(rate))


def parts(allocation):
    return {
        part.claim_id: (str(part.costs), str(part.interest), str(part.principal))
        for part in allocation.parts
    }


def test_within_a_claim_costs_then_interest_then_principal():
    """Art. 6:44 lid 1 BW: costs, then accrued interest, then principal."""
    result = allocate_payment(
        D("100.00"), [claim("A", costs="40.00", interest="25.00", principal="500.00")], on=ON
    )
    assert parts(result) == {"A": ("40.00", "25.00", "35.00")}
    assert result.unapplied == D("0.00")


def test_the_issue_example_is_pro_rata_between_equal_claims():
    """Art. 6:43 lid 2 BW: equally burdensome and equally old claims share pro rata;
    the leftover cent goes to the last claim in input order."""
    result = allocate_payment(
        D("600.00"),
        [
            claim("A", interest="2.40", principal="500.00", rate="12.50"),
            claim("B", principal="500.00", rate="12.50"),
        ],
        on=ON,
    )
    assert parts(result) == {"A": ("0.00", "2.40", "298.32"), "B": ("0.00", "0.00", "299.28")}


def test_due_claims_come_before_claims_not_yet_due():
    """Art. 6:43 lid 2 BW: a due claim first, even when the other bears more interest."""
    result = allocate_payment(
        D("150.00"),
        [
            claim("later", due_on=date(2024, 3, 1), principal="100.00", rate="20"),
            claim("due", due_on=ON, principal="100.00", rate="2"),
        ],
        on=ON,
    )
    assert parts(result) == {"later": ("0.00", "0.00", "50.00"), "due": ("0.00", "0.00", "100.00")}


def test_the_most_burdensome_claim_first_then_the_oldest():
    """Art. 6:43 lid 2 BW: higher interest rate first; at equal rates the oldest first."""
    claims = [
        claim("new-high", due_on=date(2024, 2, 1), principal="100.00", rate="8"),
        claim("old-low", due_on=date(2023, 1, 1), principal="100.00", rate="4"),
        claim("old-high", due_on=date(2023, 6, 1), principal="100.00", rate="8"),
    ]
    result = allocate_payment(D("150.00"), claims, on=ON)
    assert parts(result) == {
        "new-high": ("0.00", "0.00", "50.00"),
        "old-low": ("0.00", "0.00", "0.00"),
        "old-high": ("0.00", "0.00", "100.00"),
    }


def test_the_designation_comes_first_and_its_rest_follows_the_default_order():
    """Art. 6:43 lid 1 BW: the debtor's designation; the surplus follows lid 2."""
    claims = [
        claim("A", due_on=date(2023, 1, 1), principal="100.00", rate="8"),
        claim("B", due_on=date(2024, 1, 1), costs="10.00", principal="50.00", rate="4"),
    ]
    result = allocate_payment(D("100.00"), claims, on=ON, designation="B")
    assert parts(result) == {"A": ("0.00", "0.00", "40.00"), "B": ("10.00", "0.00", "50.00")}


def test_only_money_beyond_all_claims_is_unapplied():
    """Art. 6:43 BW: not-yet-due claims take the rest (paying early is allowed)."""
    claims = [
        claim("A", principal="100.00"),
        claim("B", due_on=date(2025, 1, 1), principal="50.00"),
    ]
    result = allocate_payment(D("200.00"), claims, on=ON)
    assert parts(result) == {"A": ("0.00", "0.00", "100.00"), "B": ("0.00", "0.00", "50.00")}
    assert result.unapplied == D("50.00")
    assert result.applied == D("150.00")
    assert result.part("B").total == D("50.00")
    assert result.by_claim["A"].principal == D("100.00")
    with pytest.raises(KeyError):
        result.part("C")


def test_no_claims_leaves_everything_unapplied_and_zero_pays_nothing():
    assert allocate_payment(D("10.00"), [], on=ON).unapplied == D("10.00")
    nothing = allocate_payment(D("0.00"), [claim("A", principal="1.00")], on=ON)
    assert parts(nothing) == {"A": ("0.00", "0.00", "0.00")}


def test_rounding_never_makes_a_share_negative():
    """Pro rata with HALF_UP: four claims of 0.01 sharing 0.02 would round every share up."""
    claims = [claim(name, principal="0.01") for name in "ABCD"]
    result = allocate_payment(D("0.02"), claims, on=ON)
    assert [part.total for part in result.parts] == [D("0.01"), D("0.01"), D("0.00"), D("0.00")]


@pytest.mark.parametrize(
    ("amount", "claims", "designation", "field"),
    [
        ("-1.00", [], None, "payment"),
        ("1.001", [], None, "payment"),
        ("1.00", [claim("A"), claim("A")], None, "claims"),
        ("1.00", [claim("A", costs="-1.00")], None, "claims[0].costs"),
        ("1.00", [claim("A", principal="1.001")], None, "claims[0].principal"),
        ("1.00", [claim("A", rate="-1")], None, "claims[0].rate"),
        ("1.00", [claim("A")], "B", "designation"),
    ],
)
def test_bad_input_names_the_field(amount, claims, designation, field):
    with pytest.raises((InvalidAmount, InvalidAllocation)) as error:
        allocate_payment(D(amount), claims, on=ON, designation=designation)
    assert error.value.field == field


amounts = st.integers(min_value=0, max_value=10**7).map(lambda cents: Decimal(cents) / 100)
claims_strategy = st.lists(
    st.builds(
        lambda index, due, costs, interest, principal, rate: Claim(
            f"C{index}", due, costs, interest, principal, Decimal(rate)
        ),
        st.integers(min_value=0, max_value=10**6),
        st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 4, 1)),
        amounts,
        amounts,
        amounts,
        st.sampled_from([0, 4, 8, 12]),
    ),
    max_size=6,
    unique_by=lambda claim: claim.id,
)


@settings(deadline=None)
@given(amount=amounts, claims=claims_strategy, designate=st.integers(min_value=-1, max_value=5))
def test_parts_and_unapplied_add_up_to_the_payment_and_none_is_negative(amount, claims, designate):
    """Art. 6:43/6:44 BW: every cent is allocated exactly once, nothing is negative, no
    component receives more than is outstanding, and only a surplus is unapplied."""
    designation = claims[designate].id if 0 <= designate < len(claims) else None
    result = allocate_payment(amount, claims, on=date(2024, 2, 15), designation=designation)
    assert result.applied + result.unapplied == amount
    assert result.unapplied >= 0
    outstanding = sum((claim.outstanding for claim in claims), Decimal(0))
    assert result.unapplied == max(amount - outstanding, Decimal(0))
    for part, original in zip(result.parts, claims, strict=True):
        assert isinstance(part, ClaimAllocation)
        assert 0 <= part.costs <= original.costs
        assert 0 <= part.interest <= original.interest
        assert 0 <= part.principal <= original.principal
        if part.interest > 0:
            assert part.costs == original.costs
        if part.principal > 0:
            assert part.interest == original.interest


def _rank(claim, on):
    return (claim.due_on > on, -claim.rate, claim.due_on)


@settings(deadline=None)
@given(amount=amounts, claims=claims_strategy, designate=st.integers(min_value=-1, max_value=5))
def test_a_later_claim_receives_nothing_while_an_earlier_one_is_not_paid_in_full(
    amount, claims, designate
):
    """Art. 6:43 BW order: designation, then due before not due, higher rate, older; only
    claims of the same rank share pro rata."""
    on = date(2024, 2, 15)
    designation = claims[designate].id if 0 <= designate < len(claims) else None
    result = allocate_payment(amount, claims, on=on, designation=designation)
    paid = {part.claim_id: part.total for part in result.parts}
    full = {claim.id: paid[claim.id] == claim.outstanding for claim in claims}
    if designation is not None and not full[designation]:
        assert all(paid[claim.id] == 0 for claim in claims if claim.id != designation)
    others = [claim for claim in claims if claim.id != designation]
    for earlier in others:
        for later in others:
            if _rank(earlier, on) < _rank(later, on) and paid[later.id] > 0:
                assert full[earlier.id]
    if result.unapplied > 0:
        assert all(full.values())
