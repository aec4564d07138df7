"""betaald.core.references: the betalingskenmerk (Betaalvereniging rules, collection-rules §8)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.core.references import (
    InvalidReference,
    check_digit,
    is_valid_reference,
    make_reference,
)


@pytest.mark.parametrize(
    ("number", "reference"),
    [
        (20250417, "8000000020250417"),
        (123456789012345, "0123456789012345"),  # A mod 11 = 0 -> 11 -> check digit 0
        (0, "0000000000000000"),
    ],
)
def test_make_reference_prefixes_the_check_digit(number, reference):
    """Betaalvereniging: 16 digits = C + 15 digits, weights 2,4,8,5,10,9,7,3,6,1 from the right
    (docs/algorithms/references.md, examples)."""
    assert make_reference(number) == reference
    assert is_valid_reference(reference)


def test_a_remainder_of_one_gives_check_digit_one():
    """C = 11 - (A mod 11) with 10 -> 1: find a body whose sum leaves remainder 1."""
    body = next(f"{n:015d}" for n in range(1000) if 11 - sum_mod(f"{n:015d}") == 10)
    assert check_digit(body) == 1


def sum_mod(digits):
    weights = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
    return sum(int(d) * weights[i % 10] for i, d in enumerate(reversed(digits))) % 11


@pytest.mark.parametrize("number", [-1, 10**15])
def test_make_reference_refuses_numbers_out_of_range(number):
    with pytest.raises(InvalidReference) as error:
        make_reference(number)
    assert error.value.field == "number"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("8000 0000 2025 0417", True),
        ("8000.0000.2025.0417", True),
        ("9000000020250417", False),  # wrong check digit
        ("1234567", True),  # 7 digits carry no check digit
        ("12345678", False),  # 8 is not a valid length
        ("123456789012345", False),  # 15 is not a valid length
        ("abc", False),
        ("١٢٣٤٥٦٧", False),  # non-ASCII digits
        ("", False),
    ],
)
def test_is_valid_reference(value, valid):
    assert is_valid_reference(value) is valid


def short_reference(body):
    """A 9-14 digit reference: C + length code + body."""
    coded = f"{len(body) % 10}{body}"
    return f"{check_digit(coded)}{coded}"


@pytest.mark.parametrize("length", range(7, 13))
def test_short_references_carry_a_length_code(length):
    """Betaalvereniging: 9-14 digits = C + L (count of the following digits mod 10) + digits."""
    reference = short_reference("7" * length)
    assert len(reference) == length + 2
    assert is_valid_reference(reference)
    wrong_length_code = reference[0] + str((int(reference[1]) + 1) % 10) + reference[2:]
    assert not is_valid_reference(wrong_length_code)
    wrong_check = str((int(reference[0]) + 1) % 10) + reference[1:]
    assert not is_valid_reference(wrong_check)


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_every_issued_reference_is_valid_and_carries_its_number(number):
    """Betaalvereniging: the 16-digit form is C + the 15-digit number."""
    reference = make_reference(number)
    assert len(reference) == 16
    assert is_valid_reference(reference)
    assert int(reference[1:]) == number
