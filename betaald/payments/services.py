"""Writes for payments: register a payment and allocate it (art. 6:43/6:44 BW), reverse one.

Payments and allocations are append-only. What a payment does not allocate stays as the
customer's credit (derived: amount minus allocations).

`payments_register_bulk` is the one booking path: `payment_register` books a batch of one, the
bank matching books a statement's matches in chunks; both give the result of registering the
payments one by one in date order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import connection, models, transaction
from django.db.models import BooleanField, Field, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from betaald.audit.models import Event
from betaald.audit.services import acting_user, event_build, event_record
from betaald.core.allocation import Claim, allocate_payment
from betaald.core.errors import DomainError
from betaald.core.money import ZERO, round_cents, to_money
from betaald.debtors.models import Customer
from betaald.i18n import error_text
from betaald.invoices.models import Invoice
from betaald.invoices.selectors import invoices_open
from betaald.organisations.models import Organisation
from betaald.payments.models import Allocation, Component, Payment, PaymentMethod


def _amount(value: Decimal | str | int) -> Decimal:
    try:
        amount = to_money(value, field="amount")
    except DomainError as exc:
        raise ValidationError({"amount": error_text(exc)}) from None
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
    customer_id: int
    number: str
    due_on: date | None
    open_amount: Decimal


BULK_CHUNK = 2000
_METHODS = frozenset(PaymentMethod.values)  # `values` builds a new list at every access


def among(model: type[models.Model], field: str, values: Iterable[Any]) -> Q | RawSQL:
    """A filter on `field` (a column of `model`) being one of `values`. On PostgreSQL one array
    parameter (`= ANY(%s)`): an `IN` list of thousands of placeholders costs more to build and
    send than the query takes to run. The array has the column's own type (a bigint column
    against an integer array cannot use the hashed lookup: each row would scan the array)."""
    wanted = sorted(set(values))
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": wanted})
    column = cast("Field[Any, Any]", model._meta.get_field(field))
    array = "%s"
    if column.get_internal_type() in _INTEGER_TYPES:
        array = f"%s::{column.db_type(connection)}[]"
    sql = f'"{model._meta.db_table}"."{column.column}" = ANY({array})'
    # The SQL holds only a quoted table and column name and a type; the values are a parameter.
    return RawSQL(sql, (wanted,), output_field=BooleanField())  # noqa: S611


_INTEGER_TYPES = {
    "AutoField",
    "BigAutoField",
    "IntegerField",
    "BigIntegerField",
    "ForeignKey",
    "OneToOneField",
}


def copy_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append rows (values of the fields `names`, in that order) to the model's table. On
    PostgreSQL one COPY straight into the table, JSON values serialised as `save()` would;
    elsewhere `bulk_create`. For append-only rows whose values are known: no model objects."""
    if not rows:
        return
    fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in names]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip([f.attname for f in fields], row, strict=True))) for row in rows],
            batch_size=500,
        )
        return
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    sql = f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN'
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        if not json_at:
            for row in rows:
                copy.write_row(row)
            return
        for row in rows:
            values = list(row)
            for i in json_at:
                if values[i] is not None:
                    values[i] = json.dumps(values[i])
            copy.write_row(values)


EVENT_FIELDS = (
    "organisation",
    "name",
    "occurred_at",
    "actor",
    "actor_label",
    "customer",
    "invoice",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "message",
)


