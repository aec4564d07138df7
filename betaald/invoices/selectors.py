"""Reads of invoices with their balances computed in SQL from the allocations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from betaald.core.money import ZERO
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from betaald.organisations.models import Organisation
from betaald.payments.models import Allocation

MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)


def _sum_of(queryset: QuerySet[Allocation], group: str) -> Subquery:
    return Subquery(
        queryset.values(group).annotate(total=Sum("amount")).values("total")[:1],
        output_field=MONEY,
    )


def with_balance(queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate `settled` (allocated to the invoice's principal from payments and credit notes),
    `applied` (of a credit note: what it settled elsewhere) and `open_amount`."""
    settled = _sum_of(
        Allocation.objects.filter(invoice=OuterRef("pk"), component="principal"), "invoice"
    )
    applied = _sum_of(Allocation.objects.filter(credit_note=OuterRef("pk")), "credit_note")
    return queryset.annotate(
        settled=Coalesce(settled, Value(ZERO), output_field=MONEY),
        applied=Coalesce(applied, Value(ZERO), output_field=MONEY),
    ).annotate(
        open_amount=ExpressionWrapper(F("total") - F("settled") + F("applied"), output_field=MONEY)
    )


def invoices_for(organisation: Organisation) -> QuerySet[Invoice]:
    return with_balance(
        Invoice.objects.filter(organisation=organisation).select_related("customer")
    )


def invoices_open(organisation: Organisation) -> QuerySet[Invoice]:
    """Issued invoices (not credit notes) with an open amount above zero."""
    return invoices_for(organisation).filter(
        Q(open_amount__gt=0), status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE
    )


def invoices_overdue(organisation: Organisation, today: date) -> QuerySet[Invoice]:
    return invoices_open(organisation).filter(Q(due_on__lt=today))


def invoice_open_amount(invoice: Invoice) -> Decimal:
    row = with_balance(Invoice.objects.filter(pk=invoice.pk)).get()
    return Decimal(row.open_amount)  # type: ignore[attr-defined]


AGE_BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))


@dataclass(frozen=True)
class OpenBook:
    open: Decimal
    overdue: Decimal
    open_count: int
    overdue_count: int
    buckets: list[tuple[str, Decimal]]


def open_book_summary(organisation: Organisation, today: date) -> OpenBook:
    """Totals for the dashboard: open, overdue and overdue by age in days past due."""
    open_invoices = invoices_open(organisation)
    aggregates: dict[str, Any] = {
        "open": Sum("open_amount"),
        "overdue": Sum("open_amount", filter=Q(due_on__lt=today)),
        "open_count": Count("pk"),
        "overdue_count": Count("pk", filter=Q(due_on__lt=today)),
    }
    for label, low, high in AGE_BUCKETS:
        condition = Q(due_on__lte=today - timedelta(days=max(low, 1)))
        if high is not None:
            condition &= Q(due_on__gte=today - timedelta(days=high))
        aggregates[label] = Sum(
            Case(When(condition, then=F("open_amount")), default=Value(ZERO), output_field=MONEY)
        )
    result = open_invoices.aggregate(**aggregates)
    return OpenBook(
        open=result["open"] or ZERO,
        overdue=result["overdue"] or ZERO,
        open_count=result["open_count"],
        overdue_count=result["overdue_count"],
        buckets=[(label, result[label] or ZERO) for label, _low, _high in AGE_BUCKETS],
    )
