"""Pages of the customer relationship: overview, plan calculator and detail, promises,
disputes with their report, the payment-behaviour register, and a customer's credit page
(score, credit limit, credit check, contract terms). Login is enforced by the middleware;
everything is scoped to `request.organisation` (another organisation's id is a 404); writes
need `membership.can_write` (else 403)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from betaald.core import installments as plan_core
from betaald.core.errors import DomainError
from betaald.core.money import ZERO
from betaald.debtors.models import Customer
from betaald.i18n import error_text
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from betaald.invoices.selectors import invoices_for
from betaald.invoices.services import LineInput
from betaald.plans import selectors, services
from betaald.plans.forms import (
    ContractTermsForm,
    CreditCheckForm,
    CreditLimitForm,
    DecisionForm,
    DisputeForm,
    PlanForm,
    PromiseForm,
    RelationshipSettingsForm,
    ResolveForm,
)
from betaald.plans.models import (
    ContractTerms,
    CreditAssessment,
    Dispute,
    DisputeStatus,
    PaymentPlan,
    PlanStatus,
    Promise,
    PromiseStatus,
    TermSuggestion,
)
from betaald.web.access import local_today, organisation_of, writer_of


def _errors_to_form(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, texts in error.message_dict.items():
            target = name if name in form.fields else None
            for text in texts:
                form.add_error(target, text if target else f"{name}: {text}")
    else:
        for text in error.messages:
            form.add_error(None, text)


def _open_invoices(organisation: Any, customer: Customer) -> list[Invoice]:
    return list(
        invoices_for(organisation)
        .filter(
            Q(open_amount__gt=0),
            customer=customer,
            status=InvoiceStatus.ISSUED,
            kind=InvoiceKind.INVOICE,
        )
        .order_by("due_on", "pk")
    )


def _customer(request: HttpRequest, organisation: Any) -> Customer:
    raw = request.GET.get("customer") or request.POST.get("customer") or ""
    if not raw.isdigit():
        raise Http404(_("Choose a customer."))
    return get_object_or_404(Customer, pk=int(raw), organisation=organisation)


# ------------------------------------------------------------------------------- overview


def index(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    return render(
        request,
        "plans/index.html",
        {
            "plans": selectors.plans_for(organisation)
            .filter(status__in=[PlanStatus.PROPOSED, PlanStatus.ACTIVE])
            .order_by("status", "-proposed_on")[:50],
            "promises": selectors.promises_for(organisation)
            .filter(status=PromiseStatus.OPEN)
            .order_by("promised_on")[:50],
            "disputes": selectors.disputes_for(organisation)
            .filter(status=DisputeStatus.OPEN)
            .order_by("resolve_by")[:50],
            "suggestions": selectors.suggestions_pending(organisation)[:50],
            # Only customers with something open can get a plan or make a promise.
            "customers": Customer.objects.filter(
                organisation=organisation,
                pk__in=invoices_for(organisation)
                .filter(Q(open_amount__gt=0), status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE)
                .values("customer_id"),
            ).order_by("name"),
            "today": local_today(),
        },
    )


# ---------------------------------------------------------------------------------- plans


def plan_create(request: HttpRequest) -> HttpResponse:
    """The calculator: preview a schedule for chosen invoices, then propose or start it."""
    organisation = organisation_of(request)
    customer = _customer(request, organisation)
    invoices = _open_invoices(organisation, customer)
    today = local_today()
    preview = None
    if request.method == "POST":
        form = PlanForm(request.POST, invoices=invoices)
        if form.is_valid():
            data = form.cleaned_data
            chosen = form.chosen()
            principal = sum((i.open_amount for i in chosen), ZERO)
            options = {
                "first_on": data["first_on"],
                "frequency": data["frequency"],
                "count": data["count"],
                "amount": data["amount"],
                "interest": data["interest"] or ZERO,
                "costs": data["costs"] or ZERO,
            }
            action = request.POST.get("action", "preview")
            if action == "charges":
                charges = selectors.charges_to_date(customer, chosen, today)
                data_with = request.POST.copy()
                data_with["interest"] = str(charges.interest)
                data_with["costs"] = str(charges.costs)
                form = PlanForm(data_with, invoices=invoices)
                form.is_valid()
                for note in charges.notes:
                    messages.warning(request, note)
                messages.info(
                    request,
                    _("Interest to date %(interest)s and costs claimed %(costs)s filled in.")
                    % {"interest": charges.interest, "costs": charges.costs},
                )
            elif action == "preview":
                try:
                    preview = plan_core.schedule(
                        principal,
                        today=today,
                        first_on=options["first_on"],
                        frequency=plan_core.Frequency(options["frequency"]),
                        count=options["count"],
                        amount=options["amount"],
                        interest=options["interest"],
                        costs=options["costs"],
                    )
                except DomainError as error:
                    field = error.field if error.field in form.fields else None
                    form.add_error(field, error_text(error))
            else:
                writer_of(request)
                try:
                    plan = services.plan_create(
                        organisation=organisation,
                        customer=customer,
                        invoices=chosen,
                        actor=request.user,
                        today=today,
                        grace_days=data["grace_days"],
                        on_break=data["on_break"],
                        note=data["note"],
                        activate=action == "activate",
                        **options,
                    )
                except ValidationError as error:
                    _errors_to_form(form, error)
                else:
                    messages.success(request, _("Payment plan saved."))
                    return redirect("plans:plan_detail", pk=plan.pk)
    else:
        form = PlanForm(
            invoices=invoices,
            initial={
                "invoices": [str(i.pk) for i in invoices],
                "first_on": today + timedelta(days=7),
                "count": 3,
            },
        )
    return render(
        request,
        "plans/plan_form.html",
        {"form": form, "customer": customer, "preview": preview, "invoices": invoices},
    )


def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    plan = get_object_or_404(selectors.plans_for(organisation), pk=pk)
    today = local_today()
    payments = selectors.plan_payments(plan)
    direct_debit = selectors.plan_direct_debit(plan)
    status = None
    if plan.status == PlanStatus.ACTIVE:
        status = plan_core.plan_status(
            [plan_core.Instalment(i.number, i.due_on, i.amount) for i in plan.instalments.all()],
            payments,
            today,
            plan.grace_days,
        )
    return render(
        request,
        "plans/plan_detail.html",
        {
            "plan": plan,
            "instalments": plan.instalments.all(),
            "invoices": plan.invoices.all(),
            "payments": payments,
            "paid": sum((p.amount for p in payments), ZERO),
            "status": status,
            "direct_debit": direct_debit,
            "schedule": [(i, direct_debit.of(i.number)) for i in plan.instalments.all()],
            "decision_form": DecisionForm(),
        },
    )


@require_POST
def plan_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    organisation = writer_of(request)
    plan = get_object_or_404(PaymentPlan, pk=pk, organisation=organisation)
    try:
        if action == "activate":
            services.plan_activate(plan=plan, actor=request.user, today=local_today())
            messages.success(request, _("The plan is active; dunning of its invoices pauses."))
        elif action == "cancel":
            services.plan_cancel(
                plan=plan,
                actor=request.user,
                today=local_today(),
                reason=request.POST.get("note", ""),
            )
            messages.success(request, _("The plan is cancelled; dunning resumes."))
        elif action == "resume":
            services.plan_resume_dunning(
                plan=plan,
                actor=request.user,
                today=local_today(),
                reason=request.POST.get("note", ""),
            )
            messages.success(request, _("Dunning of the plan's invoices resumes."))
        else:
            raise Http404
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("plans:plan_detail", pk=plan.pk)


# ------------------------------------------------------------------------------- promises


def promise_create(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    customer = _customer(request, organisation)
    invoices = _open_invoices(organisation, customer)
    if request.method == "POST":
        writer_of(request)
        form = PromiseForm(request.POST, invoices=invoices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.promise_create(
                    organisation=organisation,
                    customer=customer,
                    invoices=form.chosen(),
                    amount=data["amount"],
                    promised_on=data["promised_on"],
                    source=data["source"],
                    note=data["note"],
                    actor=request.user,
                    today=local_today(),
                )
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                messages.success(request, _("Promise recorded; dunning pauses until that date."))
                return redirect("plans:index")
    else:
        form = PromiseForm(
            invoices=invoices,
            initial={
                "invoices": [str(i.pk) for i in invoices],
                "amount": sum((i.open_amount for i in invoices), ZERO),  # type: ignore[attr-defined]
                "promised_on": local_today() + timedelta(days=7),
            },
        )
    return render(request, "plans/promise_form.html", {"form": form, "customer": customer})


@require_POST
def promise_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = writer_of(request)
    promise = get_object_or_404(Promise, pk=pk, organisation=organisation)
    try:
        services.promise_cancel(
            promise=promise,
            actor=request.user,
            today=local_today(),
            reason=request.POST.get("note", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("plans:index")


# ------------------------------------------------------------------------------- disputes


def dispute_create(request: HttpRequest, invoice_pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    invoice = get_object_or_404(
        Invoice.objects.select_related("customer"), pk=invoice_pk, organisation=organisation
    )
    if request.method == "POST":
        writer_of(request)
        form = DisputeForm(request.POST, invoice=invoice, organisation=organisation)
        if form.is_valid():
            data = form.cleaned_data
            owner = None
            if data["owner"]:
                owner_membership = organisation.memberships.filter(user_id=data["owner"]).first()
                owner = owner_membership.user if owner_membership else None
            try:
                dispute = services.dispute_open(
                    invoice=invoice,
                    reason=data["reason"],
                    description=data["description"],
                    actor=request.user,
                    today=local_today(),
                    owner=owner,
                    resolve_by=data["resolve_by"],
                    line=invoice.lines.filter(pk=data["line"]).first() if data["line"] else None,
                )
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                messages.success(request, _("Dispute recorded; dunning of this invoice pauses."))
                return redirect("plans:dispute_detail", pk=dispute.pk)
    else:
        form = DisputeForm(invoice=invoice, organisation=organisation)
    return render(request, "plans/dispute_form.html", {"form": form, "invoice": invoice})


def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    dispute = get_object_or_404(selectors.disputes_for(organisation), pk=pk)
    form = ResolveForm()
    if request.method == "POST":
        writer_of(request)
        form = ResolveForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                _resolve(request, dispute, data)
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                messages.success(request, _("Dispute resolved; dunning of the invoice resumes."))
                return redirect("plans:dispute_detail", pk=dispute.pk)
    return render(request, "plans/dispute_detail.html", {"dispute": dispute, "form": form})


def _resolve(request: HttpRequest, dispute: Dispute, data: dict[str, Any]) -> None:
    today = local_today()
    if data["decision"] == "reject":
        services.dispute_reject(dispute=dispute, actor=request.user, today=today, note=data["note"])
        return
    lines = None
    if data["decision"] == "partial":
        amount = data.get("partial_amount")
        if amount is None or amount <= 0:
            raise ValidationError({"partial_amount": _("give the amount to credit")})
        vat_rate = dispute.invoice.lines.values_list("vat_rate", flat=True).first() or "21"
        lines = [LineInput(data["note"][:500], Decimal("1"), amount, vat_rate)]
    services.dispute_resolve_credit(
        dispute=dispute, actor=request.user, today=today, note=data["note"], lines=lines
    )


def disputes(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    return render(
        request,
        "plans/disputes.html",
        {
            "disputes": selectors.disputes_for(organisation).order_by("-opened_on", "-pk")[:200],
            "report": selectors.disputes_report(organisation),
        },
    )


# ------------------------------------------------------------------------------- register


def register(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    rows = selectors.register(organisation, local_today())
    return render(
        request,
        "plans/register.html",
        {"rows": rows, "worst": list(reversed(rows[-5:])), "best": rows[:5]},
    )


@require_POST
def suggestion_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    organisation = writer_of(request)
    suggestion = get_object_or_404(TermSuggestion, pk=pk, organisation=organisation)
    note = request.POST.get("note", "")
    try:
        if decision == "accept":
            services.suggestion_accept(
                suggestion=suggestion, actor=request.user, today=local_today(), note=note
            )
            messages.success(request, _("Suggestion accepted and applied."))
        elif decision == "reject":
            services.suggestion_reject(suggestion=suggestion, actor=request.user, note=note)
            messages.success(request, _("Suggestion rejected."))
        else:
            raise Http404
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(request.POST.get("next") or "plans:index")


# ------------------------------------------------------------------------- a customer


def customer(request: HttpRequest, pk: int) -> HttpResponse:
    """Score and reasons, credit limit, credit check and the contract terms of one customer."""
    organisation = organisation_of(request)
    person = get_object_or_404(Customer, pk=pk, organisation=organisation)
    today = local_today()
    terms = ContractTerms.objects.filter(customer=person).first()
    limit_form = CreditLimitForm(initial={"credit_limit": person.credit_limit})
    check_form = CreditCheckForm()
    terms_form = ContractTermsForm(instance=terms)
    check = None
    if request.method == "POST":
        writer_of(request)
        what = request.POST.get("form")
        try:
            if what == "limit":
                limit_form = CreditLimitForm(request.POST)
                if limit_form.is_valid():
                    services.credit_limit_set(
                        customer=person,
                        credit_limit=limit_form.cleaned_data["credit_limit"],
                        actor=request.user,
                    )
                    messages.success(request, _("Credit limit saved."))
                    return redirect("plans:credit", pk=person.pk)
            elif what == "check":
                check_form = CreditCheckForm(request.POST)
                if check_form.is_valid():
                    check = services.credit_check_run(
                        customer=person,
                        order_amount=check_form.cleaned_data["order_amount"],
                        actor=request.user,
                        today=today,
                    )
            elif what == "deposit":
                assessment = get_object_or_404(
                    CreditAssessment, pk=request.POST.get("assessment") or 0, customer=person
                )
                invoice = services.deposit_invoice_create(assessment=assessment, actor=request.user)
                messages.success(request, _("Deposit invoice drafted; issue it to send it."))
                return redirect("web:invoice_detail", pk=invoice.pk)
            elif what == "terms":
                terms_form = ContractTermsForm(request.POST, instance=terms)
                if terms_form.is_valid():
                    fields = {name: terms_form.cleaned_data[name] for name in terms_form.fields}
                    services.contract_terms_save(customer=person, actor=request.user, **fields)
                    messages.success(request, _("Contract terms saved."))
                    return redirect("plans:credit", pk=person.pk)
        except ValidationError as error:
            target = {"limit": limit_form, "check": check_form, "terms": terms_form}.get(
                what or "", limit_form
            )
            _errors_to_form(target, error)
    return render(
        request,
        "plans/customer.html",
        {
            "customer": person,
            "score": selectors.customer_score(person, today),
            "flags": selectors.customer_flags(person),
            "open_invoices": _open_invoices(organisation, person),
            "open_amount": selectors.open_amount_of(person),
            "limit_form": limit_form,
            "check_form": check_form,
            "terms_form": terms_form,
            "check": check,
            "checks": CreditAssessment.objects.filter(customer=person)[:5],
            "suggestions": TermSuggestion.objects.filter(customer=person)[:10],
            "plans": PaymentPlan.objects.filter(customer=person)[:10],
            "promises": Promise.objects.filter(customer=person)[:10],
            "disputes": Dispute.objects.filter(customer=person).select_related("invoice")[:10],
        },
    )


def settings(request: HttpRequest) -> HttpResponse:
    """Which term rules suggest what, and the deposit per risk class."""
    organisation = organisation_of(request)
    current = selectors.relationship_settings_for(organisation)
    form = RelationshipSettingsForm(instance=current)
    if request.method == "POST":
        writer_of(request)
        form = RelationshipSettingsForm(request.POST, instance=current)
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in form.fields}
            try:
                services.relationship_settings_save(
                    organisation=organisation, actor=request.user, **fields
                )
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("plans:settings")
    return render(request, "plans/settings.html", {"form": form})
