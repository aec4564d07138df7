"""Amounts and dates as the debtor reads them, in Dutch and English."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.letters.templatetags.letters import format_date, format_euro


@pytest.mark.parametrize(
    ("amount", "nl", "en"),
    [
        ("0.00", "€\xa00,00", "€0.00"),
        ("1234.56", "€\xa01.234,56", "€1,234.56"),
        ("1000000.00", "€\xa01.000.000,00", "€1,000,000.00"),
        ("-5.10", "-€\xa05,10", "-€5.10"),
        ("999.99", "€\xa0999,99", "€999.99"),
    ],
)
def test_amounts_are_printed_the_dutch_and_the_english_way(amount, nl, en):
    assert format_euro(amount, "nl") == nl
    assert format_euro(Decimal(amount), "en") == en


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_a_printed_amount_reads_back_as_the_same_amount(amount):
    dutch = format_euro(amount, "nl").replace("€\xa0", "").replace(".", "").replace(",", ".")
    english = format_euro(amount, "en").replace("€", "").replace(",", "")
    assert Decimal(dutch) == amount
    assert Decimal(english) == amount


def test_dates_are_written_out_with_the_month_name():
    assert format_date("2026-05-05", "nl") == "5 mei 2026"
    assert format_date(date(2026, 12, 31), "en") == "31 December 2026"
    assert format_date("", "nl") == ""
