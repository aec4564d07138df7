"""Payment plans (betalingsregelingen): the instalment schedule and how a plan stands.

A payment plan is an agreement between creditor and debtor; the law has no rules for its
shape. A request for one is an acknowledgement of the debt that interrupts limitation
(*stuiting*, art. 3:318 BW). The conventions below are the project's; see
docs/algorithms/installments.md.

- The plan total is what the caller puts in: the principal plus, optionally, the interest and
  collection costs it computed with the legal core. This module never computes interest.
- Exactly-summing schedules: a number of periods splits the total with `split_evenly` (larger
  instalments first, they differ by at most a cent); an amount per period gives equal
  instalments and a smaller last one. Either way ``sum(amounts) == total``.
- Monthly dates keep the first date's day of the month, clamped to the month's last day
  (31 January, 28 February, 31 March); weekly dates are seven days apart.
- A payment counts towards the instalments in order (the oldest unpaid instalment first).
  Instalment *i* is kept if, by its due date plus the grace days, the cumulative amount paid
  covers instalments 1..*i*. It is missed (the plan is broken) from the day after its due date
  plus grace days; in between the plan is *behind*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from itertools import pairwise

from betaald.core.calendar import add_months
from betaald.core.errors import DomainError
from betaald.core.money import CENT, ZERO, split_evenly, to_money

MAX_INSTALMENTS = 120
MAX_GRACE_DAYS = 60


class InvalidPlan(DomainError):
    """A payment plan cannot be made as asked (it names the field that is wrong)."""


class Frequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class PlanState(StrEnum):
    """How a plan stands on a day. `BEHIND`: an instalment is late but within its grace days."""

    KEPT = "kept"
    BEHIND = "behind"
    BROKEN = "broken"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class Instalment:
    number: int
    due_on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Schedule:
    """A plan's instalments with the parts of its total (principal + interest + costs)."""

    principal: Decimal
    interest: Decimal
    costs: Decimal
    frequency: Frequency
    instalments: tuple[Instalment, ...]

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.costs

    @property
    def count(self) -> int:
        return len(self.instalments)

    @property
    def last_on(self) -> date:
        return self.instalments[-1].due_on


@dataclass(frozen=True, slots=True)
class PlanPayment:
    """Money received towards the plan's invoices on a day (allocations, credit excluded)."""

    on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PlanStatus:
    state: PlanState
    paid: Decimal
    due_so_far: Decimal
    remaining: Decimal
    missed: Instalment | None = None
    broken_on: date | None = None
    next_instalment: Instalment | None = None


def due_dates(first_on: date, frequency: Frequency, count: int) -> list[date]:
    """The due dates of `count` instalments from `first_on` (monthly: clamped to month end)."""
    if frequency is Frequency.WEEKLY:
        return [first_on + timedelta(weeks=index) for index in range(count)]
    return [add_months(first_on, index) for index in range(count)]


def _positive(
    value: Decimal, field: str, message: str, params: dict[str, object] | None = None
) -> Decimal:
    """`value` as money, more than zero; else `message` (a whole sentence, for translation)."""
    amount = to_money(value, field=field)
    if amount <= 0:
        raise InvalidPlan(message, field=field, params=params)
    return amount


def _not_negative(value: Decimal, field: str, message: str) -> Decimal:
    amount = to_money(value, field=field)
    if amount < 0:
        raise InvalidPlan(message, field=field)
    return amount


def _amounts(total: Decimal, count: int | None, amount: Decimal | None) -> list[Decimal]:
    if count is None and amount is None:
        raise InvalidPlan(
            "give the number of instalments or the amount per instalment", field="count"
        )
    if count is not None and not 1 <= count <= MAX_INSTALMENTS:
        raise InvalidPlan(
            "the number of instalments must be 1 to %(max)s",
            field="count",
            params={"max": MAX_INSTALMENTS},
        )
    if amount is None:
        assert count is not None
        if total < CENT * count:
            raise InvalidPlan(
                "%(count)s instalments are more than the cents in %(total)s",
                field="count",
                params={"count": count, "total": total},
            )
        return split_evenly(total, count)
    per = _positive(amount, "amount", "the amount per instalment must be more than zero")
    needed = int((total / per).to_integral_value(rounding=ROUND_CEILING))
    if count is not None:
        if per * count < total:
            raise InvalidPlan(
                "%(count)s instalments of %(per)s do not cover the total of %(total)s",
                field="amount",
                params={"count": count, "per": per, "total": total},
            )
        if needed < count:
            raise InvalidPlan(
                "%(needed)s instalments of %(per)s already cover the total of %(total)s; "
                "%(count)s would leave empty instalments",
                field="count",
                params={"needed": needed, "per": per, "total": total, "count": count},
            )
    if needed > MAX_INSTALMENTS:
        raise InvalidPlan(
            "%(per)s a period needs %(needed)s instalments; at most %(max)s are allowed",
            field="amount",
            params={"per": per, "needed": needed, "max": MAX_INSTALMENTS},
        )
    amounts = [per] * (needed - 1)
    amounts.append(total - per * (needed - 1))
    return amounts


