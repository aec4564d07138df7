"""Statutory interest rate tables as data (art. 6:119, 6:119a and 6:120 BW).

A `RateTable` is a sorted tuple of rows (effective_from, yearly percent). A row applies from
its date up to and including the day before the next row's date. Before the first row there is
no rate (`RateNotFound`); after `confirmed_until` the table is stale (`StaleRate`): the law fixes
a new rate every half-year (art. 6:120 BW) and the last row is never extended silently.
A new rate also applies to interest that is already running (art. 6:120 lid 1), so intervals
are split at every change (`segments`). See docs/algorithms/interest.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from betaald.core.errors import DomainError, InvalidPeriod, RateNotFound

ONE_DAY = timedelta(days=1)


class RateKind(StrEnum):
    """Which statutory rate a claim bears."""

    STATUTORY = "statutory"  # wettelijke rente, art. 6:119 BW
    COMMERCIAL = "commercial"  # wettelijke handelsrente, art. 6:119a/6:119b BW
    CONTRACTUAL = "contractual"  # an agreed rate (art. 6:119 lid 3, 6:119a lid 5 BW)


class StaleRate(RateNotFound):
    """A day after the last confirmed half-year of a rate table: add the new rate first."""


class InvalidRateTable(DomainError):
    """A rate table is empty, unsorted, has duplicate dates or a negative rate."""


@dataclass(frozen=True, slots=True)
class RateRow:
    """One row: `percent` a year from `effective_from` (inclusive)."""

    effective_from: date
    percent: Decimal


@dataclass(frozen=True, slots=True)
class RateSegment:
    """A part of an interval with one rate: `[start, end)` (end exclusive)."""

    start: date
    end: date
    percent: Decimal

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - ONE_DAY


def half_year_end(day: date) -> date:
    """The last day of the half-year (1 Jan-30 Jun or 1 Jul-31 Dec) that contains `day`."""
    return date(day.year, 6, 30) if day.month <= 6 else date(day.year, 12, 31)


def half_year_start(day: date) -> date:
    """The first day of the half-year that contains `day`."""
    return date(day.year, 1, 1) if day.month <= 6 else date(day.year, 7, 1)


@dataclass(frozen=True, slots=True)
class RateTable:
    """A rate table. `confirmed_until=None` means the last row runs on without limit."""

    kind: str
    rows: tuple[RateRow, ...]
    confirmed_until: date | None = None

    def __post_init__(self) -> None:
        if not self.rows:
            raise InvalidRateTable(
                "the %(kind)s rate table has no rows", field="rows", params={"kind": self.kind}
            )
        for earlier, later in zip(self.rows, self.rows[1:], strict=False):
            if later.effective_from <= earlier.effective_from:
                raise InvalidRateTable(
                    "rows must have increasing dates (%(date)s)",
                    field="effective_from",
                    params={"date": later.effective_from},
                )
        for row in self.rows:
            if row.percent < 0:
                raise InvalidRateTable(
                    "negative rate on %(date)s",
                    field="rate_percent",
                    params={"date": row.effective_from},
                )

    @property
    def first_day(self) -> date:
        return self.rows[0].effective_from

    def unbounded(self) -> RateTable:
        """The same rows without a confirmation limit (the last row runs on); use knowingly."""
        return replace(self, confirmed_until=None)


def rate_table(
    kind: str, rows: list[tuple[date, Decimal]], *, confirmed_until: date | None = None
) -> RateTable:
    """Build a table from (effective_from, percent) pairs in any order."""
    return RateTable(
        kind=kind,
        rows=tuple(RateRow(day, percent) for day, percent in sorted(rows)),
        confirmed_until=confirmed_until,
    )


def confirmed_through_last_half_year(kind: str, rows: list[tuple[date, Decimal]]) -> RateTable:
    """A table confirmed up to the end of the half-year of its latest row.

    The rule used for the packaged tables and the database: an administrator adds a row for
    every new half-year (even an unchanged rate) to confirm it.
    """
    table = rate_table(kind, rows)
    return replace(table, confirmed_until=half_year_end(table.rows[-1].effective_from))


def parse_rate_csv(text: str, *, kind: str) -> RateTable:
    """Parse `effective_from,rate_percent` CSV text (header required) into a confirmed table."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0].replace(" ", "") != "effective_from,rate_percent":
        raise InvalidRateTable("the header must be effective_from,rate_percent", field="header")
    rows: list[tuple[date, Decimal]] = []
    for number, line in enumerate(lines[1:], start=2):
        parts = [part.strip() for part in line.split(",")]
        try:
            if len(parts) != 2:
                raise ValueError
            day = date.fromisoformat(parts[0])
            percent = Decimal(parts[1])
        except (ValueError, InvalidOperation):
            raise InvalidRateTable(
                "line %(number)s is not a date and a rate", field="rows", params={"number": number}
            ) from None
        rows.append((day, percent))
    return confirmed_through_last_half_year(kind, rows)


def rate_on(table: RateTable, day: date) -> Decimal:
    """The yearly percent on `day`: the row with the greatest effective_from <= day."""
    if day < table.first_day:
        raise RateNotFound(
            "no %(kind)s rate before %(date)s",
            field="date",
            params={"kind": table.kind, "date": table.first_day},
        )
    if table.confirmed_until is not None and day > table.confirmed_until:
        raise StaleRate(
            "the %(kind)s rate table is confirmed up to %(until)s; add the rate for %(day)s first",
            field="date",
            params={"kind": table.kind, "until": table.confirmed_until, "day": day},
        )
    percent = table.rows[0].percent
    for row in table.rows:
        if row.effective_from > day:
            break
        percent = row.percent
    return percent


def segments(table: RateTable, start: date, end: date) -> list[RateSegment]:
    """Split the half-open interval `[start, end)` at every rate change.

    An empty interval (`start == end`) has no segments; `end < start` is an error. Both the
    first and the last day of the interval must have a rate.
    """
    if end < start:
        raise InvalidPeriod("the end is before the start", field="end")
    if end == start:
        return []
    rate_on(table, start)
    rate_on(table, end - ONE_DAY)
    result: list[RateSegment] = []
    cursor = start
    changes = [row.effective_from for row in table.rows if start < row.effective_from < end]
    for change in [*changes, end]:
        result.append(RateSegment(cursor, change, rate_on(table, cursor)))
        cursor = change
    return result


def constant_rate(percent: Decimal, *, kind: str = RateKind.CONTRACTUAL) -> RateTable:
    """A table with one rate for every day (an agreed fixed rate)."""
    if percent < 0:
        raise InvalidRateTable("an interest rate cannot be negative", field="rate")
    return RateTable(kind=kind, rows=(RateRow(date.min, percent),))
