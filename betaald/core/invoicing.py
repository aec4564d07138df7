"""Invoice arithmetic and the legal completeness check (art. 35a Wet OB 1968; art. 27 Hrw 2007).

Totals: each line's amount excl. VAT is quantity x unit price, rounded to cents; VAT is
computed per rate over the sum of the lines at that rate and rounded once per rate (the
invoice-level method, which keeps the VAT on the invoice equal to the VAT in the books).
See docs/algorithms/invoicing.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from betaald.core.errors import DomainError
from betaald.core.money import ZERO, round_cents


class VatRate(StrEnum):
    """The VAT treatments a line can have (art. 9 Wet OB; verlegging art. 12)."""

    STANDARD = "21"
    REDUCED = "9"
    ZERO = "0"
    REVERSE_CHARGE = "reverse_charge"
    EXEMPT = "exempt"

    @property
    def percent(self) -> Decimal:
        return {"21": Decimal("21"), "9": Decimal("9")}.get(self.value, Decimal("0"))


@dataclass(frozen=True, slots=True)
class Line:
    quantity: Decimal
    unit_price: Decimal
    vat_rate: VatRate


@dataclass(frozen=True, slots=True)
class VatGroup:
    rate: VatRate
    base: Decimal
    vat: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    lines: tuple[Decimal, ...]
    groups: tuple[VatGroup, ...]
    excl_vat: Decimal
    vat: Decimal
    incl_vat: Decimal


def line_amount(line: Line) -> Decimal:
    """The line's amount excl. VAT: quantity x unit price, rounded half up to cents."""
    return round_cents(line.quantity * line.unit_price)


def invoice_totals(lines: list[Line]) -> Totals:
    amounts = tuple(line_amount(line) for line in lines)
    bases: dict[VatRate, Decimal] = {}
    for line, amount in zip(lines, amounts, strict=True):
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + amount
    groups = tuple(
        VatGroup(rate=rate, base=base, vat=round_cents(base * rate.percent / 100))
        for rate, base in sorted(bases.items(), key=lambda item: -item[0].percent)
    )
    excl = sum(amounts, ZERO)
    vat = sum((group.vat for group in groups), ZERO)
    return Totals(lines=amounts, groups=groups, excl_vat=excl, vat=vat, incl_vat=excl + vat)


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """What the completeness check needs to know about an invoice about to be issued."""

    issue_date: date | None
    supplier_name: str
    supplier_address: str
    supplier_vat_number: str
    supplier_kvk_number: str
    customer_name: str
    customer_address: str
    customer_is_business: bool
    customer_vat_number: str
    customer_country: str
    lines: tuple[tuple[str, Decimal, Decimal, VatRate], ...]  # description, quantity, price, rate
    delivery_date: date | None
    due_date: date | None
    payment_term_days: int | None
    is_credit_note: bool = False
    credited_invoice_number: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found by the check. `code` is stable (the shell translates it)."""

    code: str
    field: str
    blocking: bool


MAX_TERM_WARNING_DAYS = 30
MAX_TERM_BUSINESS_DAYS = 60


def check_invoice(facts: InvoiceFacts) -> list[Finding]:
    """Everything Dutch law requires on the invoice that is missing or wrong.

    Blocking findings refuse the issue; the others are warnings (a term above 30 days).
    Art. 35a lid 1 Wet OB: (a) date, (c) supplier VAT id, (d) customer VAT id for reverse
    charge, (e) names and addresses, (f) quantity and nature, (g) supply date, (i) rate.
    Art. 27 Handelsregisterwet 2007: the KvK number. Art. 6:119a lid 5 BW: at most 60 days
    between businesses.
    """
    findings: list[Finding] = []

    def need(condition: bool, code: str, field: str) -> None:
        if not condition:
            findings.append(Finding(code=code, field=field, blocking=True))

    need(facts.issue_date is not None, "issue_date_missing", "issue_date")
    need(bool(facts.supplier_name.strip()), "supplier_name_missing", "organisation")
    need(bool(facts.supplier_address.strip()), "supplier_address_missing", "organisation")
    need(bool(facts.supplier_vat_number.strip()), "supplier_vat_missing", "organisation")
    need(bool(facts.supplier_kvk_number.strip()), "supplier_kvk_missing", "organisation")
    need(bool(facts.customer_name.strip()), "customer_name_missing", "customer")
    need(bool(facts.customer_address.strip()), "customer_address_missing", "customer")
    need(len(facts.lines) > 0, "no_lines", "lines")
    for index, (description, quantity, _price, _rate) in enumerate(facts.lines):
        need(bool(description.strip()), "line_description_missing", f"lines.{index}.description")
        if not facts.is_credit_note:
            need(quantity > 0, "line_quantity_not_positive", f"lines.{index}.quantity")
    if any(rate is VatRate.REVERSE_CHARGE for *_rest, rate in facts.lines):
        need(facts.customer_is_business, "reverse_charge_needs_business", "lines")
        need(bool(facts.customer_vat_number.strip()), "reverse_charge_needs_vat", "customer")
    if facts.customer_is_business and facts.customer_country.upper() not in ("", "NL"):
        need(bool(facts.customer_vat_number.strip()), "intra_eu_needs_vat", "customer")
    if facts.is_credit_note:
        need(bool(facts.credited_invoice_number), "credit_note_needs_original", "credited")
    else:
        need(facts.due_date is not None, "due_date_missing", "due_date")
        if facts.payment_term_days is not None:
            need(facts.payment_term_days >= 0, "payment_term_negative", "payment_term_days")
            if facts.payment_term_days > MAX_TERM_BUSINESS_DAYS and facts.customer_is_business:
                findings.append(Finding("payment_term_over_60", "payment_term_days", True))
            elif facts.payment_term_days > MAX_TERM_WARNING_DAYS:
                findings.append(Finding("payment_term_over_30", "payment_term_days", False))
    return findings


def due_date(issue_date: date, term_days: int) -> date:
    """The due date: the issue date plus the payment term in calendar days."""
    if term_days < 0:
        raise DomainError("must not be negative", field="payment_term_days")
    return issue_date + timedelta(days=term_days)
