"""What a dunning step claims: late fee, interest and collection costs, for one message.

Only glue: every figure comes from the pure core (`betaald.core.collection_costs`,
`betaald.core.interest`, `betaald.core.dunning.LateFee`); this module picks the rate table,
the interest period and the principals (all invoices of one message together, art. 6:96
lid 7 BW) and freezes the result as strings for the message context.

The step decides *whether and from when* something is claimed; the terms agreed with the
customer up front (`AgreedTerms`, from `betaald.plans.models.ContractTerms`), when there are
any, decide *how much*: the contractual interest rate (art. 6:119 lid 3 / 6:119a lid 5 BW),
the agreed late fee and the agreed collection-cost clause (art. 6:96 lid 2 sub c, lid 4 BW),
never more than the BIK staffel for a consumer (art. 6:96 lid 5 BW).
"""

from __future__ import annotations

import functools
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from betaald.core import dunning as core
from betaald.core.calendar import Deadline, fourteen_day_term
from betaald.core.collection_costs import (
    VAT_PERCENT,
    CollectionCosts,
    CostsBasis,
    business_costs,
    collection_costs,
)
from betaald.core.interest import contractual_interest, statutory_interest
from betaald.core.money import ZERO, round_cents
from betaald.core.rates import RateKind, RateTable, StaleRate
from betaald.plans.models import CostsClause, InterestClause

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
class AgreedTerms:
    """The interest, late-fee and collection-cost clauses agreed with one customer up front
    (the quote/contract checklist, `betaald.plans.models.ContractTerms`).

    - `interest_clause` "contractual": `contractual_rate` % a year replaces the statutory rate
      (art. 6:119 lid 3, 6:119a lid 5 BW), capitalised yearly when `interest_capitalises`;
      "none": the creditor agreed to claim no interest; "statutory": the statute's rate.
    - `late_fee_percent` (% of the principal, at least `late_fee_fixed`) or `late_fee_fixed`
      replaces the step's late fee; with neither, the step's own fee applies.
    - `costs_clause` "percent": `costs_percent` % of the summed principal, at least
      `costs_minimum`; a business owes at least EUR 40 (art. 6:96 lid 4 BW), a consumer never
      more than the staffel (art. 6:96 lid 5 BW). "bik": the staffel. "none" (no clause):
      the statutory default, i.e. what the step says.
    """

    reference: str = ""
    agreed_on: date | None = None
    interest_clause: str = InterestClause.STATUTORY
    contractual_rate: Decimal | None = None
    interest_capitalises: bool = True
    late_fee_fixed: Decimal | None = None
    late_fee_percent: Decimal | None = None
    costs_clause: str = CostsClause.BIK
    costs_percent: Decimal | None = None
    costs_minimum: Decimal | None = None

    @classmethod
    def of(cls, terms: Any) -> AgreedTerms:
        """From a `ContractTerms` row."""
        return cls(
            reference=terms.document_reference or "",
            agreed_on=terms.agreed_on,
            interest_clause=terms.interest_clause,
            contractual_rate=terms.contractual_rate,
            interest_capitalises=terms.interest_capitalises,
            late_fee_fixed=terms.late_fee_fixed,
            late_fee_percent=terms.late_fee_percent,
            costs_clause=terms.costs_clause,
            costs_percent=terms.costs_percent,
            costs_minimum=terms.costs_minimum,
        )

    @property
    def has_costs_clause(self) -> bool:
        return self.costs_clause == CostsClause.PERCENT and (
            self.costs_percent is not None or self.costs_minimum is not None
        )

    def context(self) -> dict[str, Any]:
        """The contractual basis as the frozen message context states it."""
        return {
            "reference": self.reference,
            "agreed_on": self.agreed_on.isoformat() if self.agreed_on else None,
            "interest_clause": self.interest_clause,
            "contractual_rate": _decimal(self.contractual_rate),
            "interest_capitalises": self.interest_capitalises,
            "late_fee_fixed": money(self.late_fee_fixed),
            "late_fee_percent": _decimal(self.late_fee_percent),
            "costs_clause": self.costs_clause,
            "costs_percent": _decimal(self.costs_percent),
            "costs_minimum": money(self.costs_minimum),
        }


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def terms_by_customer(customer_ids: Iterable[int]) -> dict[int, AgreedTerms]:
    """The agreed terms of these customers, in one query (loaded once per chunk)."""
    from betaald.plans.selectors import contract_terms_for_customers

    ids = set(customer_ids)
    if not ids:
        return {}
    return {
        customer_id: AgreedTerms.of(terms)
        for customer_id, terms in contract_terms_for_customers(ids).items()
    }


