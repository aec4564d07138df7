"""betaald.core.invoicing: totals per VAT rate and the legal completeness check of an invoice
(art. 35a lid 1 Wet OB 1968; art. 27 Handelsregisterwet 2007; art. 6:119a lid 5 BW)."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from betaald.core.errors import DomainError
from betaald.core.invoicing import (
    InvoiceFacts,
    Line,
    VatRate,
    check_invoice,
    due_date,
    invoice_totals,
    line_amount,
)

D = Decimal


def test_totals_round_each_line_then_compute_vat_once_per_rate():
    """Art. 35a lid 1 h-j Wet OB: taxable amount per rate, the rate and the VAT amount."""
    totals = invoice_totals(
        [
            Line(D("3"), D("0.335"), VatRate.STANDARD),  # 1.005 -> 1.01
            Line(D("1"), D("0.335"), VatRate.STANDARD),  # 0.335 -> 0.34
            Line(D("12.5"), D("19.99"), VatRate.REDUCED),  # 249.875 -> 249.88
            Line(D("1"), D("100.00"), VatRate.REVERSE_CHARGE),
        ]
    )
    assert totals.lines == (D("1.01"), D("0.34"), D("249.88"), D("100.00"))
    groups = {group.rate: (group.base, group.vat) for group in totals.groups}
    assert groups == {
        VatRate.STANDARD: (D("1.35"), D("0.28")),
        VatRate.REDUCED: (D("249.88"), D("22.49")),
        VatRate.REVERSE_CHARGE: (D("100.00"), D("0.00")),
    }
    assert totals.groups[0].rate is VatRate.STANDARD
    assert (totals.excl_vat, totals.vat, totals.incl_vat) == (D("351.23"), D("22.77"), D("374.00"))


def test_an_empty_invoice_totals_zero():
    totals = invoice_totals([])
    assert (totals.excl_vat, totals.vat, totals.incl_vat, totals.groups) == (0, 0, 0, ())


@pytest.mark.parametrize(
    ("rate", "percent"),
    [
        (VatRate.STANDARD, 21),
        (VatRate.REDUCED, 9),
        (VatRate.ZERO, 0),
        (VatRate.EXEMPT, 0),
        (VatRate.REVERSE_CHARGE, 0),
    ],
)
def test_vat_rates_and_their_percentages(rate, percent):
    """Art. 9 Wet OB: 21% general rate, 9% reduced (since 2019), 0%; verlegging art. 12."""
    assert rate.percent == percent


@given(
    quantities=st.lists(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=6),
    price_cents=st.integers(min_value=0, max_value=10**7),
)
def test_the_total_is_always_the_sum_of_its_parts(quantities, price_cents):
    lines = [Line(D(q), D(price_cents) / 100, VatRate.STANDARD) for q in quantities]
    totals = invoice_totals(lines)
    assert totals.incl_vat == totals.excl_vat + totals.vat
    assert totals.excl_vat == sum(line_amount(line) for line in lines)


COMPLETE = InvoiceFacts(
    issue_date=date(2026, 3, 2),
    supplier_name="Jansen Bouw B.V.",
    supplier_address="Oudegracht 1 3511 AA Utrecht",
    supplier_vat_number="NL123456789B13",
    supplier_kvk_number="12345678",
    customer_name="Klant B.V.",
    customer_address="Kalverstraat 10 1012 AB Amsterdam",
    customer_is_business=True,
    customer_vat_number="",
    customer_country="NL",
    lines=(("Metselwerk", D("8"), D("55.00"), VatRate.STANDARD),),
    delivery_date=None,
    due_date=date(2026, 3, 16),
    payment_term_days=14,
)


def codes(facts):
    return {finding.code for finding in check_invoice(facts)}


def test_a_complete_invoice_has_no_findings():
    assert check_invoice(COMPLETE) == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"issue_date": None}, "issue_date_missing"),  # art. 35a lid 1 a
        ({"supplier_name": " "}, "supplier_name_missing"),  # lid 1 e
        ({"supplier_address": ""}, "supplier_address_missing"),  # lid 1 e
        ({"supplier_vat_number": ""}, "supplier_vat_missing"),  # lid 1 c
        ({"supplier_kvk_number": ""}, "supplier_kvk_missing"),  # art. 27 Hrw 2007
        ({"customer_name": ""}, "customer_name_missing"),  # lid 1 e
        ({"customer_address": ""}, "customer_address_missing"),  # lid 1 e
        ({"lines": ()}, "no_lines"),  # lid 1 f
        ({"lines": (("", D("1"), D("1"), VatRate.STANDARD),)}, "line_description_missing"),
        ({"lines": (("Werk", D("0"), D("1"), VatRate.STANDARD),)}, "line_quantity_not_positive"),
        ({"due_date": None}, "due_date_missing"),
        ({"payment_term_days": -1}, "payment_term_negative"),
        ({"payment_term_days": 61}, "payment_term_over_60"),  # art. 6:119a lid 5 BW
        ({"customer_country": "BE"}, "intra_eu_needs_vat"),  # lid 1 d
    ],
)
def test_each_missing_item_is_found(change, code):
    assert code in codes(replace(COMPLETE, **change))


def test_reverse_charge_needs_a_business_customer_with_a_vat_number():
    """Art. 35a lid 1 d and m Wet OB: 'btw verlegd' with the customer's VAT id."""
    facts = replace(
        COMPLETE,
        customer_is_business=False,
        lines=(("Installatie", D("1"), D("500"), VatRate.REVERSE_CHARGE),),
    )
    assert {"reverse_charge_needs_business", "reverse_charge_needs_vat"} <= codes(facts)
    with_vat = replace(facts, customer_is_business=True, customer_vat_number="NL123456789B13")
    assert codes(with_vat) == set()


def test_a_term_over_30_days_warns_and_over_60_blocks_only_for_businesses():
    warn = check_invoice(replace(COMPLETE, payment_term_days=45))
    assert [(f.code, f.blocking) for f in warn] == [("payment_term_over_30", False)]
    consumer = check_invoice(replace(COMPLETE, payment_term_days=90, customer_is_business=False))
    assert [(f.code, f.blocking) for f in consumer] == [("payment_term_over_30", False)]
    assert codes(replace(COMPLETE, payment_term_days=None)) == set()


def test_a_credit_note_needs_the_original_and_may_have_negative_quantities():
    credit = replace(
        COMPLETE,
        is_credit_note=True,
        lines=(("Correctie", D("-1"), D("55.00"), VatRate.STANDARD),),
        due_date=None,
    )
    assert codes(credit) == {"credit_note_needs_original"}
    assert codes(replace(credit, credited_invoice_number="2026-00001")) == set()


def test_the_due_date_adds_the_term_in_calendar_days():
    assert due_date(date(2026, 12, 20), 14) == date(2027, 1, 3)
    with pytest.raises(DomainError) as error:
        due_date(date(2026, 1, 1), -1)
    assert error.value.field == "payment_term_days"
