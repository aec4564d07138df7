"""What a direct debit collects of a plan's instalments: payments count towards the oldest
instalment first (docs/algorithms/installments.md), so each instalment still needs
``min(amount, cumulative - paid)`` and never less than nothing. No database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.bank.sepa import instalment_open_parts


@pytest.mark.parametrize(
    ("amounts", "paid", "parts"),
    [
        (["605.00", "605.00", "605.00"], "0", ["605.00", "605.00", "605.00"]),
        (["605.00", "605.00", "605.00"], "605.00", ["0", "605.00", "605.00"]),
        (["605.00", "605.00", "605.00"], "700.00", ["0", "510.00", "605.00"]),
        (["605.00", "605.00", "605.00"], "1815.00", ["0", "0", "0"]),
        (["605.00", "605.00", "605.00"], "2000.00", ["0", "0", "0"]),  # overpaid
        (["100.00", "50.00"], "-20.00", ["100.00", "50.00"]),  # a reversal before any payment
    ],
)
def test_open_parts_examples(amounts, paid, parts):
    assert instalment_open_parts([Decimal(a) for a in amounts], Decimal(paid)) == [
        Decimal(p) for p in parts
    ]


@given(
    amounts=st.lists(
        st.decimals(min_value="0.01", max_value="5000", places=2), min_size=1, max_size=24
    ),
    paid=st.decimals(min_value="-100", max_value="130000", places=2),
)
def test_open_parts_cover_exactly_what_is_not_paid_oldest_first(amounts, paid):
    """Property: each part is between 0 and its instalment; together they are what the
    payments leave open; an instalment is only open when all later ones are wholly open."""
    parts = instalment_open_parts(amounts, paid)
    total = sum(amounts, Decimal("0"))
    assert sum(parts, Decimal("0")) == total - min(max(paid, Decimal("0")), total)
    assert all(Decimal("0") <= part <= amount for part, amount in zip(parts, amounts, strict=True))
    for index, part in enumerate(parts):
        if part > 0:
            assert parts[index + 1 :] == amounts[index + 1 :]
