"""What a dunning step claims: late fee, interest and collection costs, for one message.

Only glue: every figure comes from the pure core (`betaald.core.collection_costs`,
`betaald.core.interest`, `betaald.core.dunning.LateFee`); this module picks the rate table,
the interest period and the principals (all invoices of one message together, art. 6:96
lid 7 BW) and freezes the result as strings for the message context.
"""

from __future__ import annotations

import functools
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from betaald.core import dunning as core
from betaald.core.calendar import Deadline, fourteen_day_term
from betaald.core.collection_costs import CollectionCosts, business_costs, collection_costs
from betaald.core.interest import contractual_interest, statutory_interest
from betaald.core.money import ZERO, round_cents
from betaald.core.rates import RateKind, RateTable, StaleRate

ONE_DAY = timedelta(days=1)


@functools.lru_cache(maxsize=4)
def rate_table(kind: str) -> RateTable:
    """The statutory rate table of `kind` as the administrator keeps it (`betaald.rates`:
    the database rows, else the packaged tables). Cached per run: `reload_calendar_data()`."""
    from betaald.rates.selectors import rate_table as current_rate_table

    return current_rate_table(RateKind(kind).value)


@functools.lru_cache(maxsize=1)
def holidays() -> Container[date]:
    """The Atw holidays including the administrator's overrides (equated days by decree)."""
    from betaald.rates.selectors import atw_holidays

    return atw_holidays()


def reload_calendar_data() -> None:
    """Forget the cached rate tables and holidays (called at the start of every run)."""
    rate_table.cache_clear()
    holidays.cache_clear()


@dataclass(frozen=True, slots=True)
class InvoiceCharge:
    """One invoice's part of a message: its open principal and what the step claims on it."""

    invoice_id: int
    principal: Decimal
    interest: Decimal = ZERO
    interest_from: date | None = None
    late_fee: Decimal = ZERO
    costs: Decimal = ZERO
    costs_vat: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class GroupCharge:
    """The charges of one message (one customer, one step, one day)."""

    invoices: tuple[InvoiceCharge, ...]
    costs: CollectionCosts | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def principal(self) -> Decimal:
        return sum((item.principal for item in self.invoices), ZERO)

    @property
    def interest(self) -> Decimal:
        return sum((item.interest for item in self.invoices), ZERO)

    @property
    def late_fee(self) -> Decimal:
        return sum((item.late_fee for item in self.invoices), ZERO)

    @property
    def costs_total(self) -> Decimal:
        return self.costs.total if self.costs is not None else ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.late_fee + self.costs_total


@dataclass(frozen=True, slots=True)
class ClaimInput:
    """What `group_charges` needs to know about one invoice of the message."""

    invoice_id: int
    due_on: date
    principal: Decimal
    interest_from_on: date | None = None
    fourteen_day_costs_due_from: date | None = None
    late_fee_charged: Decimal = ZERO


def interest_first_day(
    step: core.Step, claim: ClaimInput, today: date, debtor_kind: core.DebtorKind
) -> date | None:
    """The first day of interest: the day after the due date, or the day interest was first
    claimed (this step, or an earlier one). A consumer owes interest only once in verzuim after
    the 14-dagenbrief's term (convention of this project, the safe side, art. 6:119 BW)."""
    charges = step.charges
    if charges.interest_from is core.InterestFrom.NEVER:
        return None
    if charges.interest_from is core.InterestFrom.DUE_DATE:
        first = claim.due_on + ONE_DAY
    else:
        first = claim.interest_from_on or today
    if debtor_kind is core.DebtorKind.CONSUMER and claim.fourteen_day_costs_due_from:
        first = max(first, claim.fourteen_day_costs_due_from)
    return first


def _interest(
    step: core.Step, principal: Decimal, first: date, today: date
) -> tuple[Decimal, str | None]:
    if first > today or principal <= 0:
        return ZERO, None
    charges = step.charges
    if charges.interest_kind is core.InterestKind.CONTRACTUAL:
        percent = charges.contractual_rate or ZERO
        return contractual_interest(principal, first, today, percent=percent).interest, None
    kind = (
        RateKind.COMMERCIAL
        if charges.interest_kind is core.InterestKind.COMMERCIAL
        else RateKind.STATUTORY
    )
    table = rate_table(kind)
    try:
        return statutory_interest(principal, first, today, table).interest, None
    except StaleRate:
        # The table has no confirmed rate for today: compute with the last known rate and say
        # so on the run report (art. 6:120 BW fixes a new rate every half-year).
        result = statutory_interest(principal, first, today, table.unbounded())
        return result.interest, f"{kind} rate table not confirmed for {today.isoformat()}"


