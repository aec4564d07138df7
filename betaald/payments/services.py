"""Writes for payments: register a payment and allocate it (art. 6:43/6:44 BW), reverse one.

Payments and allocations are append-only. What a payment does not allocate stays as the
customer's credit (derived: amount minus allocations).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from betaald.audit.services import event_record
from betaald.core.allocation import Claim, allocate_payment
from betaald.core.errors import DomainError
from betaald.core.money import ZERO, to_money
from betaald.debtors.models import Customer
from betaald.invoices.models import Invoice
from betaald.invoices.selectors import invoices_open
from betaald.organisations.models import Organisation
from betaald.payments.models import Allocation, Component, Payment, PaymentMethod


def _amount(value: Decimal | str | int) -> Decimal:
    try:
        amount = to_money(value, field="amount")
    except DomainError as exc:
        raise ValidationError({"amount": exc.message}) from None
    if amount <= 0:
        raise ValidationError({"amount": _("a payment must be more than zero")})
    return amount


def _allocate(payment: Payment, designated: Invoice | None) -> list[Allocation]:
    open_invoices = list(
        invoices_open(payment.organisation)
        .filter(customer=payment.customer)
        .order_by("due_on", "id")
    )
    claims = [
        Claim(
            id=str(invoice.pk),
            due_on=invoice.due_on or payment.received_on,
            costs=ZERO,
            interest=ZERO,
            principal=invoice.open_amount,  # type: ignore[attr-defined]
            rate=Decimal("0"),
        )
        for invoice in open_invoices
    ]
    designation = str(designated.pk) if designated is not None else None
    if designation is not None and designation not in {claim.id for claim in claims}:
        designation = None
    result = allocate_payment(
        payment.amount, claims, on=payment.received_on, designation=designation
    )
    by_id = {str(invoice.pk): invoice for invoice in open_invoices}
    rows = []
    for parts in result.parts:
        claim_id = parts.claim_id
        for component, amount in (
            (Component.COSTS, parts.costs),
            (Component.INTEREST, parts.interest),
            (Component.PRINCIPAL, parts.principal),
        ):
            if amount > 0:
                rows.append(
                    Allocation(
                        organisation=payment.organisation,
                        invoice=by_id[claim_id],
                        payment=payment,
                        component=component,
                        amount=amount,
                        allocated_on=payment.received_on,
                    )
                )
    return Allocation.objects.bulk_create(rows)


@transaction.atomic
def payment_register(
    *,
    organisation: Organisation,
    customer: Customer,
    amount: Decimal | str | int,
    received_on: date,
    method: str = PaymentMethod.BANK_TRANSFER,
    description: str = "",
    counterparty_iban: str = "",
    designated_invoice: Invoice | None = None,
    actor: Any = None,
) -> Payment:
    """Register money received from a customer and allocate it to their open invoices."""
    if customer.organisation_id != organisation.pk:
        raise ValidationError({"customer": _("unknown customer")})
    if designated_invoice is not None and designated_invoice.customer_id != customer.pk:
        raise ValidationError({"designated_invoice": _("this invoice is not the customer's")})
    if method not in PaymentMethod.values:
        raise ValidationError({"method": _("unknown payment method")})
    # One customer's allocations are serialised: concurrent payments never over-allocate.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    payment = Payment(
        organisation=organisation,
        customer=customer,
        amount=_amount(amount),
        received_on=received_on,
        method=method,
        description=description.strip(),
        counterparty_iban=counterparty_iban,
        designated_invoice=designated_invoice,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    payment.full_clean()
    payment.save()
    allocations = _allocate(payment, designated_invoice)
    allocated = sum((a.amount for a in allocations), ZERO)
    event_record(
        name="payments.payment.registered",
        organisation=organisation,
        actor=actor,
        customer=customer,
        subject=payment,
        after={
            "amount": str(payment.amount),
            "received_on": received_on.isoformat(),
            "allocated": [
                {"invoice": a.invoice.number, "component": a.component, "amount": str(a.amount)}
                for a in allocations
            ],
            "unapplied": str(payment.amount - allocated),
        },
    )
    for invoice_id in sorted({a.invoice_id for a in allocations}):
        event_record(
            name="payments.allocation.created",
            organisation=organisation,
            actor=actor,
            customer=customer,
            invoice_id=invoice_id,
            subject=payment,
            after={
                "payment": payment.pk,
                "amount": str(
                    sum((a.amount for a in allocations if a.invoice_id == invoice_id), ZERO)
                ),
            },
        )
    from betaald.dunning.services import dunning_refresh_invoices

    dunning_refresh_invoices(invoice_ids={a.invoice_id for a in allocations}, today=received_on)
    return payment


@transaction.atomic
def payment_reverse(*, payment: Payment, actor: Any, reason: str, on: date) -> Payment:
    """Undo a payment (a returned direct debit, a booking error): a negative mirror payment
    with negative allocations, so the invoices open again. Nothing is deleted."""
    original = Payment.objects.select_for_update().get(pk=payment.pk)
    if original.reverses_id is not None or hasattr(original, "reversed_by"):
        raise ValidationError({"payment": _("this payment was already reversed")})
    if not reason.strip():
        raise ValidationError({"reason": _("say why the payment is reversed")})
    reversal = Payment.objects.create(
        organisation=original.organisation,
        customer=original.customer,
        received_on=on,
        amount=-original.amount,
        method=original.method,
        description=reason.strip(),
        counterparty_iban=original.counterparty_iban,
        reverses=original,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    Allocation.objects.bulk_create(
        [
            Allocation(
                organisation=a.organisation,
                invoice=a.invoice,
                payment=reversal,
                component=a.component,
                amount=-a.amount,
                allocated_on=on,
            )
            for a in original.allocations.all()
        ]
    )
    event_record(
        name="payments.payment.reversed",
        organisation=original.organisation,
        actor=actor,
        customer=original.customer,
        subject=reversal,
        before={"payment": original.pk, "amount": str(original.amount)},
        after={"reversal": reversal.pk},
        message=reason,
    )
    from betaald.dunning.services import dunning_refresh_invoices

    dunning_refresh_invoices(
        invoice_ids={a.invoice_id for a in original.allocations.all()}, today=on
    )
    return reversal


def payment_unapplied(payment: Payment) -> Decimal:
    allocated: Decimal = sum((a.amount for a in payment.allocations.all()), ZERO)
    return Decimal(payment.amount) - allocated


def customer_credit(customer: Customer) -> Decimal:
    """Money received from the customer that is not allocated to any invoice."""
    from django.db.models import Sum

    received = Payment.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] or ZERO
    allocated = (
        Allocation.objects.filter(payment__customer=customer).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return Decimal(str(received)) - Decimal(str(allocated))