def schedule(
    principal: Decimal,
    *,
    first_on: date,
    today: date,
    frequency: Frequency = Frequency.MONTHLY,
    count: int | None = None,
    amount: Decimal | None = None,
    interest: Decimal = ZERO,
    costs: Decimal = ZERO,
) -> Schedule:
    """Propose a schedule for `principal` + `interest` + `costs` (the plan total).

    Give `count` (number of periods), `amount` (per period), or both (then `count` instalments
    of `amount` must cover the total, and one fewer must not). The instalments sum exactly to
    the total. The first date may be today, not earlier.
    """
    principal = _positive(principal, "principal", "the amount of the plan must be more than zero")
    interest = _not_negative(interest, "interest", "the interest cannot be negative")
    costs = _not_negative(costs, "costs", "the costs cannot be negative")
    if first_on < today:
        raise InvalidPlan(
            "the first instalment date %(date)s is in the past",
            field="first_on",
            params={"date": first_on},
        )
    total = principal + interest + costs
    amounts = _amounts(total, count, amount)
    days = due_dates(first_on, frequency, len(amounts))
    instalments = tuple(
        Instalment(number=index + 1, due_on=day, amount=value)
        for index, (day, value) in enumerate(zip(days, amounts, strict=True))
    )
    return Schedule(principal, interest, costs, frequency, instalments)


def check_instalments(total: Decimal, instalments: Sequence[Instalment], *, today: date) -> None:
    """Refuse a hand-made schedule that does not exactly cover `total`, has an amount of zero
    or less, dates out of order, or a first date in the past."""
    if not instalments:
        raise InvalidPlan("a plan needs at least one instalment", field="instalments")
    for instalment in instalments:
        _positive(
            instalment.amount,
            "instalments",
            "instalment %(number)s must be more than zero",
            {"number": instalment.number},
        )
    for before, after in pairwise(instalments):
        if after.due_on <= before.due_on:
            raise InvalidPlan(
                "instalment %(after)s is not after instalment %(before)s",
                field="instalments",
                params={"after": after.number, "before": before.number},
            )
    if instalments[0].due_on < today:
        raise InvalidPlan(
            "the first instalment date %(date)s is in the past",
            field="first_on",
            params={"date": instalments[0].due_on},
        )
    covered = sum((i.amount for i in instalments), ZERO)
    if covered != total:
        raise InvalidPlan(
            "the instalments add up to %(covered)s, not to the total of %(total)s",
            field="instalments",
            params={"covered": covered, "total": total},
        )


def plan_status(
    instalments: Sequence[Instalment],
    payments: Sequence[PlanPayment],
    today: date,
    grace_days: int = 0,
) -> PlanStatus:
    """How the plan stands on `today`: completed, broken (with the missed instalment and the
    day it broke), behind (an instalment is late, still within grace) or kept.

    Payments after `today` are ignored, so the answer for a past day never changes.
    """
    if not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise InvalidPlan(
            "grace days must be 0 to %(max)s", field="grace_days", params={"max": MAX_GRACE_DAYS}
        )
    ordered = sorted(instalments, key=lambda i: (i.due_on, i.number))
    received = [p for p in payments if p.on <= today]
    total = sum((i.amount for i in ordered), ZERO)
    paid = sum((p.amount for p in received), ZERO)
    due_so_far = sum((i.amount for i in ordered if i.due_on <= today), ZERO)
    remaining = max(total - paid, ZERO)
    if paid >= total:
        return PlanStatus(PlanState.COMPLETED, paid, due_so_far, remaining)
    cumulative = ZERO
    first_open: Instalment | None = None
    for instalment in ordered:
        cumulative += instalment.amount
        last_day = instalment.due_on + timedelta(days=grace_days)
        paid_then = sum((p.amount for p in received if p.on <= last_day), ZERO)
        if last_day < today and paid_then < cumulative:
            return PlanStatus(
                PlanState.BROKEN,
                paid,
                due_so_far,
                remaining,
                missed=instalment,
                broken_on=last_day + timedelta(days=1),
            )
        if first_open is None and paid < cumulative:
            first_open = instalment
    assert first_open is not None  # paid < total, so some instalment is not covered
    if first_open.due_on < today:
        return PlanStatus(
            PlanState.BEHIND,
            paid,
            due_so_far,
            remaining,
            missed=first_open,
            next_instalment=first_open,
        )
    return PlanStatus(PlanState.KEPT, paid, due_so_far, remaining, next_instalment=first_open)


def instalments_to_remind(
    instalments: Sequence[Instalment],
    payments: Sequence[PlanPayment],
    today: date,
    days_before: int,
) -> list[Instalment]:
    """Instalments whose reminder is due on `today`: from `days_before` days before the due
    date up to the due date itself (a missed day still sends it), not yet covered by payments.
    The shell gives each reminder a unique key, so asking twice sends it once."""
    paid = sum((p.amount for p in payments if p.on <= today), ZERO)
    cumulative = ZERO
    due: list[Instalment] = []
    for instalment in sorted(instalments, key=lambda i: (i.due_on, i.number)):
        cumulative += instalment.amount
        window = instalment.due_on - timedelta(days=days_before) <= today <= instalment.due_on
        if window and paid < cumulative:
            due.append(instalment)
    return due
