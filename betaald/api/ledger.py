"""The ledger under the API: customers, invoices and payments of the caller's organisation.

Authentication: `Authorization: Bearer <token>` (an API token) or the browser session with
CSRF. Writes need a role that may write. POST /payments moves money and therefore requires an
`Idempotency-Key` header: a retry with the same key and body returns the first response.
"""

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate
from pydantic import PlainSerializer

from betaald.api.auth import api_auth
from betaald.core.money import round_cents
from betaald.debtors.models import Customer
from betaald.debtors.services import customer_create
from betaald.invoices.models import Invoice, InvoiceStatus
from betaald.invoices.selectors import invoices_for
from betaald.invoices.services import LineInput, invoice_create_draft, invoice_issue
from betaald.organisations.models import IdempotencyKey, Organisation
from betaald.payments.services import payment_register, payment_unapplied

router = Router(tags=["ledger"], auth=api_auth)

# Amounts leave the API as strings with two decimals (ADR 0003).
Money = Annotated[
    Decimal, PlainSerializer(lambda value: f"{round_cents(Decimal(value)):.2f}", return_type=str)
]


class FieldError(Schema):
    field: str | None
    message: str


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError]


ERRORS: dict[int, Any] = {401: Problem, 403: Problem, 404: Problem, 422: Problem}


def organisation_of(request: HttpRequest) -> Organisation:
    return request.organisation  # type: ignore[attr-defined,no-any-return]


def require_writer(request: HttpRequest) -> None:
    if not request.membership.can_write:  # type: ignore[attr-defined]
        raise PermissionDenied("your role may only read")


class CustomerIn(Schema):
    kind: str = Field(description="consumer or business")
    name: str
    number: str = ""
    kvk_number: str = ""
    vat_number: str = ""
    email: str = ""
    phone: str = ""
    language: str = "nl"
    street: str
    postal_code: str
    city: str
    country: str = "NL"
    payment_term_days: int | None = None


class CustomerOut(Schema):
    id: int
    number: str
    kind: str
    name: str
    kvk_number: str
    vat_number: str
    email: str
    language: str
    street: str
    postal_code: str
    city: str
    country: str
    status: str


class LineIn(Schema):
    description: str
    quantity: str = Field(examples=["1"])
    unit_price: str = Field(description="excl. VAT, a decimal string", examples=["100.00"])
    vat_rate: str = Field(description="21, 9, 0, reverse_charge or exempt", examples=["21"])


class LineOut(Schema):
    description: str
    quantity: Decimal
    unit_price: Money
    vat_rate: str
    amount: Money


class InvoiceIn(Schema):
    customer_id: int
    lines: list[LineIn]
    payment_term_days: int | None = None
    delivered_on: date | None = None
    customer_reference: str = ""


class InvoiceOut(Schema):
    id: int
    number: str
    kind: str
    status: str
    customer_id: int
    issued_on: date | None
    due_on: date | None
    payment_reference: str
    total_excl_vat: Money
    total_vat: Money
    total: Money
    open_amount: Money
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj: Invoice) -> list[Any]:
        return list(obj.lines.all())


class IssueIn(Schema):
    issued_on: date


class IssueOut(Schema):
    invoice: InvoiceOut
    warnings: list[str]


class PaymentIn(Schema):
    customer_id: int
    amount: str = Field(description="a decimal string", examples=["121.00"])
    received_on: date
    method: str = "bank_transfer"
    description: str = ""
    designated_invoice_id: int | None = None


class AllocationOut(Schema):
    invoice_id: int
    component: str
    amount: Money


class PaymentOut(Schema):
    id: int
    customer_id: int
    amount: Money
    received_on: date
    allocations: list[AllocationOut]
    unapplied: Money


class InvoiceFilter(Schema):
    state: str | None = Field(None, description="open, overdue, paid, credit or draft")
    customer_id: int | None = None


@router.get("/customers", response=list[CustomerOut], summary="List customers")
@paginate(PageNumberPagination, page_size=50)
def customers_list(request: HttpRequest, q: str = "") -> Any:
    customers = Customer.objects.filter(organisation=organisation_of(request)).order_by("name")
    if q:
        customers = customers.filter(Q(name__icontains=q) | Q(number__icontains=q))
    return customers


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS})
def customer_get(request: HttpRequest, customer_id: int) -> Any:
    return get_object_or_404(Customer, pk=customer_id, organisation=organisation_of(request))


@router.post("/customers", response={201: CustomerOut, **ERRORS})
def customer_post(request: HttpRequest, payload: CustomerIn) -> Any:
    require_writer(request)
    customer = customer_create(
        organisation=organisation_of(request), actor=request.user, **payload.dict()
    )
    return Status(201, customer)


def _invoice(request: HttpRequest, invoice_id: int) -> Invoice:
    return get_object_or_404(
        invoices_for(organisation_of(request)).prefetch_related("lines"), pk=invoice_id
    )


