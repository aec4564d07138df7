"""betaald.core.rates: rate tables as data (art. 6:119, 6:119a, 6:120 BW)."""

from datetime import date
from decimal import Decimal

import pytest

from betaald.core.errors import InvalidPeriod, RateNotFound
from betaald.core.rates import (
    InvalidRateTable,
    RateSegment,
    StaleRate,
    constant_rate,
    half_year_end,
    half_year_start,
    parse_rate_csv,
    rate_on,
    rate_table,
    segments,
)


@pytest.mark.parametrize(
    ("day", "percent"),
    [
        (date(1992, 1, 1), "12.00"),
        (date(2014, 12, 31), "3.00"),
        (date(2015, 1, 1), "2.00"),
        (date(2022, 12, 31), "2.00"),
        (date(2023, 7, 1), "6.00"),
        (date(2025, 8, 1), "6.00"),  # no 2025-07-01 row: the 2025-01-01 rate continues
        (date(2026, 6, 30), "4.00"),
    ],
)
def test_statutory_rate_is_the_last_row_on_or_before_the_day(statutory, day, percent):
    """Art. 6:119/6:120 lid 1 BW: the rate fixed by order in council, looked up by date."""
    assert rate_on(statutory, day) == Decimal(percent)


@pytest.mark.parametrize(
    ("day", "percent"),
    [
        (date(2002, 8, 8), "10.35"),
        (date(2013, 3, 15), "7.75"),
        (date(2013, 3, 16), "8.75"),  # +7 became +8 points
        (date(2024, 1, 1), "12.50"),
        (date(2026, 1, 1), "10.15"),
    ],
)
def test_commercial_rate_follows_the_half_years(commercial, day, percent):
    """Art. 6:119a/6:120 lid 2 BW: ECB rate + 8 points (7 before 16 March 2013) per half-year."""
    assert rate_on(commercial, day) == Decimal(percent)


def test_before_the_first_row_there_is_no_rate(statutory, commercial):
    """Art. 6:119a BW applies to contracts after 7 Aug 2002; our statutory table starts 1992."""
    with pytest.raises(RateNotFound):
        rate_on(statutory, date(1991, 12, 31))
    with pytest.raises(RateNotFound) as error:
        rate_on(commercial, date(2002, 8, 7))
    assert not isinstance(error.value, StaleRate)


def test_after_the_last_confirmed_half_year_the_table_is_stale(statutory):
    """Art. 6:120 BW: a new rate every half-year; the last row is never extended silently."""
    assert statutory.confirmed_until == date(2026, 6, 30)
    with pytest.raises(StaleRate) as error:
        rate_on(statutory, date(2026, 7, 1))
    assert "2026-06-30" in str(error.value)
    assert rate_on(statutory.unbounded(), date(2030, 1, 1)) == Decimal("4.00")


def test_segments_split_at_every_rate_change(commercial):
    """Art. 6:120 lid 1 BW: a new rate also applies to interest already running."""
    assert segments(commercial, date(2013, 2, 1), date(2013, 7, 2)) == [
        RateSegment(date(2013, 2, 1), date(2013, 3, 16), Decimal("7.75")),
        RateSegment(date(2013, 3, 16), date(2013, 7, 1), Decimal("8.75")),
        RateSegment(date(2013, 7, 1), date(2013, 7, 2), Decimal("8.50")),
    ]
    part = segments(commercial, date(2013, 2, 1), date(2013, 3, 16))[0]
    assert (part.days, part.last_day) == (43, date(2013, 3, 15))
    assert segments(commercial, date(2013, 2, 1), date(2013, 2, 1)) == []
    with pytest.raises(InvalidPeriod):
        segments(commercial, date(2013, 2, 2), date(2013, 2, 1))


def test_half_years():
    """Art. 6:120 lid 2 BW: rates are fixed per half-year."""
    assert half_year_start(date(2026, 6, 30)) == date(2026, 1, 1)
    assert half_year_end(date(2026, 6, 30)) == date(2026, 6, 30)
    assert half_year_start(date(2026, 7, 1)) == date(2026, 7, 1)
    assert half_year_end(date(2026, 7, 1)) == date(2026, 12, 31)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "day,percent\n2020-01-01,2.00",
        "effective_from,rate_percent\n2020-01-01",
        "effective_from,rate_percent\n2020-13-01,2.00",
        "effective_from,rate_percent\n2020-01-01,two",
        "effective_from,rate_percent\n2020-01-01,2.00,x",
        "effective_from,rate_percent\n2020-01-01,2.00\n2020-01-01,3.00",
        "effective_from,rate_percent\n2020-01-01,-1.00",
        "effective_from,rate_percent\n",
    ],
)
def test_a_malformed_rate_file_is_refused(text):
    """Rate tables are data an administrator edits; errors are named, never guessed."""
    with pytest.raises(InvalidRateTable):
        parse_rate_csv(text, kind="statutory")


def test_rows_may_be_given_in_any_order_and_a_constant_rate_is_one_row():
    """Art. 6:119 lid 3 BW: an agreed rate is a table with one row."""
    table = rate_table(
        "statutory", [(date(2021, 1, 1), Decimal("3")), (date(2020, 1, 1), Decimal("2"))]
    )
    assert [row.effective_from.year for row in table.rows] == [2020, 2021]
    assert table.confirmed_until is None
    assert rate_on(constant_rate(Decimal("5")), date(1900, 1, 1)) == Decimal("5")
    with pytest.raises(InvalidRateTable):
        constant_rate(Decimal("-1"))