class EventRows:
    """Audit event rows for `copy_rows(Event, EVENT_FIELDS, ...)`: the fields `event_build`
    gives (its actor rules, one timestamp for the batch as `bulk_create` stamps them)."""

    def __init__(self, organisation: Organisation, actor: Any) -> None:
        template = event_build(name="", organisation=organisation, actor=actor)
        self.organisation_id = organisation.pk
        self.actor_id = template.actor_id
        self.actor_label = template.actor_label
        self.now: datetime = timezone.now()
        self.rows: list[tuple[Any, ...]] = []

    def add(
        self,
        name: str,
        *,
        subject_type: str,
        subject_id: int,
        customer_id: int | None,
        after: dict[str, Any],
        invoice_id: int | None = None,
    ) -> None:
        self.rows.append(
            (
                self.organisation_id,
                name,
                self.now,
                self.actor_id,
                self.actor_label,
                customer_id,
                invoice_id,
                subject_type,
                str(subject_id),
                None,
                after,
                "",
            )
        )

    def write(self) -> None:
        copy_rows(Event, EVENT_FIELDS, self.rows)
        self.rows = []


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


def _plain_check(field: Field[Any, Any]) -> type | None:
    """The type whose values `field.clean` certainly accepts without calling it, when the field
    checks nothing else: a plain date field (not null, no validators), or `str` for a text
    field that may be blank, has no choices and validates only its length (checked apart)."""
    if type(field) is models.DateField and not field.null and not field.validators:
        return date
    validators = field.validators
    if (
        type(field) is models.CharField
        and field.blank
        and not field.choices
        and len(validators) == 1
        and isinstance(validators[0], MaxLengthValidator)
    ):
        return str
    return None


# (name, field, plain type, length limit) of the fields a new payment is checked on.
_CHECKS = tuple(
    (
        name,
        field,
        _plain_check(field),
        getattr(field, "max_length", None),
    )
    for name in _CHECKED_FIELDS
    for field in [cast("Field[Any, Any]", Payment._meta.get_field(name))]
)
_NEW_PAYMENT: dict[str, Any] = {f.attname: f.get_default() for f in Payment._meta.concrete_fields}


def _payment_for(
    organisation: Organisation, item: PaymentItem, index: int, user: Any, fields: _Fields
) -> Payment:
    """The unsaved payment of an item, its own fields validated (no queries)."""
    try:
        amount = _amount(item.amount)
    except ValidationError as exc:
        raise fields.error(index, "amount", exc.message_dict["amount"]) from None
    if item.method not in _METHODS:
        raise fields.error(index, "method", _("unknown payment method"))
    values: dict[str, Any] = {
        **_NEW_PAYMENT,
        "customer_id": item.customer_id,
        "amount": amount,
        "received_on": item.received_on,
        "method": item.method,
        "description": item.description.strip(),
        "counterparty_iban": item.counterparty_iban,
        "designated_invoice_id": item.designated_invoice_id,
    }
    # Positional arguments in field order: Django's fast way to build an instance.
    payment = Payment(*[values[name] for name in _PAYMENT_FIELDS])  # type: ignore[misc]
    payment.organisation = organisation
    if user is not None:
        payment.created_by = user
    for name, model_field, plain, limit in _CHECKS:
        # What `full_clean` would check of a new payment, without its queries: the foreign
        # keys are checked in bulk by the caller and the amount is above zero. A value of the
        # plain type (within the length) passes `clean` for sure; anything else is cleaned.
        value = values[name]
        if (
            plain is not None
            and type(value) is plain
            and (limit is None or len(cast("str", value)) <= limit)
        ):
            continue
        try:
            model_field.clean(value, payment)
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
    now = timezone.now()
    for payment, pk in zip(payments, ids, strict=True):
        payment.pk = pk
        payment.created_at = now
        payment._state.adding = False
        payment._state.db = connection.alias
    copy_rows(
        Payment,
        _PAYMENT_FIELDS,
        [tuple(getattr(payment, name) for name in _PAYMENT_FIELDS) for payment in payments],
    )


_PAYMENT_FIELDS = tuple(f.attname for f in Payment._meta.concrete_fields)


