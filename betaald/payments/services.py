"""Writes for payments: register a payment and allocate it (art. 6:43/6:44 BW), reverse one.

Payments and allocations are append-only. What a payment does not allocate stays as the
customer's credit (derived: amount minus allocations).

`payments_register_bulk` is the one booking path: `payment_register` books a batch of one, the
bank matching books a statement's matches in chunks; both give the result of registering the
payments one by one in date order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Field
from django.utils.translation import gettext as _

from betaald.audit.models import Event
from betaald.audit.services import acting_user, event_build, event_record
from betaald.core.allocation import Claim, allocate_payment
from betaald.core.errors import DomainError
from betaald.core.money import ZERO, round_cents, to_money
from betaald.debtors.models import Customer
from betaald.dunning import bulk
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


@dataclass(frozen=True, slots=True)
class PaymentItem:
    """One payment to register in `payments_register_bulk` (the arguments of
    `payment_register`, with ids instead of objects)."""

    customer_id: int
    amount: Decimal | str | int
    received_on: date
    method: str = PaymentMethod.BANK_TRANSFER
    description: str = ""
    counterparty_iban: str = ""
    designated_invoice_id: int | None = None


@dataclass(slots=True)
class _OpenInvoice:
    pk: int
    number: str
    due_on: date | None
    open_amount: Decimal


BULK_CHUNK = 2000

# The item fields errors are reported under: by `payments_register_bulk` as
# `items[<index>].<field>`, by `payment_register` under its own argument names.
_SINGLE_FIELDS = {"customer_id": "customer", "designated_invoice_id": "designated_invoice"}
_CHECKED_FIELDS = ("amount", "received_on", "description", "counterparty_iban")


class _Fields:
    def __init__(self, single: bool) -> None:
        self.single = single

    def error(self, index: int, field: str, message: Any) -> ValidationError:
        if self.single:
            return ValidationError({_SINGLE_FIELDS.get(field, field): message})
        return ValidationError({f"items[{index}].{field}": message})


def _payment_for(
    organisation: Organisation, item: PaymentItem, index: int, actor: Any, fields: _Fields
) -> Payment:
    """The unsaved payment of an item, its own fields validated (no queries)."""
    try:
        amount = _amount(item.amount)
    except ValidationError as exc:
        raise fields.error(index, "amount", exc.message_dict["amount"]) from None
    if item.method not in PaymentMethod.values:
        raise fields.error(index, "method", _("unknown payment method"))
    payment = Payment(
        organisation=organisation,
        customer_id=item.customer_id,
        amount=amount,
        received_on=item.received_on,
        method=item.method,
        description=item.description.strip(),
        counterparty_iban=item.counterparty_iban,
        designated_invoice_id=item.designated_invoice_id,
        created_by=acting_user(actor),
    )
    for name in _CHECKED_FIELDS:
        # What `full_clean` would check of a new payment, without its queries: the foreign
        # keys are checked in bulk by the caller and the amount is above zero.
        model_field = cast("Field[Any, Any]", Payment._meta.get_field(name))
        try:
            model_field.clean(getattr(payment, name), payment)
        except ValidationError as exc:
            raise fields.error(index, name, exc.messages) from None
    return payment


def _insert_payments(payments: list[Payment]) -> None:
    """Insert new payments and set their ids: on PostgreSQL the ids are taken from the
    sequence first and the rows written with COPY (several times faster than `bulk_create`)."""
    if connection.vendor != "postgresql":
        Payment.objects.bulk_create(payments)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Payment._meta.db_table, len(payments)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    for payment, pk in zip(payments, ids, strict=True):
        payment.pk = pk
    bulk.insert(Payment, payments, ["id", *bulk.concrete_names(Payment)])
    for payment in payments:
        payment._state.adding = False
        payment._state.db = connection.alias


def _lock_customers(organisation: Organisation, customer_ids: set[int]) -> set[int]:
    """Lock the organisation's rows among these customers, in id order (so that concurrent
    bookings queue up instead of deadlocking); returns the ids that are the organisation's."""
    wanted = sorted(customer_ids)
    found: set[int] = set()
    for start in range(0, len(wanted), BULK_CHUNK):
        found.update(
            Customer.objects.select_for_update()
            .filter(organisation=organisation, pk__in=wanted[start : start + BULK_CHUNK])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return found


_OPEN_FIELDS = ("pk", "customer_id", "number", "due_on", "open_amount")


def _open_invoices(
    organisation: Organisation, customer_ids: Sequence[int]
) -> dict[int, list[_OpenInvoice]]:
    """Per customer, the open invoices in the order `allocate_payment` receives them."""
    by_customer: dict[int, list[_OpenInvoice]] = {pk: [] for pk in customer_ids}
    rows = (
        invoices_open(organisation)
        .filter(customer_id__in=customer_ids)
        .order_by("customer_id", "due_on", "id")
        .values_list(*_OPEN_FIELDS)
    )
    for pk, customer_id, number, due_on, open_amount in rows:
        # round_cents: SQLite computes the balance in floating point (0.580000000000001).
        amount = round_cents(Decimal(open_amount))
        by_customer[customer_id].append(_OpenInvoice(pk, number, due_on, amount))
    return by_customer


def _allocate(
    payment: Payment, open_invoices: list[_OpenInvoice]
) -> list[tuple[_OpenInvoice, Allocation]]:
    """Allocate one payment over the customer's open invoices (art. 6:43/6:44 BW) and lower
    their open amounts in memory, so the next payment of the batch sees what is left."""
    claims = [
        Claim(
            id=str(invoice.pk),
            due_on=invoice.due_on or payment.received_on,
            costs=ZERO,
            interest=ZERO,
            principal=invoice.open_amount,
            rate=Decimal("0"),
        )
        for invoice in open_invoices
        if invoice.open_amount > 0
    ]
    designation = (
        str(payment.designated_invoice_id) if payment.designated_invoice_id is not None else None
    )
    if designation is not None and designation not in {claim.id for claim in claims}:
        designation = None
    result = allocate_payment(
        payment.amount, claims, on=payment.received_on, designation=designation
    )
    by_id = {str(invoice.pk): invoice for invoice in open_invoices}
    rows = []
    for parts in result.parts:
        invoice = by_id[parts.claim_id]
        for component, amount in (
            (Component.COSTS, parts.costs),
            (Component.INTEREST, parts.interest),
            (Component.PRINCIPAL, parts.principal),
        ):
            if amount > 0:
                rows.append(
                    (
                        invoice,
                        Allocation(
                            organisation=payment.organisation,
                            invoice_id=invoice.pk,
                            payment=payment,
                            component=component,
                            amount=amount,
                            allocated_on=payment.received_on,
                        ),
                    )
                )
                if component == Component.PRINCIPAL:
                    invoice.open_amount -= amount
    return rows


def _events(
    organisation: Organisation,
    payment: Payment,
    allocations: list[tuple[_OpenInvoice, Allocation]],
    actor: Any,
) -> list[Event]:
    """The audit events of one registered payment, as `event_record` writes them."""
    allocated = sum((a.amount for _invoice, a in allocations), ZERO)
    events = [
        event_build(
            name="payments.payment.registered",
            organisation=organisation,
            actor=actor,
            customer_id=payment.customer_id,
            subject=payment,
            after={
                "amount": str(payment.amount),
                "received_on": payment.received_on.isoformat(),
                "allocated": [
                    {"invoice": invoice.number, "component": a.component, "amount": str(a.amount)}
                    for invoice, a in allocations
                ],
                "unapplied": str(payment.amount - allocated),
            },
        )
    ]
    for invoice_id in sorted({a.invoice_id for _invoice, a in allocations}):
        events.append(
            event_build(
                name="payments.allocation.created",
                organisation=organisation,
                actor=actor,
                customer_id=payment.customer_id,
                invoice_id=invoice_id,
                subject=payment,
                after={
                    "payment": payment.pk,
                    "amount": str(
                        sum((a.amount for _i, a in allocations if a.invoice_id == invoice_id), ZERO)
                    ),
                },
            )
        )
    return events


def _check_designations(
    organisation: Organisation,
    chunk: Sequence[tuple[int, PaymentItem]],
    fields: _Fields,
) -> None:
    wanted = {item.designated_invoice_id for _i, item in chunk if item.designated_invoice_id}
    if not wanted:
        return
    owners = dict(
        Invoice.objects.filter(organisation=organisation, pk__in=wanted).values_list(
            "pk", "customer_id"
        )
    )
    for index, item in chunk:
        if item.designated_invoice_id and owners.get(item.designated_invoice_id) != (
            item.customer_id
        ):
            raise fields.error(
                index, "designated_invoice_id", _("this invoice is not the customer's")
            )


def _register(
    *,
    organisation: Organisation,
    items: Sequence[PaymentItem],
    actor: Any,
    fields: _Fields,
) -> list[Payment]:
    # Every item's own fields first: nothing is locked or read for a batch with a bad item.
    payments = [
        _payment_for(organisation, item, index, actor, fields) for index, item in enumerate(items)
    ]
    # One customer's allocations are serialised: concurrent payments never over-allocate.
    known = _lock_customers(organisation, {item.customer_id for item in items})
    for index, item in enumerate(items):
        if item.customer_id not in known:
            raise fields.error(index, "customer_id", _("unknown customer"))
    # Per customer in date order, then input order (a stable sort); customers are independent.
    order = sorted(range(len(items)), key=lambda index: items[index].received_on)
    refresh_on: dict[int, date] = {}
    for start in range(0, len(order), BULK_CHUNK):
        chunk = [(index, items[index]) for index in order[start : start + BULK_CHUNK]]
        _check_designations(organisation, chunk, fields)
        open_by_customer = _open_invoices(
            organisation, sorted({item.customer_id for _i, item in chunk})
        )
        booked = []
        for index, item in chunk:
            payment = payments[index]
            allocations = _allocate(payment, open_by_customer[item.customer_id])
            booked.append((payment, allocations))
            for _invoice, allocation in allocations:
                refresh_on[allocation.invoice_id] = payment.received_on
        _insert_payments([payment for payment, _a in booked])
        rows = []
        for payment, allocations in booked:
            for _invoice, allocation in allocations:
                allocation.payment_id = payment.pk
                rows.append(allocation)
        bulk.insert(Allocation, rows, bulk.concrete_names(Allocation))
        bulk.insert(
            Event,
            [
                event
                for payment, allocations in booked
                for event in _events(organisation, payment, allocations, actor)
            ],
            bulk.concrete_names(Event),
        )
    from betaald.dunning.services import dunning_refresh_invoices

    # Each invoice's dunning state as after its last payment of the batch (on that date).
    by_date: dict[date, list[int]] = {}
    for invoice_id, day in refresh_on.items():
        by_date.setdefault(day, []).append(invoice_id)
    for day in sorted(by_date):
        dunning_refresh_invoices(invoice_ids=by_date[day], today=day)
    return payments


@transaction.atomic
def payments_register_bulk(
    *, organisation: Organisation, items: Sequence[PaymentItem], actor: Any = None
) -> list[Payment]:
    """Register many payments at once, with the result of calling `payment_register` for each
    in date order (then input order) but in a few queries per chunk of items.

    Per customer, each payment is allocated (art. 6:43/6:44 BW) over the open invoices left by
    the batch's earlier payments. The customers' rows are locked in id order. The whole batch is
    one transaction: one invalid item (reported as `items[<index>].<field>`) saves nothing.
    Returns the payments in input order.
    """
    return _register(organisation=organisation, items=items, actor=actor, fields=_Fields(False))


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
    item = PaymentItem(
        customer_id=customer.pk,
        amount=amount,
        received_on=received_on,
        method=method,
        description=description,
        counterparty_iban=counterparty_iban,
        designated_invoice_id=designated_invoice.pk if designated_invoice is not None else None,
    )
    (payment,) = _register(
        organisation=organisation, items=[item], actor=actor, fields=_Fields(True)
    )
    payment.customer = customer
    if designated_invoice is not None:
        payment.designated_invoice = designated_invoice
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
        created_by=acting_user(actor),
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