@dataclass(frozen=True, slots=True)
class InterestBasis:
    """Which interest a step claims for one customer: the kind, the rate of a contractual
    kind, and whether it capitalises yearly."""

    kind: core.InterestKind
    rate: Decimal | None = None
    compound: bool = True


def statutory_kind(debtor_kind: core.DebtorKind) -> core.InterestKind:
    """Wettelijke handelsrente between businesses (art. 6:119a BW), else wettelijke rente
    (art. 6:119 BW)."""
    if debtor_kind is core.DebtorKind.BUSINESS:
        return core.InterestKind.COMMERCIAL
    return core.InterestKind.STATUTORY


def interest_basis(
    step: core.Step, debtor_kind: core.DebtorKind, terms: AgreedTerms | None
) -> InterestBasis | None:
    """The interest `step` claims, after the customer's agreed terms; None: no interest."""
    charges = step.charges
    if charges.interest_from is core.InterestFrom.NEVER:
        return None
    if terms is None:
        if charges.interest_kind is core.InterestKind.CONTRACTUAL:
            return InterestBasis(core.InterestKind.CONTRACTUAL, charges.contractual_rate, False)
        return InterestBasis(charges.interest_kind)
    if terms.interest_clause == InterestClause.NONE:
        return None
    if terms.interest_clause == InterestClause.CONTRACTUAL and terms.contractual_rate is not None:
        return InterestBasis(
            core.InterestKind.CONTRACTUAL, terms.contractual_rate, terms.interest_capitalises
        )
    # Statutory agreed (or a contractual clause without a rate): the statute's own rate.
    if charges.interest_kind is core.InterestKind.CONTRACTUAL:
        return InterestBasis(statutory_kind(debtor_kind))
    return InterestBasis(charges.interest_kind)


def late_fee_of(step: core.Step, terms: AgreedTerms | None) -> core.LateFee | None:
    """The late fee `step` charges: the customer's agreed fee replaces the step's own."""
    fee = step.charges.late_fee
    if fee is None or terms is None:
        return fee
    if terms.late_fee_percent is not None:
        return core.LateFee(
            core.FeeKind.PERCENT, terms.late_fee_percent, minimum=terms.late_fee_fixed or ZERO
        )
    if terms.late_fee_fixed is not None:
        return core.LateFee(core.FeeKind.FIXED, terms.late_fee_fixed)
    return fee


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
    interest_kind: str | None = None  # the interest actually claimed (after agreed terms)
    terms: AgreedTerms | None = None

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
    basis: InterestBasis, principal: Decimal, first: date, today: date
) -> tuple[Decimal, str | None]:
    if first > today or principal <= 0:
        return ZERO, None
    if basis.kind is core.InterestKind.CONTRACTUAL:
        percent = basis.rate or ZERO
        result = contractual_interest(
            principal, first, today, percent=percent, compound=basis.compound
        )
        return result.interest, None
    kind = RateKind.COMMERCIAL if basis.kind is core.InterestKind.COMMERCIAL else RateKind.STATUTORY
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
    terms: AgreedTerms | None = None,
) -> GroupCharge:
    """The charges of one message; costs on the summed principal (art. 6:96 lid 7 BW).
    `terms`: the customer's agreed clauses, which replace the statutory amounts."""
    warnings: list[str] = []
    items: list[InvoiceCharge] = []
    basis = interest_basis(step, debtor_kind, terms)
    late_fee = late_fee_of(step, terms)
    for claim in claims:
        principal = max(claim.principal, ZERO)
        first = interest_first_day(step, claim, today, debtor_kind) if basis else None
        interest = ZERO
        if first is not None and basis is not None:
            interest, warning = _interest(basis, principal, first, today)
            if warning and warning not in warnings:
                warnings.append(warning)
        fee = ZERO
        if late_fee is not None and claim.late_fee_charged == 0 and principal > 0:
            fee = late_fee.amount(principal)
        items.append(
            InvoiceCharge(
                invoice_id=claim.invoice_id,
                principal=principal,
                interest=interest,
                interest_from=first,
                late_fee=fee,
            )
        )
    costs = group_costs(
        step,
        [i.principal for i in items],
        vat_applies=vat_applies,
        debtor_kind=debtor_kind,
        terms=terms,
    )
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
    return GroupCharge(
        invoices=tuple(items),
        costs=costs,
        warnings=tuple(warnings),
        interest_kind=basis.kind.value if basis is not None else None,
        terms=terms,
    )