def _lock_customers(organisation: Organisation, customer_ids: set[int]) -> set[int]:
    """Lock the organisation's rows among these customers, in id order (so that concurrent
    bookings queue up instead of deadlocking); returns the ids that are the organisation's."""
    wanted = sorted(customer_ids)
    found: set[int] = set()
    for start in range(0, len(wanted), BULK_CHUNK):
        found.update(
            Customer.objects.select_for_update()
            .filter(
                among(Customer, "id", wanted[start : start + BULK_CHUNK]), organisation=organisation
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return found


_OPEN_FIELDS = ("pk", "customer_id", "number", "due_on", "open_amount")


def _open_rows(organisation: Organisation, condition: Q | RawSQL) -> list[_OpenInvoice]:
    """Open invoices (`invoices_open`) meeting `condition`, in the order `allocate_payment`
    receives them per customer."""
    rows = (
        invoices_open(organisation)
        .filter(condition)
        .order_by("customer_id", "due_on", "id")
        .values_list(*_OPEN_FIELDS)
    )
    # round_cents: SQLite computes the balance in floating point (0.580000000000001).
    return [
        _OpenInvoice(pk, customer_id, number, due_on, round_cents(Decimal(open_amount)))
        for pk, customer_id, number, due_on, open_amount in rows
    ]


def _open_invoices(
    organisation: Organisation, chunk: Sequence[tuple[int, PaymentItem]], payments: list[Payment]
) -> dict[int, list[_OpenInvoice]]:
    """Per customer of the chunk, the open invoices its payments can be allocated to.

    A payment designated to an invoice whose open amount covers it is allocated to that invoice
    alone (see `_allocate`). So first only the designated invoices are read; when, taking the
    chunk's payments in order, every payment of a customer is covered by its designated invoice,
    those are all the customer's payments need. Only for the other customers are all their open
    invoices read.
    """
    designated = {
        invoice.pk: invoice
        for invoice in _open_rows(
            organisation,
            among(Invoice, "id", {item.designated_invoice_id or 0 for _i, item in chunk} - {0}),
        )
    }
    left = {pk: invoice.open_amount for pk, invoice in designated.items()}
    full: set[int] = set()
    for index, item in chunk:
        pk = item.designated_invoice_id
        amount = payments[index].amount
        if pk is not None and pk in left and left[pk] >= amount:
            left[pk] -= amount
        else:
            full.add(item.customer_id)
    by_customer: dict[int, list[_OpenInvoice]] = {item.customer_id: [] for _i, item in chunk}
    for invoice in designated.values():
        if invoice.customer_id not in full:
            by_customer[invoice.customer_id].append(invoice)
    if full:
        for invoice in _open_rows(organisation, among(Invoice, "customer_id", full)):
            by_customer[invoice.customer_id].append(invoice)
    return by_customer


def _claim(invoice: _OpenInvoice, on: date) -> Claim:
    return Claim(
        id=str(invoice.pk),
        due_on=invoice.due_on or on,
        costs=ZERO,
        interest=ZERO,
        principal=invoice.open_amount,
        rate=Decimal("0"),
    )


def _allocate(
    payment: Payment, open_invoices: list[_OpenInvoice]
) -> list[tuple[_OpenInvoice, str, Decimal]]:
    """Allocate one payment over the customer's open invoices (art. 6:43/6:44 BW) and lower
    their open amounts in memory, so the next payment of the batch sees what is left. Returns
    (invoice, component, amount) per allocation row.

    A designated invoice whose outstanding amount covers the payment absorbs all of it (art.
    6:43 lid 1 BW; `allocate_payment` gives the other claims nothing whatever their order), so
    then it is the only claim passed; tests/payments/test_bulk.py checks that with hypothesis.
    """
    on = payment.received_on
    by_id = {invoice.pk: invoice for invoice in open_invoices if invoice.open_amount > 0}
    designated = by_id.get(payment.designated_invoice_id or 0)
    if designated is not None and designated.open_amount >= payment.amount:
        claims = [_claim(designated, on)]
    else:
        claims = [_claim(invoice, on) for invoice in by_id.values()]
    result = allocate_payment(
        payment.amount,
        claims,
        on=on,
        designation=str(designated.pk) if designated is not None else None,
    )
    rows = []
    for parts in result.parts:
        invoice = by_id[int(parts.claim_id)]
        for component, amount in (
            (Component.COSTS, parts.costs),
            (Component.INTEREST, parts.interest),
            (Component.PRINCIPAL, parts.principal),
        ):
            if amount > 0:
                rows.append((invoice, str(component), amount))
                if component == Component.PRINCIPAL:
                    invoice.open_amount -= amount
    return rows


_ALLOCATION_FIELDS = (
    "organisation",
    "invoice",
    "payment",
    "component",
    "amount",
    "allocated_on",
    "created_at",
)


def _record(
    audit: EventRows, payment: Payment, allocations: list[tuple[_OpenInvoice, str, Decimal]]
) -> None:
    """The audit events of one registered payment, as `event_record` writes them."""
    allocated = sum((amount for _i, _c, amount in allocations), ZERO)
    audit.add(
        "payments.payment.registered",
        subject_type=Payment._meta.label_lower,
        subject_id=payment.pk,
        customer_id=payment.customer_id,
        after={
            "amount": str(payment.amount),
            "received_on": payment.received_on.isoformat(),
            "allocated": [
                {"invoice": invoice.number, "component": component, "amount": str(amount)}
                for invoice, component, amount in allocations
            ],
            "unapplied": str(payment.amount - allocated),
        },
    )
    per_invoice: dict[int, Decimal] = {}
    for invoice, _component, amount in allocations:
        per_invoice[invoice.pk] = per_invoice.get(invoice.pk, ZERO) + amount
    for invoice_id in sorted(per_invoice):
        audit.add(
            "payments.allocation.created",
            subject_type=Payment._meta.label_lower,
            subject_id=payment.pk,
            customer_id=payment.customer_id,
            invoice_id=invoice_id,
            after={"payment": payment.pk, "amount": str(per_invoice[invoice_id])},
        )


def _check_designations(
    organisation: Organisation,
    chunk: Sequence[tuple[int, PaymentItem]],
    fields: _Fields,
) -> None:
    wanted = {item.designated_invoice_id for _i, item in chunk if item.designated_invoice_id}
    if not wanted:
        return
    owners = dict(
        Invoice.objects.filter(among(Invoice, "id", wanted), organisation=organisation).values_list(
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
    user = acting_user(actor)
    payments = [
        _payment_for(organisation, item, index, user, fields) for index, item in enumerate(items)
    ]
    # One customer's allocations are serialised: concurrent payments never over-allocate.
    known = _lock_customers(organisation, {item.customer_id for item in items})
    for index, item in enumerate(items):
        if item.customer_id not in known:
            raise fields.error(index, "customer_id", _("unknown customer"))
    # Per customer in date order, then input order (a stable sort); customers are independent.
    order = sorted(range(len(items)), key=lambda index: items[index].received_on)
    refresh_on: dict[int, date] = {}
    audit = EventRows(organisation, actor)
    for start in range(0, len(order), BULK_CHUNK):
        chunk = [(index, items[index]) for index in order[start : start + BULK_CHUNK]]
        _check_designations(organisation, chunk, fields)
        open_by_customer = _open_invoices(organisation, chunk, payments)
        booked = []
        for index, item in chunk:
            payment = payments[index]
            allocations = _allocate(payment, open_by_customer[item.customer_id])
            booked.append((payment, allocations))
            for invoice, _component, _amount in allocations:
                refresh_on[invoice.pk] = payment.received_on
        _insert_payments([payment for payment, _a in booked])
        copy_rows(
            Allocation,
            _ALLOCATION_FIELDS,
            [
                (
                    organisation.pk,
                    invoice.pk,
                    payment.pk,
                    component,
                    amount,
                    payment.received_on,
                    audit.now,
                )
                for payment, allocations in booked
                for invoice, component, amount in allocations
            ],
        )
        for payment, allocations in booked:
            _record(audit, payment, allocations)
        audit.write()
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
