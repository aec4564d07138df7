"""betaald.identifiers: the adapter over python-stdnum and schwifty (collection-rules §9)."""

import pytest

from betaald import identifiers
from betaald.identifiers import InvalidIdentifier


@pytest.mark.parametrize(
    ("function", "value", "normalised"),
    [
        (identifiers.normalise_kvk, "12.34.56.78", "12345678"),
        (identifiers.normalise_btw_id, "nl123456789b13", "NL123456789B13"),  # mod 97 (sole trader)
        (identifiers.normalise_btw_id, "NL 1112.22333 B01", "NL111222333B01"),  # 11-proef
        (identifiers.normalise_btw_id, "1000007B01", "NL001000007B01"),  # typing slips
        (identifiers.normalise_rsin, "111 222 333", "111222333"),
        (identifiers.normalise_iban, "NL20 INGB 0001 2345 67", "NL20INGB0001234567"),
        (identifiers.normalise_bic, "ingbnl2a", "INGBNL2A"),
        (identifiers.normalise_sepa_creditor_id, "NL69ZZZ123456780000", "NL69ZZZ123456780000"),
    ],
)
def test_valid_identifiers_are_normalised(function, value, normalised):
    assert function(value) == normalised


@pytest.mark.parametrize(
    ("function", "value", "field"),
    [
        (identifiers.normalise_kvk, "1234567", "kvk_number"),
        (identifiers.normalise_kvk, "", "kvk_number"),
        (identifiers.normalise_btw_id, "NL123456788B13", "vat_number"),
        (identifiers.normalise_btw_id, "BE0123456789", "vat_number"),
        (identifiers.normalise_rsin, "111222334", "rsin"),
        (identifiers.normalise_iban, "NL20INGB0001234568", "iban"),
        (identifiers.normalise_iban, "", "iban"),
        (identifiers.normalise_bic, "XX", "bic"),
        (identifiers.normalise_sepa_creditor_id, "NL00ZZZ123456780000", "sepa_creditor_id"),
    ],
)
def test_invalid_identifiers_name_the_field(function, value, field):
    with pytest.raises(InvalidIdentifier) as error:
        function(value)
    assert error.value.field == field
    assert error.value.message


def test_mod97_check_of_sole_traders_vat_numbers():
    # ISO 7064 over NL123456789B13 with letters as numbers (N=23, L=21, B=11)
    assert identifiers.is_mod97_valid("NL123456789B13".replace("NL", "2321").replace("B", "11"))
    assert not identifiers.is_mod97_valid("12345")
