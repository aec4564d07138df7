"""Payment matching: which open invoices an incoming bank transaction pays, with reasons.

Pure: the caller passes the bank line and an index of open items; nothing here reads a
database or a clock. See docs/algorithms/matching.md.

Candidates, strongest first (score in brackets):

1. ``reference`` — the 16-digit betalingskenmerk in the structured remittance is valid and is
   the payment reference of an open invoice (100 when the amount equals its open amount, else 90);
   ``reference_in_text`` — the same found in the free text (85).
2. ``invoice_number`` — invoice numbers of one customer in the free text (85 when the amount
   equals their open amount, else 70).
3. ``exact_amount`` — the counterparty IBAN is known for a customer and the amount equals the open
   amount of one of their invoices (75).
4. ``sum_of_invoices`` — ... or the sum of several of their open invoices (65).
5. ``partial`` — the IBAN is known but the amount fits none of the above (40).

`decide` books automatically only when the best score reaches the threshold and every candidate
with that best score proposes the same customer and invoices: anything else goes to review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from betaald.core.references import is_valid_reference

REFERENCE = "reference"
REFERENCE_IN_TEXT = "reference_in_text"
INVOICE_NUMBER = "invoice_number"
EXACT_AMOUNT = "exact_amount"
SUM_OF_INVOICES = "sum_of_invoices"
PARTIAL = "partial"

SCORE_REFERENCE = 100
SCORE_REFERENCE_OTHER_AMOUNT = 90
SCORE_REFERENCE_IN_TEXT = 85
SCORE_INVOICE_NUMBER = 85
SCORE_INVOICE_NUMBER_OTHER_AMOUNT = 70
SCORE_EXACT_AMOUNT = 75
SCORE_SUM_OF_INVOICES = 65
SCORE_PARTIAL = 40

AUTO_BOOK_THRESHOLD = 75
MAX_SUBSET_INVOICES = 12  # exhaustive subset search up to this many open invoices per customer
MAX_SUBSETS = 20  # at most this many sum-of-invoices candidates (two already mean "ambiguous")

_REFERENCE_IN_TEXT = re.compile(r"(?<!\d)(\d{4}[ .]?\d{4}[ .]?\d{4}[ .]?\d{4})(?!\d)")
_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9\-/_.]*[A-Z0-9]|[A-Z0-9]")
_TOKEN_PARTS = re.compile(r"[./_]")
_ALPHA_PREFIX = re.compile(r"^[A-Z]+(?=\d)")


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An open invoice: what is left to pay, and how it can be recognised."""

    invoice_id: int
    customer_id: int
    number: str
    payment_reference: str
    open_amount: Decimal
    due_on: date | None = None


@dataclass(frozen=True, slots=True)
class BankLine:
    """An incoming bank transaction as far as matching is concerned (amount is positive)."""

    amount: Decimal
    counterparty_iban: str = ""
    structured_reference: str = ""
    remittance: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    customer_id: int
    invoice_ids: tuple[int, ...]
    amount: Decimal
    reason: str
    score: int
    explanation: str

    @property
    def proposal(self) -> tuple[int, tuple[int, ...]]:
        return (self.customer_id, tuple(sorted(self.invoice_ids)))


def normalise_number(value: str) -> str:
    return value.strip().upper()


def normalise_reference(value: str) -> str:
    return value.replace(" ", "").replace(".", "")


def _due_key(item: OpenItem) -> tuple[date, int]:
    return (item.due_on or date.max, item.invoice_id)


class OpenItemIndex:
    """Open items looked up by betalingskenmerk, invoice number and customer.

    Built once per matching run; `consume` removes the invoices of a booked candidate so that
    later lines of the same run do not match them again.
    """

    def __init__(self, items: Iterable[OpenItem], known_ibans: dict[str, int]) -> None:
        self.by_reference: dict[str, OpenItem] = {}
        self.by_number: dict[str, OpenItem] = {}
        self.by_customer: dict[int, dict[int, OpenItem]] = {}
        self.known_ibans = {iban.replace(" ", "").upper(): c for iban, c in known_ibans.items()}
        self.consumed: set[int] = set()
        for item in items:
            if item.payment_reference:
                self.by_reference[normalise_reference(item.payment_reference)] = item
            if item.number:
                self.by_number[normalise_number(item.number)] = item
            self.by_customer.setdefault(item.customer_id, {})[item.invoice_id] = item

    def add(self, items: Iterable[OpenItem]) -> None:
        """Add open items read later (e.g. the invoices of a payer), keeping known ones."""
        for item in items:
            invoices = self.by_customer.setdefault(item.customer_id, {})
            if item.invoice_id in invoices or item.invoice_id in self.consumed:
                continue
            invoices[item.invoice_id] = item
            if item.payment_reference:
                self.by_reference[normalise_reference(item.payment_reference)] = item
            if item.number:
                self.by_number[normalise_number(item.number)] = item

    def open_items_of(self, customer_id: int) -> list[OpenItem]:
        return sorted(self.by_customer.get(customer_id, {}).values(), key=_due_key)

    def consume(self, candidate: Candidate) -> None:
        invoices = self.by_customer.get(candidate.customer_id, {})
        for invoice_id in candidate.invoice_ids:
            self.consumed.add(invoice_id)
            item = invoices.pop(invoice_id, None)
            if item is None:
                continue
            self.by_reference.pop(normalise_reference(item.payment_reference), None)
            self.by_number.pop(normalise_number(item.number), None)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def references_in_text(text: str) -> list[str]:
    """The valid 16-digit betalingskenmerken typed in a free text (spaces and dots allowed)."""
    found = []
    for match in _REFERENCE_IN_TEXT.finditer(text):
        reference = normalise_reference(match.group(1))
        if is_valid_reference(reference) and reference not in found:
            found.append(reference)
    return found


