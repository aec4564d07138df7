"""Interest: statutory (art. 6:119 BW), commercial (art. 6:119a BW) and contractual.

Conventions (docs/algorithms/interest.md):
- the interest period is given by its first and last day, both inclusive; internally it is the
  half-open interval ``[first_day, last_day + 1 day)``;
- daily interest = base x percent / 100 / 365, always 365, also in leap years;
- the interval is split at every rate change (art. 6:120 BW) and at every anniversary of the
  first day; at each anniversary on or before the last day the interest of the year just ended
  is added to the base (art. 6:119 lid 2, 6:119a lid 3 BW); the anniversary of 29 February in a
  non-leap year is 28 February; anniversaries always count from the original first day;
- interest accrues exactly (fractions) and is rounded HALF_UP to cents only at each
  capitalisation and at the end — never per segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from betaald.core.calendar import add_months, add_years
from betaald.core.errors import InvalidAmount, InvalidPeriod
from betaald.core.money import ZERO, round_exact_cents, to_money
from betaald.core.rates import RateKind, RateTable, constant_rate, segments

ONE_DAY = timedelta(days=1)
DAYS_IN_YEAR = 365


class RatePer(StrEnum):
    """The period an agreed percentage is expressed in."""

    YEAR = "year"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class InterestYear:
    """One interest year (or part of it): both days inclusive.

    `capitalised` is true when the anniversary (the day after `last_day`) is on or before the
    last day of the whole period, so that `interest` was added to the base; `base` is the
    amount that bore interest in this year.
    """

    first_day: date
    last_day: date
    interest: Decimal
    capitalised: bool
    base: Decimal

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True, slots=True)
class InterestSegment:
    """A stretch of days with one base and one rate (for the line-by-line explanation)."""

    first_day: date
    last_day: date
    base: Decimal
    percent: Decimal

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True, slots=True)
class InterestResult:
    """`interest` is the sum of the rows; `total` = principal + interest."""

    days: int
    interest: Decimal
    total: Decimal
    years: tuple[InterestYear, ...]
    principal: Decimal = ZERO
    segments: tuple[InterestSegment, ...] = ()


def exact_interest(base: Decimal, start: date, end: date, table: RateTable) -> Fraction:
    """Exact interest on `base` over the half-open interval `[start, end)`, unrounded."""
    total = Fraction(0)
    for segment in segments(table, start, end):
        total += Fraction(base) * Fraction(segment.percent) * segment.days / (100 * DAYS_IN_YEAR)
    return total


def anniversary(first_day: date, number: int, *, months: int = 12) -> date:
    """The `number`-th capitalisation date, always counted from the original first day."""
    if months == 12:
        return add_years(first_day, number)
    return add_months(first_day, number * months)


def _checked(principal: Decimal | str | int, first_day: date, last_day: date) -> Decimal:
    amount = to_money(principal, field="principal")
    if amount < 0:
        raise InvalidAmount("a principal cannot be negative", field="principal")
    if last_day < first_day:
        raise InvalidPeriod("the last day is before the first day", field="last_day")
    return amount


def _segments_of(base: Decimal, start: date, end: date, table: RateTable) -> list[InterestSegment]:
    return [
        InterestSegment(part.start, part.last_day, base, part.percent)
        for part in segments(table, start, end)
    ]


def compute_interest(
    principal: Decimal | str | int,
    first_day: date,
    last_day: date,
    table: RateTable,
    *,
    compound: bool = True,
    months: int = 12,
) -> InterestResult:
    """Interest on `principal` from `first_day` through `last_day` (both inclusive).

    `compound`: capitalise every `months` months from the first day (12: art. 6:119 lid 2 BW).
    Simple interest is one row for the whole period, rounded once.
    """
    amount = _checked(principal, first_day, last_day)
    end = last_day + ONE_DAY
    days = (end - first_day).days
    if not compound:
        interest = round_exact_cents(exact_interest(amount, first_day, end, table))
        row = InterestYear(first_day, last_day, interest, False, amount)
        return InterestResult(
            days=days,
            interest=interest,
            total=amount + interest,
            years=(row,),
            principal=amount,
            segments=tuple(_segments_of(amount, first_day, end, table)),
        )
    base = amount
    rows: list[InterestYear] = []
    parts: list[InterestSegment] = []
    start, number = first_day, 1
    while start < end:
        next_anniversary = anniversary(first_day, number, months=months)
        stop = min(next_anniversary, end)
        interest = round_exact_cents(exact_interest(base, start, stop, table))
        capitalised = next_anniversary < end
        rows.append(InterestYear(start, stop - ONE_DAY, interest, capitalised, base))
        parts += _segments_of(base, start, stop, table)
        if capitalised:
            base += interest
        start, number = stop, number + 1
    total_interest = sum((row.interest for row in rows), ZERO)
    return InterestResult(
        days=days,
        interest=total_interest,
        total=amount + total_interest,
        years=tuple(rows),
        principal=amount,
        segments=tuple(parts),
    )


def statutory_interest(
    principal: Decimal | str | int,
    first_day: date,
    last_day: date,
    table: RateTable,
    *,
    compound: bool = True,
) -> InterestResult:
    """Wettelijke rente (art. 6:119 BW) or wettelijke handelsrente (art. 6:119a BW).

    Which one depends on `table` (statutory or commercial). Yearly capitalisation per
    art. 6:119 lid 2 / 6:119a lid 3 BW unless `compound=False` (claims from before 1992).
    """
    return compute_interest(principal, first_day, last_day, table, compound=compound)


def commercial_interest(
    principal: Decimal | str | int,
    first_day: date,
    last_day: date,
    table: RateTable,
    *,
    compound: bool = True,
) -> InterestResult:
    """Wettelijke handelsrente (art. 6:119a BW): `statutory_interest` with the commercial table."""
    return compute_interest(principal, first_day, last_day, table, compound=compound)


def contractual_rate_table(percent: Decimal, *, per: RatePer = RatePer.YEAR) -> RateTable:
    """The yearly rate table of an agreed percentage; a monthly % counts 12 times a year."""
    if percent < 0:
        raise InvalidAmount("an interest rate cannot be negative", field="rate")
    yearly = percent * 12 if per == RatePer.MONTH else percent
    return constant_rate(yearly, kind=RateKind.CONTRACTUAL)


def contractual_interest(
    principal: Decimal | str | int,
    first_day: date,
    last_day: date,
    *,
    percent: Decimal,
    per: RatePer = RatePer.YEAR,
    compound: bool = False,
) -> InterestResult:
    """Agreed interest (art. 6:119 lid 3, 6:119a lid 5 BW): a fixed percentage a year or month.

    A monthly percentage is 12 x the percentage a year, accrued per day over 365 days (the
    same day-count as statutory interest). `compound` capitalises at the end of every agreed
    period (every year, or every month counted from the first day; 31 Jan + 1 month = 28/29 Feb).
    """
    table = contractual_rate_table(percent, per=per)
    months = 1 if per == RatePer.MONTH else 12
    return compute_interest(principal, first_day, last_day, table, compound=compound, months=months)