def group_costs(
    step: core.Step,
    principals: list[Decimal],
    *,
    vat_applies: bool,
    debtor_kind: core.DebtorKind = core.DebtorKind.BUSINESS,
    terms: AgreedTerms | None = None,
) -> CollectionCosts | None:
    """The collection costs the step claims on these principals together, or None."""
    basis = step.charges.costs
    if basis is core.CostsBasis.NONE or sum(principals, ZERO) <= 0:
        return None
    if terms is not None and terms.has_costs_clause:
        return agreed_costs(principals, terms, vat_applies=vat_applies, debtor_kind=debtor_kind)
    if terms is not None and terms.costs_clause == CostsClause.BIK:
        return collection_costs(principals, vat_applies=vat_applies)
    if basis is core.CostsBasis.CONTRACT:
        return business_costs(
            principals,
            vat_applies=vat_applies,
            contractual_percent=step.charges.contract_costs_percent,
        )
    return collection_costs(principals, vat_applies=vat_applies)


def agreed_costs(
    principals: list[Decimal],
    terms: AgreedTerms,
    *,
    vat_applies: bool,
    debtor_kind: core.DebtorKind,
) -> CollectionCosts:
    """The costs of an agreed percentage clause on the summed principal (art. 6:96 lid 7 BW),
    at least the agreed minimum. A business owes at least EUR 40 (art. 6:96 lid 4 BW, the
    core's `business_costs`); for a consumer the staffel is the most that can be charged,
    a clause cannot deviate from it to the consumer's detriment (art. 6:96 lid 5 BW)."""
    principal = sum(principals, ZERO)
    agreed = ZERO
    if terms.costs_percent is not None:
        agreed = round_cents(principal * terms.costs_percent / 100)
    if terms.costs_minimum is not None:
        agreed = max(agreed, terms.costs_minimum)
    if debtor_kind is not core.DebtorKind.CONSUMER:
        return business_costs(principals, vat_applies=vat_applies, contractual_amount=agreed)
    staffel = collection_costs(principals, vat_applies=vat_applies)
    if agreed >= staffel.costs:
        return staffel
    # Less than the staffel: the consumer owes what was agreed (VAT as the core adds it,
    # art. 2 lid 3 Besluit BIK). The EUR 40 floor of lid 4 is for businesses only.
    vat = round_cents(agreed * VAT_PERCENT / 100) if vat_applies else ZERO
    return CollectionCosts(
        principal=staffel.principal,
        costs=agreed,
        vat=vat,
        total=agreed + vat,
        basis=CostsBasis.CONTRACT,
    )


def costs_if_unpaid(
    principals: list[Decimal],
    *,
    vat_applies: bool,
    debtor_kind: core.DebtorKind = core.DebtorKind.CONSUMER,
    terms: AgreedTerms | None = None,
) -> CollectionCosts | None:
    """The exact costs a 14-dagenbrief announces (art. 6:96 lid 6 BW: the amount in euros):
    the staffel, or the lower agreed clause."""
    if sum(principals, ZERO) <= 0:
        return None
    if terms is not None and terms.has_costs_clause:
        return agreed_costs(principals, terms, vat_applies=vat_applies, debtor_kind=debtor_kind)
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
    "AgreedTerms",
    "ClaimInput",
    "GroupCharge",
    "InvoiceCharge",
    "costs_context",
    "costs_if_unpaid",
    "fourteen_day_deadline",
    "group_charges",
    "group_costs",
    "interest_basis",
    "late_fee_of",
    "money",
    "rate_table",
    "terms_by_customer",
]