def _reference_candidates(line: BankLine, index: OpenItemIndex) -> list[Candidate]:
    found: list[Candidate] = []
    structured = normalise_reference(line.structured_reference)
    if len(structured) == 16 and is_valid_reference(structured):
        item = index.by_reference.get(structured)
        if item is not None:
            exact = item.open_amount == line.amount
            found.append(
                Candidate(
                    customer_id=item.customer_id,
                    invoice_ids=(item.invoice_id,),
                    amount=line.amount,
                    reason=REFERENCE,
                    score=SCORE_REFERENCE if exact else SCORE_REFERENCE_OTHER_AMOUNT,
                    explanation=(
                        f"betalingskenmerk {structured} is invoice {item.number}"
                        + ("" if exact else f" (open {_money(item.open_amount)})")
                    ),
                )
            )
    for reference in references_in_text(line.remittance):
        if reference == structured:
            continue
        item = index.by_reference.get(reference)
        if item is not None:
            found.append(
                Candidate(
                    customer_id=item.customer_id,
                    invoice_ids=(item.invoice_id,),
                    amount=line.amount,
                    reason=REFERENCE_IN_TEXT,
                    score=SCORE_REFERENCE_IN_TEXT,
                    explanation=(
                        f"betalingskenmerk {reference} of invoice {item.number} in the description"
                    ),
                )
            )
    return found


def words(text: str) -> list[str]:
    """The tokens an invoice number may be: whole words, their parts between ``. / _``, and
    both without a glued-on word prefix (``NR.2026-0001/11.3`` -> ``2026-0001``,
    ``FACTUUR2026-0001`` -> ``2026-0001``)."""
    found: list[str] = []
    for token in _TOKEN.findall(text.upper()):
        for part in (token, *_TOKEN_PARTS.split(token)):
            for variant in (part, _ALPHA_PREFIX.sub("", part)):
                if variant and variant not in found:
                    found.append(variant)
    return found


def _number_candidates(line: BankLine, index: OpenItemIndex) -> list[Candidate]:
    per_customer: dict[int, list[OpenItem]] = {}
    for token in words(line.remittance):
        item = index.by_number.get(token)
        if item is not None and item not in per_customer.get(item.customer_id, []):
            per_customer.setdefault(item.customer_id, []).append(item)
    found = []
    for customer_id, items in per_customer.items():
        total = sum((item.open_amount for item in items), Decimal("0"))
        exact = total == line.amount
        numbers = ", ".join(item.number for item in items)
        found.append(
            Candidate(
                customer_id=customer_id,
                invoice_ids=tuple(item.invoice_id for item in items),
                amount=line.amount,
                reason=INVOICE_NUMBER,
                score=SCORE_INVOICE_NUMBER if exact else SCORE_INVOICE_NUMBER_OTHER_AMOUNT,
                explanation=(
                    f"invoice number {numbers} in the description"
                    + ("" if exact else f" (open {_money(total)})")
                ),
            )
        )
    return found


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _subsets_with_sum(items: Sequence[OpenItem], target: Decimal) -> list[tuple[OpenItem, ...]]:
    """Up to MAX_SUBSETS subsets of two or more items whose open amounts add up to `target`.

    Exhaustive (a pruned depth-first search in whole cents) for up to MAX_SUBSET_INVOICES
    items; beyond that only the oldest-first prefixes and pairs are tried (the cases that occur
    in practice). Items without a positive open amount never take part.
    """
    usable = [(item, _cents(item.open_amount)) for item in items if item.open_amount > 0]
    goal = _cents(target)
    found: list[tuple[OpenItem, ...]] = []
    if len(usable) <= MAX_SUBSET_INVOICES:
        remaining = [0] * (len(usable) + 1)
        for position in range(len(usable) - 1, -1, -1):
            remaining[position] = remaining[position + 1] + usable[position][1]
        chosen: list[OpenItem] = []

        def search(position: int, total: int) -> None:
            """Extend `chosen` (adding up to `total`) with items from `position` on."""
            if len(found) >= MAX_SUBSETS or position == len(usable):
                return
            if total + remaining[position] < goal:
                return  # capped, or even all remaining items cannot reach the goal
            item, cents = usable[position]
            chosen.append(item)
            if total + cents == goal:
                if len(chosen) >= 2:
                    found.append(tuple(chosen))
            elif total + cents < goal:
                search(position + 1, total + cents)
            chosen.pop()
            search(position + 1, total)

        search(0, 0)
        return found
    running = 0
    for position, (_item, cents) in enumerate(usable):
        running += cents
        if position >= 1 and running == goal:
            found.append(tuple(item for item, _ in usable[: position + 1]))
    by_cents: dict[int, list[int]] = {}
    for position, (_item, cents) in enumerate(usable):
        by_cents.setdefault(cents, []).append(position)
    for first, (item, cents) in enumerate(usable):
        for second in by_cents.get(goal - cents, []):
            if second > first and len(found) < MAX_SUBSETS:
                pair = (item, usable[second][0])
                if pair not in found:
                    found.append(pair)
    return found


