"""Extrajudicial collection costs (buitengerechtelijke incassokosten, BIK).

The staffel of art. 2 Besluit vergoeding voor buitengerechtelijke incassokosten (Stb. 2012,
141): 15 % of the first EUR 2,500, 10 % of the next 2,500, 5 % of the next 5,000, 1 % of the
next 190,000 and 0.5 % above 200,000 — computed exactly, clamped to at least EUR 40 and at most
EUR 6,775, then rounded HALF_UP to cents. It runs on the sum of the principals of all claims
demanded together (art. 6:96 lid 7 BW). VAT (21 %) of the rounded costs is added only when the
creditor cannot deduct it (art. 2 lid 3 Besluit), rounded HALF_UP separately.

Debtor classes (art. 6:96 lid 4-6 BW): a consumer owes costs only after a valid 14-day letter
(and then exactly the staffel); a business owes at least EUR 40 without any demand, and a
reasonable contractual clause may replace the staffel. See docs/algorithms/collection-costs.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from betaald.core.errors import InvalidAmount
from betaald.core.money import ZERO, round_cents, to_money

#: (upper bound of the slice, percent) — art. 2 lid 1 Besluit BIK.
STAFFEL: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("2500"), Decimal("15")),
    (Decimal("5000"), Decimal("10")),
    (Decimal("10000"), Decimal("5")),
    (Decimal("200000"), Decimal("1")),
    (None, Decimal("0.5")),
)
MINIMUM = Decimal("40.00")  # art. 2 lid 1 Besluit BIK
MAXIMUM = Decimal("6775.00")  # art. 2 lid 1 Besluit BIK
B2B_FIXED_COMPENSATION = Decimal("40.00")  # art. 6:96 lid 4 BW
VAT_PERCENT = Decimal("21")  # art. 9 lid 1 Wet OB 1968 (from 1 Oct 2012)


class CostsBasis(StrEnum):
    """Why the costs are what they are."""

    STAFFEL = "staffel"  # art. 2 Besluit BIK
    CONTRACT = "contract"  # a clause agreed with a business debtor
    B2B_MINIMUM = "b2b_minimum"  # art. 6:96 lid 4 BW floor
    NONE = "none"  # consumer without a valid 14-day letter (art. 6:96 lid 6 BW)


@dataclass(frozen=True, slots=True)
class CollectionCosts:
    """`principal` the base the costs ran on, `costs` excl. VAT, `total` = costs + vat."""

    principal: Decimal
    costs: Decimal
    vat: Decimal
    total: Decimal
    basis: CostsBasis = CostsBasis.STAFFEL


def _principal_sum(principals: Iterable[Decimal | str | int]) -> Decimal:
    amounts = [to_money(value, field="principal") for value in principals]
    if not amounts:
        raise InvalidAmount("at least one principal is needed", field="principal")
    for amount in amounts:
        if amount < 0:
            raise InvalidAmount("a principal cannot be negative", field="principal")
    total = sum(amounts, ZERO)
    if total == 0:
        raise InvalidAmount("the principals add up to 0.00: nothing to collect", field="principal")
    return total


def staffel_exact(principal: Decimal) -> Decimal:
    """The unrounded, unclamped staffel amount for `principal` (art. 2 Besluit BIK)."""
    costs = Decimal(0)
    lower = Decimal(0)
    for upper, percent in STAFFEL:
        top = principal if upper is None else min(principal, upper)
        costs += max(top - lower, Decimal(0)) * percent / 100
        lower = top
    return costs


def _with_vat(
    principal: Decimal,
    costs: Decimal,
    *,
    vat_applies: bool,
    vat_percent: Decimal,
    basis: CostsBasis,
) -> CollectionCosts:
    vat = round_cents(costs * vat_percent / 100) if vat_applies else ZERO
    return CollectionCosts(
        principal=principal, costs=costs, vat=vat, total=costs + vat, basis=basis
    )


def collection_costs(
    principals: Iterable[Decimal | str | int],
    *,
    vat_applies: bool,
    vat_percent: Decimal = VAT_PERCENT,
) -> CollectionCosts:
    """BIK per the staffel on the sum of `principals` (art. 6:96 lid 7 BW, art. 2 Besluit BIK).

    Exact slices, then the minimum of EUR 40 and the maximum of EUR 6,775, then one rounding.
    `vat_applies`: the creditor cannot deduct VAT and says so (art. 2 lid 3 Besluit BIK).
    """
    principal = _principal_sum(principals)
    exact = min(max(staffel_exact(principal), MINIMUM), MAXIMUM)
    return _with_vat(
        principal,
        round_cents(exact),
        vat_applies=vat_applies,
        vat_percent=vat_percent,
        basis=CostsBasis.STAFFEL,
    )


def business_costs(
    principals: Iterable[Decimal | str | int],
    *,
    vat_applies: bool,
    contractual_amount: Decimal | None = None,
    contractual_percent: Decimal | None = None,
    vat_percent: Decimal = VAT_PERCENT,
) -> CollectionCosts:
    """Costs for a business debtor (art. 6:96 lid 4 BW): a contractual clause, else the staffel.

    A clause is a fixed amount or a percentage of the principal (rounded HALF_UP); either way
    the EUR 40 of art. 6:96 lid 4 BW is a floor, not an extra on top.
    """
    principal = _principal_sum(principals)
    if contractual_amount is not None and contractual_percent is not None:
        raise InvalidAmount("give a contractual amount or a percentage, not both", field="contract")
    if contractual_amount is None and contractual_percent is None:
        return collection_costs([principal], vat_applies=vat_applies, vat_percent=vat_percent)
    if contractual_amount is not None:
        agreed = to_money(contractual_amount, field="contractual_amount")
    else:
        assert contractual_percent is not None
        agreed = round_cents(principal * contractual_percent / 100)
    if agreed < 0:
        raise InvalidAmount("contractual costs cannot be negative", field="contract")
    if agreed < B2B_FIXED_COMPENSATION:
        return _with_vat(
            principal,
            B2B_FIXED_COMPENSATION,
            vat_applies=vat_applies,
            vat_percent=vat_percent,
            basis=CostsBasis.B2B_MINIMUM,
        )
    return _with_vat(
        principal,
        agreed,
        vat_applies=vat_applies,
        vat_percent=vat_percent,
        basis=CostsBasis.CONTRACT,
    )


def b2b_minimum(principals: Iterable[Decimal | str | int]) -> CollectionCosts:
    """The fixed EUR 40 a business debtor owes without any demand (art. 6:96 lid 4 BW)."""
    principal = _principal_sum(principals)
    return CollectionCosts(
        principal=principal,
        costs=B2B_FIXED_COMPENSATION,
        vat=ZERO,
        total=B2B_FIXED_COMPENSATION,
        basis=CostsBasis.B2B_MINIMUM,
    )


def consumer_costs(
    principals: Iterable[Decimal | str | int],
    *,
    has_valid_letter: bool,
    vat_applies: bool,
    vat_percent: Decimal = VAT_PERCENT,
) -> CollectionCosts:
    """Costs for a consumer (art. 6:96 lid 5-6 BW): the staffel after a valid 14-day letter
    whose term has passed unpaid, nothing otherwise."""
    if not has_valid_letter:
        principal = _principal_sum(principals)
        return CollectionCosts(
            principal=principal, costs=ZERO, vat=ZERO, total=ZERO, basis=CostsBasis.NONE
        )
    return collection_costs(principals, vat_applies=vat_applies, vat_percent=vat_percent)
