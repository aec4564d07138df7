"""Writes for invoices and credit notes.

A draft can be edited; `invoice_issue` checks what Dutch law requires on an invoice, takes the
next number of the organisation's gap-free yearly series under a row lock, computes the totals,
freezes both parties' details and makes the invoice immutable. A credit note corrects it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from betaald.audit.services import event_record
from betaald.core.invoicing import (
    InvoiceFacts,
    Line,
    VatRate,
    check_invoice,
    due_date,
    invoice_totals,
)
from betaald.core.money import ZERO, to_money
from betaald.core.references import make_reference
from betaald.debtors.models import Customer
from betaald.invoices.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
)
from betaald.organisations.models import Organisation
from betaald.organisations.services import organisation_snapshot
from betaald.payments.models import Allocation


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal | str | int
    unit_price: Decimal | str | int
    vat_rate: str
    unit: str = ""


FINDING_MESSAGES: dict[str, Callable[[], str]] = {
    "issue_date_missing": lambda: _("the invoice date is missing"),
    "supplier_name_missing": lambda: _("your organisation's name is missing"),
    "supplier_address_missing": lambda: _("your organisation's address is missing"),
    "supplier_vat_missing": lambda: _("your organisation's VAT number (BTW-id) is missing"),
    "supplier_kvk_missing": lambda: _("your organisation's KvK number is missing"),
    "customer_name_missing": lambda: _("the customer's name is missing"),
    "customer_address_missing": lambda: _("the customer's address is missing"),
    "no_lines": lambda: _("the invoice has no lines"),
    "line_description_missing": lambda: _("a line has no description of the goods or services"),
    "line_quantity_not_positive": lambda: _("a line's quantity must be more than zero"),
    "reverse_charge_needs_business": lambda: _("VAT can only be reverse-charged to a business"),
    "reverse_charge_needs_vat": lambda: _("reverse charge needs the customer's VAT number"),
    "intra_eu_needs_vat": lambda: _("an intra-EU supply needs the customer's VAT number"),
    "credit_note_needs_original": lambda: _("a credit note must refer to the original invoice"),
    "due_date_missing": lambda: _("the due date is missing"),
    "payment_term_negative": lambda: _("the payment term cannot be negative"),
    "payment_term_over_60": lambda: _(
        "a payment term above 60 days between businesses is not allowed (art. 6:119a lid 5 BW)"
    ),
    "payment_term_over_30": lambda: _(
        "a payment term above 30 days: agree it expressly (art. 6:119a BW)"
    ),
}


def finding_message(code: str) -> str:
    return FINDING_MESSAGES.get(code, lambda: code)()


def _parse_line(index: int, line: LineInput) -> dict[str, Any]:
    errors: dict[str, str] = {}
    try:
        quantity = Decimal(str(line.quantity).strip())
        if not quantity.is_finite() or quantity != quantity.quantize(Decimal("0.001")):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[f"lines.{index}.quantity"] = _("enter a number with at most 3 decimals")
        quantity = Decimal(0)
    if quantity < 0:
        errors[f"lines.{index}.quantity"] = _("a quantity cannot be negative; use a credit note")
    try:
        unit_price = to_money(
            line.unit_price if isinstance(line.unit_price, Decimal | int) else str(line.unit_price),
            field=f"lines.{index}.unit_price",
        )
    except Exception:
        errors[f"lines.{index}.unit_price"] = _("enter an amount like 1234.56")
        unit_price = ZERO
    if line.vat_rate not in VatRate._value2member_map_:
        errors[f"lines.{index}.vat_rate"] = _("unknown VAT rate %(rate)s") % {"rate": line.vat_rate}
    if not line.description.strip():
        errors[f"lines.{index}.description"] = _("describe the goods or services")
    if errors:
        raise ValidationError(errors)
    return {
        "position": index,
        "description": line.description.strip(),
        "quantity": quantity,
        "unit_price": unit_price,
        "vat_rate": line.vat_rate,
        "unit": line.unit.strip(),
    }


def _parse_lines(lines: Sequence[LineInput]) -> list[dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    parsed = []
    for index, line in enumerate(lines):
        try:
            parsed.append(_parse_line(index, line))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return parsed


def _write_lines(invoice: Invoice, parsed: list[dict[str, Any]]) -> None:
    invoice.lines.all().delete()
    totals = invoice_totals(
        [Line(p["quantity"], p["unit_price"], VatRate(p["vat_rate"])) for p in parsed]
    )
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(invoice=invoice, amount=amount, **p)
            for p, amount in zip(parsed, totals.lines, strict=True)
        ]
    )
    invoice.total_excl_vat = totals.excl_vat
    invoice.total_vat = totals.vat
    invoice.total = totals.incl_vat


def payment_term_for(customer: Customer) -> int:
    if customer.payment_term_days is not None:
        return customer.payment_term_days
    return customer.organisation.default_payment_term_days


@transaction.atomic
def invoice_create_draft(
    *,
    organisation: Organisation,
    customer: Customer,
    actor: Any,
    lines: Sequence[LineInput],
    payment_term_days: int | None = None,
    delivered_on: date | None = None,
    customer_reference: str = "",
    notes: str = "",
) -> Invoice:
    if customer.organisation_id != organisation.pk:
        raise ValidationError({"customer": _("unknown customer")})
    parsed = _parse_lines(lines)
    invoice = Invoice.objects.create(
        organisation=organisation,
        customer=customer,
        payment_term_days=(
            payment_term_for(customer) if payment_term_days is None else payment_term_days
        ),
        delivered_on=delivered_on,
        customer_reference=customer_reference,
        notes=notes,
    )
    _write_lines(invoice, parsed)
    invoice.save()
    event_record(
        name="invoices.invoice.drafted",
        organisation=organisation,
        actor=actor,
        customer=customer,
        invoice=invoice,
        subject=invoice,
        after={"total": str(invoice.total), "lines": len(parsed)},
    )
    return invoice


def _lock_draft(invoice: Invoice) -> Invoice:
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status != InvoiceStatus.DRAFT:
        raise ValidationError(
            {
                "__all__": _(
                    "invoice %(number)s is issued and cannot be changed; credit it instead"
                )
                % {"number": locked.number}
            }
        )
    return locked


@transaction.atomic
def invoice_update_draft(
    *,
    invoice: Invoice,
    actor: Any,
    lines: Sequence[LineInput] | None = None,
    **fields: Any,
) -> Invoice:
    locked = _lock_draft(invoice)
    allowed = {"payment_term_days", "delivered_on", "customer_reference", "notes"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: _("cannot be changed here") for name in unknown})
    for name, value in fields.items():
        setattr(locked, name, value)
    if lines is not None:
        _write_lines(locked, _parse_lines(lines))
    locked.full_clean()
    locked.save()
    event_record(
        name="invoices.invoice.draft_updated",
        organisation=locked.organisation,
        actor=actor,
        customer=locked.customer,
        invoice=locked,
        subject=locked,
        after={"total": str(locked.total)},
    )
    return locked


def _facts(invoice: Invoice, issued_on: date) -> InvoiceFacts:
    organisation = invoice.organisation
    customer = invoice.customer
    credited = invoice.credited_invoice
    return InvoiceFacts(
        issue_date=issued_on,
        supplier_name=organisation.legal_name,
        supplier_address=" ".join(
            [organisation.street, organisation.postal_code, organisation.city]
        ).strip(),
        supplier_vat_number=organisation.vat_number,
        supplier_kvk_number=organisation.kvk_number,
        customer_name=customer.name,
        customer_address=" ".join([customer.street, customer.postal_code, customer.city]).strip(),
        customer_is_business=customer.is_business,
        customer_vat_number=customer.vat_number,
        customer_country=customer.country,
        lines=tuple(
            (line.description, line.quantity, line.unit_price, VatRate(line.vat_rate))
            for line in invoice.lines.all()
        ),
        delivery_date=invoice.delivered_on,
        due_date=due_date(issued_on, invoice.payment_term_days),
        payment_term_days=invoice.payment_term_days,
        is_credit_note=invoice.kind == InvoiceKind.CREDIT_NOTE,
        credited_invoice_number=credited.number if credited is not None else "",
    )


class InvoiceIncomplete(ValidationError):
    """The invoice lacks what Dutch law requires; `findings` lists every problem."""


def _check(invoice: Invoice, issued_on: date) -> list[str]:
    """Raise with every blocking finding; return the warnings."""
    findings = check_invoice(_facts(invoice, issued_on))
    blocking: dict[str, list[str]] = {}
    for finding in findings:
        if finding.blocking:
            blocking.setdefault(finding.field, []).append(finding_message(finding.code))
    if blocking:
        raise InvoiceIncomplete(blocking)
    return [finding_message(f.code) for f in findings if not f.blocking]


def _take_number(organisation: Organisation, year: int) -> int:
    """The next number of the yearly series, under a row lock (gap-free, never shared)."""
    InvoiceSequence.objects.bulk_create(
        [InvoiceSequence(organisation=organisation, year=year, last=0)], ignore_conflicts=True
    )
    sequence = InvoiceSequence.objects.select_for_update().get(organisation=organisation, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return sequence.last


def customer_snapshot_for_invoice(customer: Customer) -> dict[str, Any]:
    return {
        "number": customer.number,
        "name": customer.name,
        "kind": customer.kind,
        "kvk_number": customer.kvk_number,
        "vat_number": customer.vat_number,
        "street": customer.street,
        "postal_code": customer.postal_code,
        "city": customer.city,
        "country": customer.country,
        "address_lines": customer.address_lines,
        "email": customer.email,
        "language": customer.language,
    }


def _issue(locked: Invoice, issued_on: date, actor: Any) -> list[str]:
    warnings = _check(locked, issued_on)
    organisation = locked.organisation
    year = issued_on.year
    sequence = _take_number(organisation, year)
    locked.series_year = year
    locked.sequence = sequence
    locked.number = f"{year}-{sequence:05d}"
    locked.issued_on = issued_on
    locked.issued_at = timezone.now()
    if locked.kind == InvoiceKind.INVOICE:
        locked.due_on = due_date(issued_on, locked.payment_term_days)
        locked.payment_reference = make_reference(
            (organisation.pk % 10000) * 10**11 + year * 10**7 + sequence
        )
    else:
        locked.due_on = issued_on
    locked.seller = organisation_snapshot(organisation)
    locked.buyer = customer_snapshot_for_invoice(locked.customer)
    locked.status = InvoiceStatus.ISSUED
    locked.save()
    event_record(
        name=f"invoices.{locked.kind}.issued",
        organisation=organisation,
        actor=actor,
        customer=locked.customer,
        invoice=locked,
        subject=locked,
        after={
            "number": locked.number,
            "issued_on": issued_on.isoformat(),
            "due_on": locked.due_on.isoformat() if locked.due_on else None,
            "total": str(locked.total),
            "payment_reference": locked.payment_reference,
            "warnings": warnings,
        },
    )
    return warnings


@transaction.atomic
def invoice_issue(
    *, invoice: Invoice, actor: Any, issued_on: date, send: bool = True
) -> tuple[Invoice, list[str]]:
    """Issue a draft: check it, number it, freeze it, and (unless `send` is false, e.g. for an
    invoice imported from elsewhere) queue its email at once. Returns the invoice and any
    warnings."""
    locked = _lock_draft(invoice)
    warnings = _issue(locked, issued_on, actor)
    if send and locked.kind == InvoiceKind.INVOICE:  # the invoice goes out at once (idempotent)
        from betaald.letters.services import invoice_send

        transaction.on_commit(lambda: invoice_send(invoice=locked, actor=actor))
    return locked, warnings


@transaction.atomic
def credit_note_create(
    *,
    invoice: Invoice,
    actor: Any,
    issued_on: date,
    reason: str,
    lines: Sequence[LineInput] | None = None,
) -> Invoice:
    """Correct an issued invoice with a credit note (a negative invoice referring to it).

    Without `lines` the whole invoice is credited. The credit is applied to the invoice's open
    amount; what exceeds it (the invoice was already paid) stays as the customer's credit.
    """
    from betaald.invoices.selectors import invoice_open_amount

    original = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if original.status != InvoiceStatus.ISSUED or original.kind != InvoiceKind.INVOICE:
        raise ValidationError({"invoice": _("only an issued invoice can be credited")})
    if not reason.strip():
        raise ValidationError({"reason": _("say why the invoice is credited")})
    if lines is None:
        parsed = [
            {
                "position": line.position,
                "description": line.description,
                "quantity": -line.quantity,
                "unit_price": line.unit_price,
                "vat_rate": line.vat_rate,
                "unit": line.unit,
            }
            for line in original.lines.all()
        ]
    else:
        parsed = _parse_lines(lines)
        for p in parsed:
            p["quantity"] = -p["quantity"]
    credit = Invoice.objects.create(
        organisation=original.organisation,
        customer=original.customer,
        kind=InvoiceKind.CREDIT_NOTE,
        credited_invoice=original,
        payment_term_days=0,
        notes=reason.strip(),
    )
    _write_lines(credit, parsed)
    credit.save()
    already_credited = -sum(
        (c.total for c in original.credit_notes.filter(status=InvoiceStatus.ISSUED)), ZERO
    )
    if -credit.total + already_credited > original.total:
        raise ValidationError({"lines": _("the credit exceeds what is left of the invoice")})
    _issue(credit, issued_on, actor)
    applied = min(-credit.total, max(invoice_open_amount(original), ZERO))
    if applied > 0:
        Allocation.objects.create(
            organisation=original.organisation,
            invoice=original,
            credit_note=credit,
            amount=applied,
            allocated_on=issued_on,
        )
    event_record(
        name="invoices.invoice.credited",
        organisation=original.organisation,
        actor=actor,
        customer=original.customer,
        invoice=original,
        subject=credit,
        after={"credit_note": credit.number, "amount": str(-credit.total), "applied": str(applied)},
        message=reason,
    )
    from betaald.dunning.services import dunning_refresh_invoices

    dunning_refresh_invoices(invoice_ids=[original.pk], today=issued_on)
    return credit