def _iban_candidates(line: BankLine, index: OpenItemIndex) -> list[Candidate]:
    iban = line.counterparty_iban.replace(" ", "").upper()
    customer_id = index.known_ibans.get(iban) if iban else None
    if customer_id is None:
        return []
    items = index.open_items_of(customer_id)
    found = [
        Candidate(
            customer_id=customer_id,
            invoice_ids=(item.invoice_id,),
            amount=line.amount,
            reason=EXACT_AMOUNT,
            score=SCORE_EXACT_AMOUNT,
            explanation=(
                f"{iban} is a known IBAN of the customer and {_money(line.amount)} is the open "
                f"amount of invoice {item.number}"
            ),
        )
        for item in items
        if item.open_amount == line.amount
    ]
    for subset in _subsets_with_sum(items, line.amount):
        found.append(
            Candidate(
                customer_id=customer_id,
                invoice_ids=tuple(item.invoice_id for item in subset),
                amount=line.amount,
                reason=SUM_OF_INVOICES,
                score=SCORE_SUM_OF_INVOICES,
                explanation=(
                    f"{iban} is a known IBAN of the customer and {_money(line.amount)} is the sum "
                    f"of invoices {', '.join(item.number for item in subset)}"
                ),
            )
        )
    if not found:
        found.append(
            Candidate(
                customer_id=customer_id,
                invoice_ids=tuple(item.invoice_id for item in items),
                amount=line.amount,
                reason=PARTIAL,
                score=SCORE_PARTIAL,
                explanation=(
                    f"{iban} is a known IBAN of the customer; {_money(line.amount)} matches no "
                    "open amount"
                ),
            )
        )
    return found


def candidates(
    line: BankLine, index: OpenItemIndex, *, include_iban: bool = True
) -> list[Candidate]:
    """Every candidate for `line`, strongest first; one per proposal (customer + invoices).

    With ``include_iban=False`` only the reference and invoice-number reasons are tried: when
    those already `settle` the line, the IBAN reasons (all weaker) cannot change the decision,
    so a caller may skip reading the payer's open invoices.
    """
    if line.amount <= 0:
        return []
    found = _reference_candidates(line, index) + _number_candidates(line, index)
    if include_iban:
        found += _iban_candidates(line, index)
    best: dict[tuple[int, tuple[int, ...]], Candidate] = {}
    for candidate in found:
        current = best.get(candidate.proposal)
        if current is None or candidate.score > current.score:
            best[candidate.proposal] = candidate
    return sorted(best.values(), key=lambda c: (-c.score, c.customer_id, c.invoice_ids))


def settles(found: Sequence[Candidate]) -> bool:
    """True when the candidates decide the line whatever weaker (IBAN) candidates are added:
    an unambiguous best candidate scoring above every IBAN-based reason."""
    return decide(found, threshold=SCORE_EXACT_AMOUNT + 1) is not None


def decide(found: Sequence[Candidate], *, threshold: int = AUTO_BOOK_THRESHOLD) -> Candidate | None:
    """The candidate to book automatically, or None when the line needs review: the best score
    must reach `threshold` and every candidate with that score must propose the same thing."""
    if not found:
        return None
    top = max(candidate.score for candidate in found)
    if top < threshold:
        return None
    tops = [candidate for candidate in found if candidate.score == top]
    if len({candidate.proposal for candidate in tops}) > 1:
        return None
    return tops[0]