def group_charges(
    step: core.Step,
    claims: list[ClaimInput],
    *,
    today: date,
    debtor_kind: core.DebtorKind,
    vat_applies: bool,
) -> GroupCharge:
    """The charges of one message; costs on the summed principal (art. 6:96 lid 7 BW)."""
    warnings: list[str] = []
    items: list[InvoiceCharge] = []
    charges = step.charges
    for claim in claims:
        principal = max(claim.principal, ZERO)
        first = interest_first_day(step, claim, today, debtor_kind)
        interest = ZERO
        if first is not None:
            interest, warning = _interest(step, principal, first, today)
            if warning and warning not in warnings:
                warnings.append(warning)
        fee = ZERO
        if charges.late_fee is not None and claim.late_fee_charged == 0 and principal > 0:
            fee = charges.late_fee.amount(principal)
        items.append(
            InvoiceCharge(
                invoice_id=claim.invoice_id,
                principal=principal,
                interest=interest,
                interest_from=first,
                late_fee=fee,
            )
        )
    costs = group_costs(step, [i.principal for i in items], vat_applies=vat_applies)
    if costs is not None:
        shares = _pro_rata(costs.costs, [i.principal for i in items])
        vat_shares = _pro_rata(costs.vat, [i.principal for i in items])
        items = [
            InvoiceCharge(
                invoice_id=i.invoice_id,
                principal=i.principal,
                interest=i.interest,
                interest_from=i.interest_from,
                late_fee=i.late_fee,
                costs=share,
                costs_vat=vat_share,
            )
            for i, share, vat_share in zip(items, shares, vat_shares, strict=True)
        ]
    return GroupCharge(invoices=tuple(items), costs=costs, warnings=tuple(warnings))


def group_costs(
    step: core.Step, principals: list[Decimal], *, vat_applies: bool
) -> CollectionCosts | None:
    """The collection costs the step claims on these principals together, or None."""
    basis = step.charges.costs
    if basis is core.CostsBasis.NONE or sum(principals, ZERO) <= 0:
        return None
    if basis is core.CostsBasis.CONTRACT:
        return business_costs(
            principals,
            vat_applies=vat_applies,
            contractual_percent=step.charges.contract_costs_percent,
        )
    return collection_costs(principals, vat_applies=vat_applies)


def costs_if_unpaid(principals: list[Decimal], *, vat_applies: bool) -> CollectionCosts | None:
    """The exact BIK a 14-dagenbrief announces (art. 6:96 lid 6 BW: the amount in euros)."""
    if sum(principals, ZERO) <= 0:
        return None
    return collection_costs(principals, vat_applies=vat_applies)


def fourteen_day_deadline(posted_on: date) -> Deadline:
    """The term of a 14-dagenbrief posted on `posted_on` (core calendar, art. 6:96 lid 6 BW)."""
    return fourteen_day_term(posted_on, holidays=holidays())


def _pro_rata(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` over `weights` in proportion, rounded, the rest on the last share."""
    whole = sum(weights, ZERO)
    if whole <= 0:
        return [total] + [ZERO] * (len(weights) - 1)
    shares = [round_cents(total * weight / whole) for weight in weights[:-1]]
    return [*shares, total - sum(shares, ZERO)]


def money(value: Decimal | None) -> str | None:
    """An amount as the frozen context stores it: a string with two decimals."""
    return None if value is None else str(round_cents(value))


def costs_context(costs: CollectionCosts | None) -> dict[str, str] | None:
    if costs is None:
        return None
    return {
        "principal": str(costs.principal),
        "costs": str(costs.costs),
        "vat": str(costs.vat),
        "total": str(costs.total),
        "basis": str(costs.basis),
    }


__all__ = [
    "ClaimInput",
    "GroupCharge",
    "InvoiceCharge",
    "costs_context",
    "costs_if_unpaid",
    "fourteen_day_deadline",
    "group_charges",
    "group_costs",
    "money",
    "rate_table",
]
