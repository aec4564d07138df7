"""Payment matching (docs/algorithms/matching.md): candidates with reasons and scores, and the
decision to book automatically only when the match is unambiguous and above the threshold."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betaald.core import matching
from betaald.core.matching import (
    AUTO_BOOK_THRESHOLD,
    BankLine,
    Candidate,
    OpenItem,
    OpenItemIndex,
    candidates,
    decide,
)
from betaald.core.references import make_reference

REF_A = make_reference(1001)
REF_B = make_reference(1002)
REF_C = make_reference(1003)


def item(invoice_id, customer_id, amount, *, number=None, reference=None, due=None):
    return OpenItem(
        invoice_id=invoice_id,
        customer_id=customer_id,
        number=number if number is not None else f"2026-{invoice_id:04d}",
        payment_reference=reference if reference is not None else make_reference(invoice_id),
        open_amount=Decimal(amount),
        due_on=due,
    )


def index_of(*items, ibans=None):
    return OpenItemIndex(items, ibans or {})


def line(amount, *, iban="", reference="", text=""):
    return BankLine(
        amount=Decimal(amount),
        counterparty_iban=iban,
        structured_reference=reference,
        remittance=text,
    )


def reasons(found):
    return [(c.reason, c.customer_id, c.invoice_ids, c.score) for c in found]


# --- 1. betalingskenmerk --------------------------------------------------------------------


def test_structured_betalingskenmerk_with_the_exact_open_amount_scores_100():
    index = index_of(item(1, 10, "121.00", reference=REF_A))
    found = candidates(line("121.00", reference=REF_A), index)
    assert reasons(found) == [("reference", 10, (1,), 100)]
    assert found[0].explanation == f"betalingskenmerk {REF_A} is invoice 2026-0001"
    assert decide(found) == found[0]


def test_betalingskenmerk_with_spaces_and_another_amount_scores_90():
    index = index_of(item(1, 10, "121.00", reference=REF_A))
    spaced = " ".join(REF_A[i : i + 4] for i in range(0, 16, 4))
    found = candidates(line("100.00", reference=spaced), index)
    assert reasons(found) == [("reference", 10, (1,), 90)]
    assert "(open 121.00)" in found[0].explanation
    assert decide(found) is not None  # a partial payment with the kenmerk is still booked


def test_a_betalingskenmerk_with_a_bad_check_digit_is_ignored():
    bad = ("1" if REF_A[0] != "1" else "2") + REF_A[1:]
    index = index_of(item(1, 10, "121.00", reference=bad))
    assert candidates(line("121.00", reference=bad), index) == []


def test_an_unknown_valid_betalingskenmerk_gives_no_candidate():
    index = index_of(item(1, 10, "121.00", reference=REF_A))
    assert candidates(line("121.00", reference=REF_B), index) == []


def test_betalingskenmerk_typed_in_the_free_text_scores_85():
    index = index_of(item(1, 10, "50.00", reference=REF_A), item(2, 11, "60.00", reference=REF_B))
    text = f"betaling {REF_A[:4]}.{REF_A[4:8]}.{REF_A[8:12]}.{REF_A[12:]} dank"
    found = candidates(line("50.00", text=text), index)
    assert reasons(found) == [("reference_in_text", 10, (1,), 85)]


def test_free_text_reference_equal_to_the_structured_one_counts_once():
    index = index_of(item(1, 10, "50.00", reference=REF_A))
    found = candidates(line("50.00", reference=REF_A, text=f"kenmerk {REF_A}"), index)
    assert reasons(found) == [("reference", 10, (1,), 100)]


def test_free_text_numbers_that_are_not_references_are_ignored():
    index = index_of(item(1, 10, "50.00", reference=REF_A))
    assert candidates(line("50.00", text="order 1234567890123456"), index) == []
    assert candidates(line("50.00", text=f"ref {REF_B}"), index) == []


# --- 2. invoice number ----------------------------------------------------------------------


def test_invoice_number_in_the_text_with_the_exact_amount_scores_85():
    index = index_of(item(1, 10, "242.00", number="F2026-0001"))
    found = candidates(line("242.00", text="Betreft factuur f2026-0001, dank u"), index)
    assert reasons(found) == [("invoice_number", 10, (1,), 85)]
    assert found[0].explanation == "invoice number F2026-0001 in the description"


def test_several_invoice_numbers_of_one_customer_make_one_candidate():
    index = index_of(item(1, 10, "100.00"), item(2, 10, "50.00"), item(3, 11, "75.00"))
    found = candidates(line("150.00", text="2026-0001 2026-0002 2026-0001"), index)
    assert reasons(found) == [("invoice_number", 10, (1, 2), 85)]


def test_invoice_number_with_another_amount_scores_70_and_needs_review():
    index = index_of(item(1, 10, "100.00"))
    found = candidates(line("60.00", text="factuur 2026-0001"), index)
    assert reasons(found) == [("invoice_number", 10, (1,), 70)]
    assert "(open 100.00)" in found[0].explanation
    assert decide(found) is None


def test_numbers_of_two_customers_are_two_candidates_and_ambiguous():
    index = index_of(item(1, 10, "100.00"), item(2, 11, "100.00"))
    found = candidates(line("100.00", text="2026-0001 / 2026-0002"), index)
    assert {c.customer_id for c in found} == {10, 11}
    assert decide(found) is None


def test_an_invoice_without_number_or_reference_is_found_by_iban_only():
    bare = item(1, 10, "80.00", number="", reference="")
    index = index_of(bare, ibans={"NL02ABNA0123456789": 10})
    found = candidates(line("80.00", iban="NL02 ABNA 0123 4567 89"), index)
    assert reasons(found) == [("exact_amount", 10, (1,), 75)]


# --- 3-5. known IBAN -----------------------------------------------------------------------

IBAN = "NL02ABNA0123456789"


def test_known_iban_and_the_exact_open_amount_of_one_invoice_is_booked():
    index = index_of(item(1, 10, "100.00"), item(2, 10, "40.00"), ibans={IBAN: 10})
    found = candidates(line("40.00", iban=IBAN), index)
    assert reasons(found) == [("exact_amount", 10, (2,), 75)]
    assert "known IBAN" in found[0].explanation
    assert decide(found) == found[0]


def test_two_invoices_with_the_same_open_amount_are_ambiguous():
    index = index_of(item(1, 10, "40.00"), item(2, 10, "40.00"), ibans={IBAN: 10})
    found = candidates(line("40.00", iban=IBAN), index)
    assert [c.reason for c in found] == ["exact_amount", "exact_amount"]
    assert decide(found) is None


def test_known_iban_and_the_sum_of_several_invoices_goes_to_review():
    index = index_of(
        item(1, 10, "100.00"), item(2, 10, "40.00"), item(3, 10, "7.50"), ibans={IBAN: 10}
    )
    found = candidates(line("147.50", iban=IBAN), index)
    assert reasons(found) == [("sum_of_invoices", 10, (1, 2, 3), 65)]
    assert decide(found) is None
    assert decide(found, threshold=60) == found[0]


def test_known_iban_with_a_different_amount_is_a_partial_candidate():
    index = index_of(
        item(2, 10, "40.00", due=date(2026, 3, 1)),
        item(1, 10, "100.00", due=date(2026, 2, 1)),
        ibans={IBAN: 10},
    )
    found = candidates(line("33.00", iban=IBAN), index)
    assert reasons(found) == [("partial", 10, (1, 2), 40)]  # oldest due first
    assert "matches no open amount" in found[0].explanation


def test_known_iban_of_a_customer_without_open_invoices_is_partial_without_invoices():
    index = index_of(item(1, 11, "10.00"), ibans={IBAN: 10})
    assert reasons(candidates(line("5.00", iban=IBAN), index)) == [("partial", 10, (), 40)]


def test_unknown_iban_gives_nothing():
    index = index_of(item(1, 10, "40.00"), ibans={IBAN: 10})
    assert candidates(line("40.00", iban="NL91ABNA0417164300"), index) == []
    assert candidates(line("40.00"), index) == []


def test_many_open_invoices_use_prefixes_and_pairs():
    many = [item(i, 10, "10.00", due=date(2026, 1, i)) for i in range(1, 16)]
    many.append(item(99, 10, "1234.56", due=date(2026, 2, 1)))
    index = index_of(*many, ibans={IBAN: 10})
    prefix = candidates(line("30.00", iban=IBAN), index)
    assert reasons(prefix)[0] == ("sum_of_invoices", 10, (1, 2, 3), 65)
    pair = candidates(line("1244.56", iban=IBAN), index)
    assert len(pair) == 15  # each 10.00 with the 1234.56
    two = candidates(line("20.00", iban=IBAN), index)
    assert ("sum_of_invoices", 10, (1, 2), 65) in reasons(two)  # prefix and pair: listed once
    assert len(two) == matching.MAX_SUBSETS  # 105 pairs would fit: capped


def test_exhaustive_subset_search_is_capped_and_skips_non_positive_amounts():
    equal = [item(i, 10, "10.00") for i in range(1, 13)]
    index = index_of(*equal, item(50, 10, "0.00"), ibans={IBAN: 10})
    found = candidates(line("20.00", iban=IBAN), index)
    assert len(found) == matching.MAX_SUBSETS
    assert all(50 not in c.invoice_ids for c in found)


@settings(max_examples=100, deadline=None)
@given(
    amounts_=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=2),
        min_size=2,
        max_size=8,
    ),
    picks=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_subset_search_finds_every_subset_that_a_brute_force_finds(amounts_, picks):
    from itertools import combinations

    items = [item(i + 1, 10, str(a)) for i, a in enumerate(amounts_)]
    chosen = [it for it, pick in zip(items, picks, strict=False) if pick]
    if len(chosen) < 2:
        return
    target = sum((it.open_amount for it in chosen), Decimal("0"))
    found = matching._subsets_with_sum(items, target)
    brute = [
        subset
        for size in range(2, len(items) + 1)
        for subset in combinations(items, size)
        if sum((it.open_amount for it in subset), Decimal("0")) == target
    ]
    assert set(found) <= set(brute)
    assert len(found) == min(len(set(brute)), matching.MAX_SUBSETS)


# --- combining and deciding -----------------------------------------------------------------


def test_the_strongest_reason_wins_for_the_same_proposal():
    index = index_of(item(1, 10, "40.00", reference=REF_A), ibans={IBAN: 10})
    found = candidates(line("40.00", iban=IBAN, reference=REF_A, text="2026-0001"), index)
    assert reasons(found) == [("reference", 10, (1,), 100)]


def test_a_weaker_reason_never_replaces_a_stronger_one():
    index = index_of(item(1, 10, "40.00", reference=REF_A), ibans={IBAN: 10})
    found = candidates(line("40.00", iban=IBAN, text=f"2026-0001 {REF_A}"), index)
    assert reasons(found) == [("reference_in_text", 10, (1,), 85)]


def test_a_reference_beats_an_exact_amount_of_another_invoice():
    index = index_of(item(1, 10, "40.00", reference=REF_A), item(2, 10, "40.00"), ibans={IBAN: 10})
    found = candidates(line("40.00", iban=IBAN, reference=REF_A), index)
    assert [c.reason for c in found] == ["reference", "exact_amount"]
    assert decide(found).invoice_ids == (1,)


def test_zero_or_negative_lines_have_no_candidates():
    index = index_of(item(1, 10, "0.00"), ibans={IBAN: 10})
    assert candidates(line("0.00", iban=IBAN), index) == []


def test_decide_without_candidates_is_none():
    assert decide([]) is None


def test_decide_below_the_threshold_is_none():
    weak = Candidate(10, (1,), Decimal("1.00"), "partial", 40, "")
    assert decide([weak]) is None


def test_consume_removes_booked_invoices_from_later_matches():
    index = index_of(item(1, 10, "40.00", reference=REF_A), ibans={IBAN: 10})
    first = decide(candidates(line("40.00", reference=REF_A), index))
    index.consume(first)
    index.consume(Candidate(10, (1, 7), Decimal("1"), "partial", 40, ""))  # unknown: no-op
    assert candidates(line("40.00", reference=REF_A), index) == []
    assert reasons(candidates(line("40.00", iban=IBAN), index)) == [("partial", 10, (), 40)]


def test_proposal_ignores_invoice_order():
    a = Candidate(10, (2, 1), Decimal("1"), "x", 1, "")
    b = Candidate(10, (1, 2), Decimal("1"), "y", 2, "")
    assert a.proposal == b.proposal


# --- properties -----------------------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)


@st.composite
def books(draw):
    count = draw(st.integers(min_value=0, max_value=8))
    items = [
        item(
            i + 1,
            draw(st.integers(min_value=1, max_value=3)),
            draw(amounts),
            reference=make_reference(i + 1),
        )
        for i in range(count)
    ]
    ibans = {f"NL{n:02d}TEST0000000000": n for n in draw(st.sets(st.integers(1, 3)))}
    return items, ibans


@settings(max_examples=150, deadline=None)
@given(
    book=books(),
    amount=amounts,
    pick=st.integers(min_value=0, max_value=20),
    use_reference=st.booleans(),
    iban_of=st.integers(min_value=0, max_value=3),
)
def test_candidates_are_sorted_and_belong_to_their_customer(
    book, amount, pick, use_reference, iban_of
):
    items, ibans = book
    index = OpenItemIndex(items, ibans)
    reference = items[pick % len(items)].payment_reference if items and use_reference else ""
    iban = f"NL{iban_of:02d}TEST0000000000" if iban_of else ""
    found = candidates(BankLine(amount, iban, reference, ""), index)
    scores = [c.score for c in found]
    assert scores == sorted(scores, reverse=True)
    by_id = {i.invoice_id: i for i in items}
    for candidate in found:
        assert all(by_id[i].customer_id == candidate.customer_id for i in candidate.invoice_ids)
        assert candidate.amount == amount
    assert len({c.proposal for c in found}) == len(found)
    chosen = decide(found)
    if chosen is not None:
        assert chosen.score >= AUTO_BOOK_THRESHOLD
        assert all(c.score < chosen.score or c is chosen for c in found)


@settings(max_examples=100, deadline=None)
@given(book=books(), pick=st.integers(min_value=0, max_value=20))
def test_a_valid_reference_with_the_open_amount_is_always_booked_on_that_invoice(book, pick):
    items, ibans = book
    if not items:
        return
    target = items[pick % len(items)]
    index = OpenItemIndex(items, ibans)
    chosen = decide(
        candidates(BankLine(target.open_amount, "", target.payment_reference, ""), index)
    )
    assert chosen is not None
    assert chosen.invoice_ids == (target.invoice_id,)
    assert chosen.reason == matching.REFERENCE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NR.2026-0001/11.3.2026", (1,)),
        ("factuur 2026-0001.", (1,)),
        ("FACTUUR2026-0001", (1,)),
        ("2026-00012", ()),
        ("12026-0001", ()),
    ],
)
def test_invoice_numbers_are_whole_tokens(text, expected):
    index = index_of(item(1, 10, "9.99"))
    found = candidates(line("9.99", text=text), index)
    assert tuple(i for c in found for i in c.invoice_ids) == expected


def test_strong_reasons_settle_a_line_without_the_iban_reasons():
    index = index_of(item(1, 10, "40.00", reference=REF_A), item(2, 10, "40.00"), ibans={IBAN: 10})
    strong = candidates(line("40.00", iban=IBAN, reference=REF_A), index, include_iban=False)
    assert [c.reason for c in strong] == ["reference"]
    assert matching.settles(strong)
    assert decide(strong) == decide(candidates(line("40.00", iban=IBAN, reference=REF_A), index))
    weak = candidates(line("40.00", iban=IBAN), index, include_iban=False)
    assert weak == []
    assert not matching.settles(weak)


def test_items_added_later_join_the_index_except_consumed_or_known_ones():
    first = item(1, 10, "40.00", reference=REF_A)
    index = index_of(first, ibans={IBAN: 10})
    index.consume(Candidate(10, (1,), Decimal("40.00"), "reference", 100, ""))
    index.add([first, item(2, 10, "15.00", reference=REF_B), item(3, 10, "5.00", number="")])
    index.add([item(4, 10, "6.00", reference="")])
    index.add([item(2, 10, "15.00", reference=REF_B)])
    assert candidates(line("40.00", reference=REF_A), index) == []
    assert reasons(candidates(line("15.00", reference=REF_B), index)) == [
        ("reference", 10, (2,), 100)
    ]
    assert [i.invoice_id for i in index.open_items_of(10)] == [2, 3, 4]


@settings(max_examples=100, deadline=None)
@given(book=books(), amount=amounts, iban_of=st.integers(min_value=0, max_value=3))
def test_settled_lines_decide_the_same_with_or_without_iban_reasons(book, amount, iban_of):
    items, ibans = book
    index = OpenItemIndex(items, ibans)
    iban = f"NL{iban_of:02d}TEST0000000000" if iban_of else ""
    text = " ".join(i.number for i in items[:2])
    bank_line = BankLine(amount, iban, items[0].payment_reference if items else "", text)
    strong = candidates(bank_line, index, include_iban=False)
    if matching.settles(strong):
        assert decide(strong) == decide(candidates(bank_line, index))
