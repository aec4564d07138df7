"""Pages of the web UI: parse the request, call a selector or a service, render.

Every query is scoped to `request.organisation` (an id of another organisation is a 404), and
every write needs a role that may write (owner or credit controller).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from betaald.audit.models import Event
from betaald.bank.selectors import accounts_with_position, matching_rate
from betaald.core.invoicing import Line, VatGroup, VatRate, invoice_totals
from betaald.core.money import ZERO
from betaald.debtors.models import Customer, CustomerKind, CustomerStatus
from betaald.debtors.services import contact_add, customer_create, customer_update
from betaald.dunning.forms import CustomerPolicyForm
from betaald.dunning.models import CustomerDunning, Hold
from betaald.dunning.selectors import next_step_for_invoice
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from betaald.invoices.selectors import invoices_for, open_book_summary, with_balance
from betaald.invoices.services import (
    LineInput,
    credit_note_create,
    invoice_create_draft,
    invoice_issue,
    invoice_update_draft,
)
from betaald.letters.models import Message
from betaald.organisations.models import ApiToken, Organisation, Role
from betaald.organisations.ratelimit import login_blocked, login_failed
from betaald.organisations.services import (
    api_token_create,
    api_token_revoke,
    organisation_update,
)
from betaald.payments.models import Payment
from betaald.payments.services import customer_credit, payment_register
from betaald.plans.selectors import customer_flags
from betaald.rates.selectors import rate_table_is_stale
from betaald.web.access import local_today, organisation_of, writer_required
from betaald.web.forms import (
    ContactForm,
    CreditForm,
    CustomerForm,
    InvoiceHeaderForm,
    InvoiceLineFormSet,
    IssueForm,
    OrganisationForm,
    PaymentForm,
    TokenForm,
)

PAGE_SIZE = 25
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)


today = local_today


def add_errors(form: Any, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field when the form has it."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            target = field if field in form.fields else None
            for message in messages_:
                label = "" if target else f"{field}: "
                form.add_error(target, f"{label}{message}")
    else:
        for message in error.messages:
            form.add_error(None, message)


class RateLimitedLoginView(LoginView):
    """Django's login, refusing further attempts after too many failures (per user and IP)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        if login_blocked(username, request.META.get("REMOTE_ADDR")):
            form = self.get_form()
            form.add_error(None, _("Too many failed attempts. Wait a few minutes and try again."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        login_failed(self.request.POST.get("username", ""), self.request.META.get("REMOTE_ADDR"))
        return super().form_invalid(form)


# --- dashboard -----------------------------------------------------------------------------


def dashboard(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    day = today()
    summary = open_book_summary(organisation, day)
    largest = max([amount for _label, amount in summary.buckets] + [Decimal("0.01")])
    bars = [
        {"label": label, "amount": amount, "height": int(amount / largest * 100)}
        for label, amount in summary.buckets
    ]
    worst = customers_with_balance(organisation, day).filter(Q(overdue__gt=0))
    worst = worst.order_by("-overdue")[:8]
    events = Event.objects.filter(organisation=organisation).select_related("customer", "invoice")
    events = events[:12]
    received = Payment.objects.filter(
        organisation=organisation, received_on__gt=day - timedelta(days=30)
    ).aggregate(total=Sum("amount"), count=Count("pk", filter=Q(amount__gt=0)))
    rate_names = {"statutory": _("statutory interest"), "commercial": _("commercial interest")}
    stale_rates = [name for kind, name in rate_names.items() if rate_table_is_stale(kind, day)]
    return render(
        request,
        "web/dashboard.html",
        {
            "stale_rates": stale_rates,
            "positions": accounts_with_position(organisation),
            "matching": matching_rate(organisation),
            "summary": summary,
            "bars": bars,
            "worst": worst,
            "events": events,
            "received": received,
            "today": day,
        },
    )


# --- customers -----------------------------------------------------------------------------


def customers_with_balance(organisation: Organisation, day: date) -> QuerySet[Customer]:
    open_invoices = with_balance(
        Invoice.objects.filter(
            customer=OuterRef("pk"), status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE
        )
    ).filter(Q(open_amount__gt=0))

    def total(queryset: QuerySet[Invoice]) -> Coalesce:
        return Coalesce(
            Subquery(
                queryset.values("customer").annotate(s=Sum("open_amount")).values("s")[:1],
                output_field=MONEY,
            ),
            Value(ZERO),
            output_field=MONEY,
        )

    return Customer.objects.filter(organisation=organisation).annotate(
        open=total(open_invoices), overdue=total(open_invoices.filter(due_on__lt=day))
    )


CUSTOMER_SORTS = {
    "name": "name",
    "-name": "-name",
    "number": "number",
    "-number": "-number",
    "open": "open",
    "-open": "-open",
    "overdue": "overdue",
    "-overdue": "-overdue",
}


def customer_list(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    customers = customers_with_balance(organisation, today())
    query = request.GET.get("q", "").strip()
    if query:
        customers = customers.filter(
            Q(name__icontains=query)
            | Q(number__icontains=query)
            | Q(email__icontains=query)
            | Q(kvk_number__icontains=query)
            | Q(city__icontains=query)
        )
    kind = request.GET.get("kind", "")
    if kind in CustomerKind.values:
        customers = customers.filter(kind=kind)
    status = request.GET.get("status", "")
    if status in CustomerStatus.values:
        customers = customers.filter(status=status)
    if request.GET.get("overdue") == "1":
        customers = customers.filter(Q(overdue__gt=0))
    sort = request.GET.get("sort", "name")
    customers = customers.order_by(CUSTOMER_SORTS.get(sort, "name"), "pk")
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    template = "web/_customer_rows.html" if request.htmx else "web/customer_list.html"  # type: ignore[attr-defined]
    return render(
        request,
        template,
        {
            "page": page,
            "query": query,
            "kind": kind,
            "status": status,
            "sort": sort,
            "params": params.urlencode(),
            "kinds": CustomerKind.choices,
            "statuses": CustomerStatus.choices,
        },
    )


NEXT_STEPS_SHOWN = 25


def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    customer = get_object_or_404(
        customers_with_balance(organisation, today()).prefetch_related("contacts", "ibans"),
        pk=pk,
    )
    invoices = list(
        invoices_for(organisation).filter(customer=customer).order_by("-issued_on", "-id")
    )
    payments = Payment.objects.filter(customer=customer).order_by("-received_on", "-id")[:50]
    events = Event.objects.filter(customer=customer).select_related("invoice")[:100]
    day = today()
    still_open = sorted(
        (
            invoice
            for invoice in invoices
            if invoice.status == InvoiceStatus.ISSUED
            and invoice.kind == InvoiceKind.INVOICE
            and invoice.open_amount > 0  # type: ignore[attr-defined]
        ),
        key=lambda invoice: (invoice.due_on or date.max, invoice.pk),
    )
    return render(
        request,
        "web/customer_detail.html",
        {
            "customer": customer,
            "invoices": invoices,
            # what dunning does next for each open invoice, oldest due first (issue 5, item 5)
            "next_steps": [
                (invoice, next_step_for_invoice(invoice, day))
                for invoice in still_open[:NEXT_STEPS_SHOWN]
            ],
            "next_steps_more": max(0, len(still_open) - NEXT_STEPS_SHOWN),
            "policy_form": CustomerPolicyForm(
                organisation=organisation,
                initial={
                    "policy": CustomerDunning.objects.filter(customer=customer)
                    .values_list("policy_id", flat=True)
                    .first()
                },
            ),
            "payments": payments,
            "events": events,
            "credit": customer_credit(customer),
            "flags": customer_flags(customer),
            "outbox": Message.objects.filter(customer=customer)
            .select_related("invoice")
            .order_by("-created_at")[:50],
            "holds": Hold.objects.filter(customer=customer, released_at__isnull=True)
            .select_related("invoice")
            .order_by("-starts_on"),
            "contact_form": ContactForm(),
            "today": today(),
        },
    )


@writer_required
def customer_create_view(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(
                organisation=organisation, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("web:customer_detail", pk=customer.pk)
    return render(request, "web/customer_form.html", {"form": form, "customer": None})


@writer_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    customer = get_object_or_404(Customer, pk=pk, organisation=organisation)
    form = CustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Customer saved."))
            return redirect("web:customer_detail", pk=customer.pk)
    return render(request, "web/customer_form.html", {"form": form, "customer": customer})


@writer_required
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    customer = get_object_or_404(Customer, pk=pk, organisation=organisation)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            contact_add(customer=customer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
        else:
            messages.success(request, _("Contact added."))
    else:
        messages.error(request, _("The contact was not added: check name and role."))
    return redirect("web:customer_detail", pk=customer.pk)


# --- invoices ------------------------------------------------------------------------------

INVOICE_FILTERS: dict[str, Callable[[QuerySet[Invoice], date], QuerySet[Invoice]]] = {
    "open": lambda qs, d: qs.filter(
        Q(open_amount__gt=0), status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE
    ),
    "overdue": lambda qs, d: qs.filter(
        Q(open_amount__gt=0), status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE, due_on__lt=d
    ),
    "paid": lambda qs, d: qs.filter(
        Q(open_amount__lte=0), status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE
    ),
    "credit": lambda qs, d: qs.filter(kind=InvoiceKind.CREDIT_NOTE),
    "draft": lambda qs, d: qs.filter(status=InvoiceStatus.DRAFT),
}


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def invoice_list(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    day = today()
    invoices = invoices_for(organisation)
    state = request.GET.get("state", "")
    if state in INVOICE_FILTERS:
        invoices = INVOICE_FILTERS[state](invoices, day)
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit():
        invoices = invoices.filter(customer_id=int(customer_id))
    query = request.GET.get("q", "").strip()
    if query:
        invoices = invoices.filter(
            Q(number__icontains=query)
            | Q(customer__name__icontains=query)
            | Q(payment_reference__icontains=query)
        )
    ranges = {
        "issued_from": ("issued_on__gte", parse_date(request.GET.get("issued_from"))),
        "issued_to": ("issued_on__lte", parse_date(request.GET.get("issued_to"))),
        "due_from": ("due_on__gte", parse_date(request.GET.get("due_from"))),
        "due_to": ("due_on__lte", parse_date(request.GET.get("due_to"))),
    }
    for lookup, value in ranges.values():
        if value is not None:
            invoices = invoices.filter(**{lookup: value})
    invoices = invoices.order_by("-issued_on", "-id")
    totals = invoices.aggregate(total=Sum("total"), open=Sum("open_amount"))
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    customers = (
        Customer.objects.filter(organisation=organisation).order_by("name").only("pk", "name")
    )
    return render(
        request,
        "web/invoice_list.html",
        {
            "page": page,
            "state": state,
            "query": query,
            "customer_id": customer_id,
            "customers": customers,
            "ranges": {
                key: (value.isoformat() if value else "") for key, (_l, value) in ranges.items()
            },
            "totals": totals,
            "params": params.urlencode(),
            "today": day,
        },
    )


def invoice_state(invoice: Invoice, day: date) -> str:
    if invoice.status == InvoiceStatus.DRAFT:
        return "draft"
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return "credit_note"
    if invoice.open_amount <= 0:  # type: ignore[attr-defined]
        return "paid"
    if invoice.due_on and invoice.due_on < day:
        return "overdue"
    return "open"


def vat_groups(invoice: Invoice) -> list[VatGroup]:
    """The VAT per rate as the invoice states it (art. 35a lid 1 h-j Wet OB)."""
    lines = [
        Line(line.quantity, line.unit_price, VatRate(line.vat_rate)) for line in invoice.lines.all()
    ]
    return list(invoice_totals(lines).groups) if lines else []


def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    invoice = get_object_or_404(invoices_for(organisation), pk=pk)
    day = today()
    allocations = invoice.allocations.select_related("payment", "credit_note").order_by(
        "allocated_on", "id"
    )
    events = Event.objects.filter(invoice=invoice)[:100]
    return render(
        request,
        "web/invoice_detail.html",
        {
            "invoice": invoice,
            "state": invoice_state(invoice, day),
            "lines": invoice.lines.all(),
            "vat_groups": vat_groups(invoice),
            "allocations": allocations,
            "credit_notes": with_balance(invoice.credit_notes.all()),
            "flags": (
                customer_flags(invoice.customer, invoice.total)
                if invoice.status == InvoiceStatus.DRAFT
                else []
            ),
            "dunning_next": (
                next_step_for_invoice(invoice, day)
                if invoice.status == InvoiceStatus.ISSUED and invoice.kind == InvoiceKind.INVOICE
                else None
            ),
            "outbox": Message.objects.filter(Q(invoice=invoice) | Q(invoices=invoice))
            .distinct()
            .order_by("-created_at")[:50],
            "events": events,
            "issue_form": IssueForm(initial={"issued_on": day}),
            "credit_form": CreditForm(initial={"issued_on": day}),
            "days_overdue": (day - invoice.due_on).days
            if invoice.due_on and invoice.due_on < day
            else 0,
            "today": day,
        },
    )


def invoice_ubl_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The issued invoice or credit note as a UBL 2.1 e-invoice (Peppol BIS 3.0) to download."""
    from betaald.invoices.ubl import invoice_ubl, ubl_filename

    invoice = get_object_or_404(
        invoices_for(organisation_of(request)).filter(status=InvoiceStatus.ISSUED), pk=pk
    )
    response = HttpResponse(invoice_ubl(invoice), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{ubl_filename(invoice)}"'
    return response


def _lines_from(formset: Any) -> list[LineInput]:
    lines = []
    for form in formset.forms:
        if form.has_content():
            data = form.cleaned_data
            lines.append(
                LineInput(
                    description=data.get("description", ""),
                    quantity=data.get("quantity") or "0",
                    unit_price=data.get("unit_price") or "0",
                    vat_rate=data.get("vat_rate", "21"),
                )
            )
    return lines


def _line_errors_to_formset(formset: Any, error: ValidationError) -> ValidationError | None:
    """Move `lines.N.field` errors onto the line forms; return what is left."""
    rest: dict[str, list[str]] = {}
    for key, messages_ in error.message_dict.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
            content_forms = [f for f in formset.forms if f.has_content()]
            index = int(parts[1])
            if index < len(content_forms):
                for message in messages_:
                    content_forms[index].add_error(parts[2], message)
                continue
        rest[key] = messages_
    return ValidationError(rest) if rest else None


@writer_required
def invoice_create(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    initial = {}
    if request.GET.get("customer", "").isdigit():
        initial["customer"] = get_object_or_404(
            Customer, pk=int(request.GET["customer"]), organisation=organisation
        )
    form = InvoiceHeaderForm(request.POST or None, organisation=organisation, initial=initial)
    formset = InvoiceLineFormSet(
        request.POST or None, prefix="lines", initial=None if request.POST else [{}, {}, {}]
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        lines = _lines_from(formset)
        if not lines:
            form.add_error(None, _("Add at least one line."))
        else:
            try:
                invoice = invoice_create_draft(
                    organisation=organisation,
                    customer=data["customer"],
                    actor=request.user,
                    lines=lines,
                    payment_term_days=data["payment_term_days"],
                    delivered_on=data["delivered_on"],
                    customer_reference=data["customer_reference"],
                    notes=data["notes"],
                )
            except ValidationError as error:
                rest = _line_errors_to_formset(formset, error)
                if rest is not None:
                    add_errors(form, rest)
            else:
                messages.success(request, _("Draft invoice saved. Check it and issue it."))
                return redirect("web:invoice_detail", pk=invoice.pk)
    flags = customer_flags(initial["customer"]) if "customer" in initial else []
    return render(
        request,
        "web/invoice_form.html",
        {"form": form, "formset": formset, "invoice": None, "flags": flags},
    )


@writer_required
def invoice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    invoice = get_object_or_404(Invoice, pk=pk, organisation=organisation)
    if invoice.status != InvoiceStatus.DRAFT:
        messages.error(request, _("An issued invoice cannot be changed; credit it instead."))
        return redirect("web:invoice_detail", pk=invoice.pk)
    initial_header = {
        "customer": invoice.customer,
        "payment_term_days": invoice.payment_term_days,
        "delivered_on": invoice.delivered_on,
        "customer_reference": invoice.customer_reference,
        "notes": invoice.notes,
    }
    form = InvoiceHeaderForm(
        request.POST or None, organisation=organisation, initial=initial_header
    )
    form.fields["customer"].disabled = True
    formset = InvoiceLineFormSet(
        request.POST or None,
        prefix="lines",
        initial=[
            {
                "description": line.description,
                "quantity": line.quantity.normalize(),
                "unit_price": line.unit_price,
                "vat_rate": line.vat_rate,
            }
            for line in invoice.lines.all()
        ],
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        try:
            invoice_update_draft(
                invoice=invoice,
                actor=request.user,
                lines=_lines_from(formset),
                payment_term_days=data["payment_term_days"] or invoice.payment_term_days,
                delivered_on=data["delivered_on"],
                customer_reference=data["customer_reference"],
                notes=data["notes"],
            )
        except ValidationError as error:
            rest = _line_errors_to_formset(formset, error)
            if rest is not None:
                add_errors(form, rest)
        else:
            messages.success(request, _("Draft saved."))
            return redirect("web:invoice_detail", pk=invoice.pk)
    return render(
        request, "web/invoice_form.html", {"form": form, "formset": formset, "invoice": invoice}
    )


@writer_required
def invoice_issue_view(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    invoice = get_object_or_404(Invoice, pk=pk, organisation=organisation)
    if request.method != "POST":
        return redirect("web:invoice_detail", pk=invoice.pk)
    form = IssueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid invoice date."))
        return redirect("web:invoice_detail", pk=invoice.pk)
    try:
        issued, warnings = invoice_issue(
            invoice=invoice, actor=request.user, issued_on=form.cleaned_data["issued_on"]
        )
    except ValidationError as error:
        messages.error(
            request,
            _("The invoice was not issued: %(problems)s") % {"problems": "; ".join(error.messages)},
        )
        return redirect("web:invoice_detail", pk=invoice.pk)
    for warning in warnings:
        messages.warning(request, warning)
    messages.success(request, _("Invoice %(number)s issued.") % {"number": issued.number})
    return redirect("web:invoice_detail", pk=invoice.pk)


@writer_required
def invoice_credit(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    invoice = get_object_or_404(Invoice, pk=pk, organisation=organisation)
    form = CreditForm(request.POST or None, initial={"issued_on": today()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        lines = None
        if data["amount"]:
            lines = [
                LineInput(
                    description=data["reason"],
                    quantity="1",
                    unit_price=data["amount"],
                    vat_rate=invoice.lines.first().vat_rate if invoice.lines.exists() else "21",  # type: ignore[union-attr]
                )
            ]
        try:
            credit = credit_note_create(
                invoice=invoice,
                actor=request.user,
                issued_on=data["issued_on"],
                reason=data["reason"],
                lines=lines,
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(
                request, _("Credit note %(number)s issued.") % {"number": credit.number}
            )
            return redirect("web:invoice_detail", pk=invoice.pk)
    return render(request, "web/invoice_credit.html", {"form": form, "invoice": invoice})


# --- payments ------------------------------------------------------------------------------


def payment_list(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    payments = (
        Payment.objects.filter(organisation=organisation)
        .select_related("customer")
        .annotate(allocated=Coalesce(Sum("allocations__amount"), Value(ZERO), output_field=MONEY))
        .annotate(unallocated=F("amount") - F("allocated"))
        .order_by("-received_on", "-id")
    )
    query = request.GET.get("q", "").strip()
    if query:
        payments = payments.filter(
            Q(customer__name__icontains=query) | Q(description__icontains=query)
        )
    page = Paginator(payments, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "web/payment_list.html",
        {"page": page, "query": query, "params": params.urlencode()},
    )


@writer_required
def payment_create(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    initial: dict[str, Any] = {"received_on": today()}
    for name, model in (("customer", Customer), ("designated_invoice", Invoice)):
        value = request.GET.get(name, "")
        if value.isdigit():
            initial[name] = get_object_or_404(model, pk=int(value), organisation=organisation)
    if "designated_invoice" in initial and "customer" not in initial:
        initial["customer"] = initial["designated_invoice"].customer
    form = PaymentForm(request.POST or None, organisation=organisation, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment = payment_register(
                organisation=organisation,
                customer=data["customer"],
                amount=data["amount"].strip().replace(",", ".")
                if data["amount"].count(",") == 1 and "." not in data["amount"]
                else data["amount"].strip(),
                received_on=data["received_on"],
                method=data["method"],
                description=data["description"],
                designated_invoice=data["designated_invoice"],
                actor=request.user,
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, _("Payment registered and allocated."))
            if data["designated_invoice"] is not None:
                return redirect("web:invoice_detail", pk=data["designated_invoice"].pk)
            return redirect("web:customer_detail", pk=payment.customer_id)
    return render(request, "web/payment_form.html", {"form": form})


def days_ago(day: date, days: int) -> date:
    return day - timedelta(days=days)


# --- settings ------------------------------------------------------------------------------


def settings_view(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    membership = request.membership  # type: ignore[attr-defined]
    is_owner = membership.role == Role.OWNER
    form = OrganisationForm(request.POST or None, request.FILES or None, instance=organisation)
    if request.method == "POST":
        if not is_owner:
            raise PermissionDenied(_("Only an owner may change the organisation."))
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
            if not fields["logo"]:
                fields.pop("logo")
            try:
                organisation_update(organisation=organisation, actor=request.user, **fields)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, _("Organisation saved."))
                return redirect("web:settings")
    tokens = ApiToken.objects.filter(membership=membership).order_by("-created_at")
    members = organisation.memberships.select_related("user").order_by("user__username")
    return render(
        request,
        "web/settings.html",
        {
            "form": form,
            "is_owner": is_owner,
            "tokens": tokens,
            "members": members,
            "token_form": TokenForm(),
            "new_token": request.session.pop("new_token", None),
        },
    )


def token_create(request: HttpRequest) -> HttpResponse:
    organisation_of(request)
    form = TokenForm(request.POST)
    if request.method == "POST" and form.is_valid():
        _token, raw = api_token_create(
            membership=request.membership,  # type: ignore[attr-defined]
            name=form.cleaned_data["name"],
            actor=request.user,
        )
        request.session["new_token"] = raw
        messages.success(request, _("API token created. Copy it now: it is shown only once."))
    return redirect("web:settings")


def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    organisation_of(request)
    token = get_object_or_404(ApiToken, pk=pk, membership=request.membership)  # type: ignore[attr-defined]
    if request.method == "POST":
        api_token_revoke(token=token, actor=request.user)
        messages.success(request, _("API token revoked."))
    return redirect("web:settings")
