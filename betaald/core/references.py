"""The Dutch structured payment reference (betalingskenmerk), Betaalvereniging rules.

A 16-digit betalingskenmerk is a check digit C followed by 15 digits. The check digit uses
the weights 2, 4, 8, 5, 10, 9, 7, 3, 6, 1 (repeating) from the rightmost digit leftwards over
all digits after C: C = 11 - (sum mod 11), where 10 -> 1 and 11 -> 0. References of 7 digits
carry no check digit; 9-14 digits are C + length code + digits; 8 and 15 are invalid.
See docs/algorithms/references.md.
"""

from __future__ import annotations

from betaald.core.errors import DomainError

WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)


class InvalidReference(DomainError):
    """A betalingskenmerk is malformed or its check digit is wrong."""


def check_digit(digits: str) -> int:
    """The check digit C for the digits that follow it."""
    total = sum(
        int(digit) * WEIGHTS[index % len(WEIGHTS)] for index, digit in enumerate(reversed(digits))
    )
    digit = 11 - total % 11
    return {10: 1, 11: 0}.get(digit, digit)


def make_reference(number: int) -> str:
    """A 16-digit betalingskenmerk for a non-negative number of at most 15 digits."""
    if number < 0 or number >= 10**15:
        raise InvalidReference("must be between 0 and 999999999999999", field="number")
    body = f"{number:015d}"
    return f"{check_digit(body)}{body}"


def is_valid_reference(value: str) -> bool:
    """True when `value` (spaces and dots allowed) is a valid betalingskenmerk."""
    digits = value.replace(" ", "").replace(".", "")
    if not digits.isdigit() or not digits.isascii():
        return False
    length = len(digits)
    if length == 7:
        return True
    if length == 16:
        return check_digit(digits[1:]) == int(digits[0])
    if 9 <= length <= 14:
        length_code = int(digits[1])
        if length_code != (length - 2) % 10:
            return False
        return check_digit(digits[1:]) == int(digits[0])
    return False