@router.get("/invoices", response=list[InvoiceOut], summary="List invoices")
@paginate(PageNumberPagination, page_size=50)
def invoices_list(request: HttpRequest, filters: Query[InvoiceFilter]) -> Any:
    from betaald.web.views import INVOICE_FILTERS, today

    invoices = invoices_for(organisation_of(request)).prefetch_related("lines")
    if filters.state in INVOICE_FILTERS:
        invoices = INVOICE_FILTERS[filters.state](invoices, today())
    if filters.customer_id is not None:
        invoices = invoices.filter(customer_id=filters.customer_id)
    return invoices.order_by("-issued_on", "-id")


@router.get("/invoices/{invoice_id}", response={200: InvoiceOut, **ERRORS})
def invoice_get(request: HttpRequest, invoice_id: int) -> Any:
    return _invoice(request, invoice_id)


@router.get(
    "/invoices/{invoice_id}/ubl",
    response={200: None, **ERRORS},
    summary="The issued invoice or credit note as UBL 2.1 (Peppol BIS Billing 3.0)",
    openapi_extra={
        "responses": {
            200: {
                "description": "UBL 2.1 Invoice or CreditNote",
                "content": {"application/xml": {"schema": {"type": "string"}}},
            }
        }
    },
)
def invoice_ubl_get(request: HttpRequest, invoice_id: int) -> Any:
    from betaald.invoices.ubl import invoice_ubl, ubl_filename

    invoice = get_object_or_404(
        invoices_for(organisation_of(request)).filter(status=InvoiceStatus.ISSUED), pk=invoice_id
    )
    response = HttpResponse(invoice_ubl(invoice), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{ubl_filename(invoice)}"'
    return response


@router.post("/invoices", response={201: InvoiceOut, **ERRORS}, summary="Create a draft")
def invoice_post(request: HttpRequest, payload: InvoiceIn) -> Any:
    require_writer(request)
    organisation = organisation_of(request)
    customer = get_object_or_404(Customer, pk=payload.customer_id, organisation=organisation)
    invoice = invoice_create_draft(
        organisation=organisation,
        customer=customer,
        actor=request.user,
        lines=[LineInput(**line.dict()) for line in payload.lines],
        payment_term_days=payload.payment_term_days,
        delivered_on=payload.delivered_on,
        customer_reference=payload.customer_reference,
    )
    return Status(201, _invoice(request, invoice.pk))


@router.post("/invoices/{invoice_id}/issue", response={200: IssueOut, **ERRORS})
def invoice_issue_post(request: HttpRequest, invoice_id: int, payload: IssueIn) -> Any:
    require_writer(request)
    invoice = get_object_or_404(Invoice, pk=invoice_id, organisation=organisation_of(request))
    _issued, warnings = invoice_issue(
        invoice=invoice, actor=request.user, issued_on=payload.issued_on
    )
    return {"invoice": _invoice(request, invoice_id), "warnings": warnings}


def _payment_out(payment: Any) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "customer_id": payment.customer_id,
        "amount": str(payment.amount),
        "received_on": payment.received_on.isoformat(),
        "allocations": [
            {"invoice_id": a.invoice_id, "component": a.component, "amount": str(a.amount)}
            for a in payment.allocations.order_by("id")
        ],
        "unapplied": str(payment_unapplied(payment)),
    }


@router.post(
    "/payments",
    response={201: PaymentOut, 200: PaymentOut, **ERRORS},
    summary="Register a payment (requires an Idempotency-Key header)",
)
def payment_post(request: HttpRequest, payload: PaymentIn) -> Any:
    require_writer(request)
    organisation = organisation_of(request)
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        raise ValidationError({"Idempotency-Key": "send a unique Idempotency-Key header (<= 200)"})
    fingerprint = hashlib.sha256(
        json.dumps(payload.dict(), sort_keys=True, default=str).encode()
    ).hexdigest()
    previous = IdempotencyKey.objects.filter(organisation=organisation, key=key).first()
    if previous is not None:
        if previous.request_hash != fingerprint:
            raise ValidationError(
                {"Idempotency-Key": "this key was used before for a different request"}
            )
        return Status(200, previous.body)
    customer = get_object_or_404(Customer, pk=payload.customer_id, organisation=organisation)
    designated = None
    if payload.designated_invoice_id is not None:
        designated = get_object_or_404(
            Invoice, pk=payload.designated_invoice_id, organisation=organisation
        )
    try:
        with transaction.atomic():
            payment = payment_register(
                organisation=organisation,
                customer=customer,
                amount=payload.amount,
                received_on=payload.received_on,
                method=payload.method,
                description=payload.description,
                designated_invoice=designated,
                actor=request.user,
            )
            body = _payment_out(payment)
            IdempotencyKey.objects.create(
                organisation=organisation, key=key, request_hash=fingerprint, status=201, body=body
            )
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        previous = IdempotencyKey.objects.get(organisation=organisation, key=key)
        return Status(200, previous.body)
    return Status(201, body)
