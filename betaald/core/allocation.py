"""Allocation of a payment over claims (art. 6:43 and 6:44 BW).

Within a claim (art. 6:44 lid 1 BW): costs, then accrued interest, then principal.
Across claims: the debtor's designation first (art. 6:43 lid 1 BW); what the designated claim
does not absorb follows the default order of art. 6:43 lid 2 BW: claims already due on the
payment date before claims not yet due (paying early is allowed, so those receive the rest);
within each group the most burdensome first (the higher yearly interest rate), then the oldest
(the earliest due date), then pro rata to the outstanding totals (costs + interest + principal),
each share rounded HALF_UP with the leftover cent on the last claim in input order. Only money
beyond all claims stays unapplied. See docs/algorithms/allocation.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import groupby

from betaald.core.errors import DomainError, InvalidAmount
from betaald.core.money import ZERO, round_cents, to_money


class InvalidAllocation(DomainError):
    """The claims or the designation of a payment are inconsistent."""


@dataclass(frozen=True, slots=True)
class Claim:
    """An open claim: outstanding `costs`, accrued `interest`, `principal`, yearly `rate` %."""

    id: str
    due_on: date
    costs: Decimal
    interest: Decimal
    principal: Decimal
    rate: Decimal = ZERO

    @property
    def outstanding(self) -> Decimal:
        return self.costs + self.interest + self.principal


@dataclass(frozen=True, slots=True)
class ClaimAllocation:
    """What one claim's components receive from a payment."""

    claim_id: str
    costs: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.costs + self.interest + self.principal


@dataclass(frozen=True, slots=True)
class Allocation:
    """Per-claim parts in input order and the unapplied rest; parts + unapplied == amount."""

    amount: Decimal
    parts: tuple[ClaimAllocation, ...]
    unapplied: Decimal

    def part(self, claim_id: str) -> ClaimAllocation:
        for part in self.parts:
            if part.claim_id == claim_id:
                return part
        raise KeyError(claim_id)

    @property
    def by_claim(self) -> dict[str, ClaimAllocation]:
        """The parts keyed by claim id (a fresh dict each time)."""
        return {part.claim_id: part for part in self.parts}

    @property
    def applied(self) -> Decimal:
        return sum((part.total for part in self.parts), ZERO)


def split_within_claim(amount: Decimal, claim: Claim) -> ClaimAllocation:
    """Costs, then interest, then principal (art. 6:44 lid 1 BW); `amount` <= outstanding."""
    costs = min(amount, claim.costs)
    interest = min(amount - costs, claim.interest)
    principal = min(amount - costs - interest, claim.principal)
    return ClaimAllocation(
        claim.id, round_cents(costs), round_cents(interest), round_cents(principal)
    )


def _validated(claims: Sequence[Claim]) -> None:
    seen: set[str] = set()
    for index, claim in enumerate(claims):
        if claim.id in seen:
            raise InvalidAllocation(
                "claim id %(id)s occurs twice", field="claims", params={"id": repr(claim.id)}
            )
        seen.add(claim.id)
        for name in ("costs", "interest", "principal"):
            value = to_money(getattr(claim, name), field=f"claims[{index}].{name}")
            if value < 0:
                raise InvalidAmount("cannot be negative", field=f"claims[{index}].{name}")
        if claim.rate < 0:
            raise InvalidAmount("cannot be negative", field=f"claims[{index}].rate")


def _pro_rata(
    amount: Decimal, tied: list[Claim], input_order: dict[str, int]
) -> dict[str, Decimal]:
    """Shares of `amount` (< the tied claims' total) proportional to the outstanding totals.

    Each share is rounded HALF_UP; the last claim in input order takes the rest. A share is
    kept within [0, outstanding] (and leaves enough room for the claims after it), which only
    changes anything in cases where rounding alone would make the last share negative.
    """
    ordered = sorted(tied, key=lambda claim: input_order[claim.id])
    total = sum((claim.outstanding for claim in ordered), ZERO)
    shares: dict[str, Decimal] = {}
    left = amount
    for position, claim in enumerate(ordered[:-1]):
        room_after = sum((other.outstanding for other in ordered[position + 1 :]), ZERO)
        share = round_cents(amount * claim.outstanding / total)
        share = min(max(share, left - room_after, ZERO), claim.outstanding, left)
        shares[claim.id] = share
        left -= share
    shares[ordered[-1].id] = left
    return shares


def allocate_payment(
    amount: Decimal,
    claims: Sequence[Claim],
    *,
    on: date,
    designation: str | None = None,
) -> Allocation:
    """Allocate `amount`, paid on `on`, over `claims` (art. 6:43, 6:44 BW)."""
    amount = to_money(amount, field="payment")
    if amount < 0:
        raise InvalidAmount("a payment cannot be negative", field="payment")
    _validated(claims)
    by_id = {claim.id: claim for claim in claims}
    if designation is not None and designation not in by_id:
        raise InvalidAllocation(
            "no claim with id %(id)s", field="designation", params={"id": repr(designation)}
        )
    input_order = {claim.id: index for index, claim in enumerate(claims)}
    received: dict[str, Decimal] = {claim.id: ZERO for claim in claims}
    left = amount

    if designation is not None:
        designated = by_id[designation]
        received[designation] = min(left, designated.outstanding)
        left -= received[designation]

    rest = [claim for claim in claims if claim.id != designation]

    def rank(claim: Claim) -> tuple[int, Decimal, date]:
        return (0 if claim.due_on <= on else 1, -claim.rate, claim.due_on)

    for _, group in groupby(sorted(rest, key=rank), key=rank):
        if left == ZERO:
            break
        tied = [claim for claim in group if claim.outstanding > 0]
        tied_total = sum((claim.outstanding for claim in tied), ZERO)
        if left >= tied_total:
            for claim in tied:
                received[claim.id] = claim.outstanding
            left -= tied_total
        else:
            for claim_id, share in _pro_rata(left, tied, input_order).items():
                received[claim_id] = share
            left = ZERO

    parts = tuple(split_within_claim(received[claim.id], claim) for claim in claims)
    return Allocation(amount=amount, parts=parts, unapplied=left)
