"""The claim statement (rentenota): a claim's interest, capitalisations and payments in order.

Given a principal, the first interest day, the costs, a rate table and dated payments, the
statement lists every event up to and including `until` and the state on that day:

- interest accrues exactly on the principal from the first interest day (art. 6:119 / 6:119a
  BW); costs bear no interest;
- a payment on day D settles interest up to and including D ("tot en met de dag", art. 6:119a
  lid 1 BW; the same convention for art. 6:119): the accrued interest is rounded HALF_UP, the
  payment is split costs -> interest -> principal (art. 6:44 lid 1 BW), and the reduced
  principal bears interest from D + 1; money beyond the whole claim is `unapplied`;
- at every anniversary of the first interest day on or before `until` the unpaid interest
  (rounded) is added to the principal (art. 6:119 lid 2, 6:119a lid 3 BW); capitalised interest
  is principal from then on; a day that is both an anniversary and a payment day is
  capitalised first (interest up to the day before), then the payment is applied; a
  capitalisation of 0.00 is not listed;
- the state's `interest` is the interest not yet paid or capitalised, rounded at `until`.
See docs/algorithms/statement.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from betaald.core.allocation import Claim, split_within_claim
from betaald.core.errors import InvalidAmount, InvalidPeriod
from betaald.core.interest import anniversary, exact_interest
from betaald.core.money import ZERO, round_exact_cents, to_money
from betaald.core.rates import RateTable

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment credited to the creditor's account on `on` (art. 6:114 lid 2 BW)."""

    on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """How one payment was applied; costs + interest + principal + unapplied == amount."""

    on: date
    amount: Decimal
    costs: Decimal
    interest: Decimal
    principal: Decimal
    unapplied: Decimal
    type: str = "payment"


@dataclass(frozen=True, slots=True)
class CapitalisationEvent:
    """Unpaid interest added to the principal on an anniversary (art. 6:119 lid 2 BW)."""

    on: date
    amount: Decimal
    type: str = "capitalisation"


@dataclass(frozen=True, slots=True)
class StatementState:
    """What is owed after day `on`: `principal` includes capitalised interest."""

    on: date
    costs: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return self.costs + self.interest + self.principal


@dataclass(frozen=True, slots=True)
class Statement:
    events: tuple[PaymentEvent | CapitalisationEvent, ...]
    state: StatementState


class _Running:
    """The mutable state of one statement computation (never leaves this module)."""

    def __init__(self, principal: Decimal, costs: Decimal, first_day: date, table: RateTable):
        self.principal = principal
        self.costs = costs
        self.unpaid = ZERO  # interest rounded at payments, not yet paid or capitalised
        self.accrued = Fraction(0)  # exact interest since the last rounding point
        self.cursor = first_day  # first day not yet accrued
        self.first_day = first_day
        self.table = table
        self.number = 1  # the next anniversary

    def accrue_until(self, stop: date) -> None:
        """Accrue on the current principal over `[cursor, stop)`."""
        if stop > self.cursor:
            self.accrued += exact_interest(self.principal, self.cursor, stop, self.table)
            self.cursor = stop

    def settle_accrued(self) -> None:
        self.unpaid += round_exact_cents(self.accrued)
        self.accrued = Fraction(0)

    def capitalise_through(
        self, day: date, events: list[PaymentEvent | CapitalisationEvent]
    ) -> None:
        """Capitalise at every anniversary on or before `day`."""
        while (moment := anniversary(self.first_day, self.number)) <= day:
            self.accrue_until(moment)
            self.settle_accrued()
            amount, self.unpaid = self.unpaid, ZERO
            self.principal += amount
            if amount > 0:
                events.append(CapitalisationEvent(on=moment, amount=amount))
            self.number += 1


def claim_statement(
    *,
    principal: Decimal | str | int,
    interest_from: date,
    costs: Decimal | str | int,
    payments: Sequence[Payment],
    until: date,
    table: RateTable,
    compound: bool = True,
) -> Statement:
    """The rentenota of one claim up to and including `until` (see the module docstring)."""
    amount = to_money(principal, field="principal")
    cost_amount = to_money(costs, field="costs")
    if amount < 0:
        raise InvalidAmount("a principal cannot be negative", field="principal")
    if cost_amount < 0:
        raise InvalidAmount("costs cannot be negative", field="costs")
    if until < interest_from - ONE_DAY:
        raise InvalidPeriod("until is before the first interest day", field="until")
    checked: list[Payment] = []
    for index, payment in enumerate(payments):
        paid = to_money(payment.amount, field=f"payments[{index}].amount")
        if paid <= 0:
            raise InvalidAmount(
                "a payment must be more than 0.00", field=f"payments[{index}].amount"
            )
        if payment.on > until:
            raise InvalidPeriod("a payment after `until`", field=f"payments[{index}].on")
        checked.append(Payment(payment.on, paid))

    running = _Running(amount, cost_amount, interest_from, table)
    events: list[PaymentEvent | CapitalisationEvent] = []
    for payment in sorted(checked, key=lambda item: item.on):
        if compound:
            running.capitalise_through(payment.on, events)
        running.accrue_until(payment.on + ONE_DAY)
        running.settle_accrued()
        claim = Claim("claim", interest_from, running.costs, running.unpaid, running.principal)
        split = split_within_claim(min(payment.amount, claim.outstanding), claim)
        running.costs -= split.costs
        running.unpaid -= split.interest
        running.principal -= split.principal
        events.append(
            PaymentEvent(
                on=payment.on,
                amount=payment.amount,
                costs=split.costs,
                interest=split.interest,
                principal=split.principal,
                unapplied=payment.amount - split.total,
            )
        )
    if compound:
        running.capitalise_through(until, events)
    running.accrue_until(until + ONE_DAY)
    running.settle_accrued()
    state = StatementState(
        on=until, costs=running.costs, interest=running.unpaid, principal=running.principal
    )
    return Statement(events=tuple(events), state=state)
