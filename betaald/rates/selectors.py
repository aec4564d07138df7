"""Read the rate tables and the holiday calendar for the core.

The tables come from the database when the `RatePeriod` table exists and has rows for the
kind, else from the CSV files packaged in `betaald/rates/data/` (so that `betaald calc` works
on a fresh clone without a migrated database).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import DatabaseError, connection

from betaald.core.calendar import HolidayCalendar, holiday_calendar
from betaald.core.errors import DomainError
from betaald.core.rates import (
    RateTable,
    confirmed_through_last_half_year,
    half_year_start,
    parse_rate_csv,
)
from betaald.rates.models import HolidayOverride, RatePeriod

DATA_DIR = Path(__file__).resolve().parent / "data"
CSV_FILES = {
    RatePeriod.Kind.STATUTORY: "wettelijke_rente.csv",
    RatePeriod.Kind.COMMERCIAL: "handelsrente.csv",
}


class UnknownRateKind(DomainError):
    """A rate kind other than statutory or commercial."""


def _table_exists(name: str) -> bool:
    try:
        return name in connection.introspection.table_names()
    except DatabaseError:
        return False


def packaged_rate_table(kind: str) -> RateTable:
    """The table from the CSV file shipped with betaald."""
    if kind not in CSV_FILES:
        raise UnknownRateKind("must be statutory or commercial", field="kind")
    text = (DATA_DIR / CSV_FILES[RatePeriod.Kind(kind)]).read_text(encoding="utf-8")
    return parse_rate_csv(text, kind=kind)


def database_rows(kind: str) -> list[tuple[date, Decimal]]:
    """The rows of `kind` in the database; empty when the table is missing or empty."""
    if not _table_exists(RatePeriod._meta.db_table):
        return []
    try:
        return [
            (row.effective_from, row.rate_percent)
            for row in RatePeriod.objects.filter(kind=kind).order_by("effective_from")
        ]
    except DatabaseError:  # pragma: no cover - a database that fails between two queries
        return []


def rate_table(kind: str) -> RateTable:
    """The rate table of `kind` (statutory or commercial), confirmed up to the end of the
    half-year of its latest row."""
    if kind not in CSV_FILES:
        raise UnknownRateKind("must be statutory or commercial", field="kind")
    rows = database_rows(kind)
    if rows:
        return confirmed_through_last_half_year(kind, rows)
    return packaged_rate_table(kind)


def rate_table_is_stale(kind: str, today: date) -> bool:
    """True when the table has no row for the half-year that contains `today`."""
    table = rate_table(kind)
    return table.rows[-1].effective_from < half_year_start(today)


def atw_holidays() -> HolidayCalendar:
    """The Atw holidays: computed days and the decree pattern plus the admin's overrides."""
    if not _table_exists(HolidayOverride._meta.db_table):
        return holiday_calendar()
    overrides = list(HolidayOverride.objects.all())
    return holiday_calendar(
        extra=[item.day for item in overrides if item.is_holiday],
        removed=[item.day for item in overrides if not item.is_holiday],
    )
