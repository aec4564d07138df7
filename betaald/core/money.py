"""Decimal-only money. See docs/adr/0003-money.md.

`round_cents` is the single rounding function of betaald (ROUND_HALF_UP to cents); every
rounding point in the legal calculations calls it, and nothing else rounds money.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

from betaald.core.errors import InvalidAmount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: str | Decimal | int, *, field: str = "amount") -> Decimal:
    """Parse `value` as an exact amount with at most two decimals.

    Floats are refused: they cannot represent cents exactly. Strings may use a decimal point
    (``"1234.56"``); thousands separators and currency signs are refused, so that a typing slip
    never changes an amount silently.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value).quantize(CENT)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise InvalidAmount(
                "%(value)s is not a decimal number", field=field, params={"value": repr(value)}
            ) from None
        if "e" in text.lower():
            raise InvalidAmount(
                "%(value)s: exponent notation is not accepted",
                field=field,
                params={"value": repr(value)},
            )
    else:
        raise InvalidAmount(
            "must be a decimal string, not %(type)s",
            field=field,
            params={"type": type(value).__name__},
        )
    if not amount.is_finite():
        raise InvalidAmount(
            "%(value)s is not a finite number", field=field, params={"value": repr(value)}
        )
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise InvalidAmount(
            "%(value)s has more than two decimals", field=field, params={"value": repr(value)}
        )
    return amount.quantize(CENT)


def round_cents(value: Decimal) -> Decimal:
    """Round an exact amount to cents, half up (0.005 -> 0.01). The only rounding of money."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_exact_cents(value: Fraction) -> Decimal:
    """Round an exact fraction (interest accrued exactly) to cents, half up, away from zero.

    The same rule as `round_cents`, computed in integers so that no digit is lost first.
    """
    cents = abs(value) * 100
    whole = int(cents + Fraction(1, 2))  # floor(x + 1/2) for x >= 0 is HALF_UP
    signed = -whole if value < 0 else whole
    return (Decimal(signed) / 100).quantize(CENT)


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """Split `total` into `parts` amounts that differ by at most a cent and sum to `total`.

    The larger parts come first: 100.00 / 3 -> [33.34, 33.33, 33.33].
    """
    if parts < 1:
        raise InvalidAmount("must be split into at least one part", field="parts")
    total = to_money(total, field="total")
    cents = int(total * 100)
    sign = -1 if cents < 0 else 1
    base, extra = divmod(abs(cents), parts)
    return [
        (Decimal(sign * (base + (1 if index < extra else 0))) / 100).quantize(CENT)
        for index in range(parts)
    ]
