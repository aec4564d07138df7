"""Dunning pages: overview, policies, next step and simulator per invoice, forecast,
approval queue, run now with progress, and the call worklist. Login is enforced by the
middleware; everything is scoped to `request.organisation`; writes need `can_write`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from betaald.debtors.models import Customer
from betaald.dunning import selectors, services
from betaald.dunning.forms import (
    ApprovalForm,
    CustomerPolicyForm,
    HoldForm,
    PolicyForm,
    SimulateForm,
    StepFormSet,
    TaskOutcomeForm,
)
from betaald.dunning.models import (
    CallTask,
    CustomerDunning,
    DunningPolicy,
    DunningRun,
    ExecutionStatus,
    Hold,
    StepExecution,
)
from betaald.dunning.report_display import run_report
from betaald.invoices.models import Invoice
from betaald.letters.models import Message
from betaald.web.access import local_today, organisation_of, writer_of


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Redirect to the `next` field if it is a path on this site, else to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def _errors(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
    return " ".join(error.messages)


def index(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    today = local_today()
    return render(
        request,
        "dunning/index.html",
        {
            "runs": selectors.runs_recent(organisation),
            "awaiting": selectors.approval_queue(organisation).count(),
            "tasks": len(selectors.worklist(organisation, today)),
            "pauses": selectors.pauses_summary(organisation),
            "today": today,
        },
    )


# ------------------------------------------------------------------------------- policies


def policy_list(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    policies = DunningPolicy.objects.filter(organisation=organisation).prefetch_related("steps")
    return render(request, "dunning/policy_list.html", {"policies": policies})


def _step_initial(policy: DunningPolicy) -> list[dict[str, Any]]:
    rows = []
    for step in policy.steps.order_by("position", "pk"):
        rows.append(
            {
                "step_id": step.pk,
                "code": step.code,
                "name": step.name,
                "offset_days": step.offset_days,
                "anchor": step.anchor,
                "kind": step.kind,
                "channels": step.channels,
                "fallback_channels": step.fallback_channels,
                "late_fee_kind": step.late_fee_kind,
                "late_fee_value": step.late_fee_value,
                "late_fee_min": step.late_fee_min,
                "late_fee_max": step.late_fee_max,
                "interest_from": step.interest_from,
                "interest_kind": step.interest_kind,
                "contractual_rate": step.contractual_rate,
                "costs": step.costs,
                "contract_costs_percent": step.contract_costs_percent,
                "actions": step.actions,
                "needs_approval": step.needs_approval,
            }
        )
    return rows


def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    organisation = organisation_of(request)
    policy = None
    if pk is not None:
        policy = get_object_or_404(DunningPolicy, pk=pk, organisation=organisation)
    if request.method == "POST":
        organisation = writer_of(request)
        form = PolicyForm(request.POST, instance=policy)
        formset = StepFormSet(request.POST, prefix="steps")
        if form.is_valid() and formset.is_valid():
            steps = []
            for step_form in formset.forms:
                data = step_form.cleaned_data
                if not data or data.get("DELETE"):
                    continue
                steps.append(
                    services.StepInput(fields=step_form.step_fields(), pk=data.get("step_id"))
                )
            fields = {k: form.cleaned_data[k] for k in form.Meta.fields}
            try:
                saved = services.dunning_policy_save(
                    organisation=organisation,
                    actor=request.user,
                    policy=policy,
                    fields=fields,
                    steps=steps,
                )
            except ValidationError as error:
                form.add_error(None, _errors(error))
            else:
                messages.success(request, _("The policy was saved."))
                return redirect("dunning:policy_edit", pk=saved.pk)
    else:
        form = PolicyForm(instance=policy)
        formset = StepFormSet(
            prefix="steps", initial=_step_initial(policy) if policy is not None else None
        )
    return render(
        request,
        "dunning/policy_form.html",
        {"form": form, "formset": formset, "policy": policy},
    )


@require_POST
def customer_policy(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = writer_of(request)
    customer = get_object_or_404(Customer, pk=pk, organisation=organisation)
    form = CustomerPolicyForm(request.POST, organisation=organisation)
    if form.is_valid():
        services.customer_policy_set(
            customer=customer, policy=form.cleaned_data["policy"], actor=request.user
        )
        messages.success(request, _("The dunning policy of the customer was changed."))
    return _back(request, "dunning:index")


# ---------------------------------------------------------------------- invoice: next step


def invoice_next(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    invoice = get_object_or_404(
        Invoice.objects.select_related("customer", "organisation"),
        pk=pk,
        organisation=organisation,
    )
    today = local_today()
    view = selectors.next_step_for_invoice(invoice, today)
    simulate_form = SimulateForm(request.GET or None, organisation=organisation)
    path = None
    policy = None
    if simulate_form.is_valid():
        policy = simulate_form.cleaned_data["policy"]
    else:
        own = CustomerDunning.objects.filter(customer=invoice.customer).first()
        policy = (
            own.policy
            if own
            else DunningPolicy.objects.filter(
                organisation=organisation, debtor_kind=invoice.customer.kind, is_default=True
            ).first()
        )
    if policy is not None:
        path = selectors.simulate_invoice(invoice, policy, today)
    return render(
        request,
        "dunning/invoice_next.html",
        {
            "invoice": invoice,
            "next": view,
            "simulate_form": simulate_form,
            "simulated_policy": policy,
            "path": path,
            "hold_form": HoldForm(initial={"starts_on": today}),
            "customer_policy_form": CustomerPolicyForm(
                organisation=organisation,
                initial={
                    "policy": CustomerDunning.objects.filter(customer=invoice.customer)
                    .values_list("policy_id", flat=True)
                    .first()
                },
            ),
        },
    )


@require_POST
def hold_add(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = writer_of(request)
    invoice = get_object_or_404(Invoice, pk=pk, organisation=organisation)
    form = HoldForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.hold_add(
                customer=invoice.customer,
                invoice=None if data["whole_customer"] else invoice,
                kind=data["kind"],
                actor=request.user,
                starts_on=data["starts_on"],
                until=data["until"],
                reason=data["reason"],
            )
        except ValidationError as error:
            messages.error(request, _errors(error))
        else:
            messages.success(request, _("Dunning is paused."))
    else:
        messages.error(request, _("Check the hold: %(errors)s") % {"errors": form.errors})
    return redirect("dunning:invoice_next", pk=invoice.pk)


@require_POST
def hold_release(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = writer_of(request)
    hold = get_object_or_404(Hold, pk=pk, organisation=organisation)
    try:
        services.hold_release(
            hold=hold,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            today=local_today(),
        )
    except ValidationError as error:
        for texts in error.message_dict.values():
            for text in texts:
                messages.error(request, text)
    else:
        messages.success(request, _("The hold was released."))
    return _back(request, "dunning:index")


# ------------------------------------------------------------------------------ forecast


def forecast(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    today = local_today()
    days = selectors.forecast(organisation, today)
    totals = {
        "invoices": sum(d.invoices for d in days),
        "email": sum(d.counts.get("email", 0) for d in days),
        "letter": sum(d.counts.get("letter", 0) for d in days),
        "sms": sum(d.counts.get("sms", 0) for d in days),
        "call": sum(d.counts.get("call", 0) for d in days),
        "fees": sum((d.fees for d in days), 0),
        "interest": sum((d.interest for d in days), 0),
        "costs": sum((d.costs for d in days), 0),
    }
    return render(request, "dunning/forecast.html", {"days": days, "totals": totals})


# ----------------------------------------------------------------------------- approvals


def approvals(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    if request.method == "POST":
        organisation = writer_of(request)
        form = ApprovalForm(request.POST)
        ids = [int(i) for i in request.POST.getlist("execution") if i.isdigit()]
        if not ids:
            messages.error(request, _("Select at least one step."))
        elif form.is_valid():
            try:
                if form.cleaned_data["decision"] == "approve":
                    done = services.executions_approve(
                        organisation=organisation,
                        execution_ids=ids,
                        actor=request.user,
                        today=local_today(),
                    )
                    messages.success(request, _("%(n)d steps carried out.") % {"n": done})
                else:
                    done = services.executions_skip(
                        organisation=organisation,
                        execution_ids=ids,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                    messages.success(request, _("%(n)d steps skipped.") % {"n": done})
            except ValidationError as error:
                messages.error(request, _errors(error))
        return redirect("dunning:approvals")
    queue = selectors.approval_queue(organisation)[:500]
    return render(request, "dunning/approvals.html", {"queue": queue, "form": ApprovalForm()})


# ----------------------------------------------------------------------------------- runs


@require_POST
def run_now(request: HttpRequest) -> HttpResponse:
    organisation = writer_of(request)
    run = services.run_request(organisation=organisation, actor=request.user, today=local_today())
    return redirect("dunning:run_detail", pk=run.pk)


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    run = get_object_or_404(DunningRun, pk=pk, organisation=organisation)
    template = (
        "dunning/_run_progress.html"
        if request.headers.get("HX-Request")
        else ("dunning/run_detail.html")
    )
    outbox = (
        Message.objects.filter(
            organisation=organisation,
            unique_key__startswith="dunning:",
            created_at__date=run.run_on,
        ).select_related("customer")[:100]
        if run.status == "done"
        else []
    )
    return render(request, template, {"run": run, "report": run_report(run), "outbox": outbox})


# ------------------------------------------------------------------------------- worklist


def worklist(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    today = local_today()
    mine = request.GET.get("mine") == "1"
    tasks = selectors.worklist(organisation, today, user=request.user if mine else None)
    return render(request, "dunning/worklist.html", {"tasks": tasks, "today": today, "mine": mine})


def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    task = get_object_or_404(
        CallTask.objects.select_related("customer", "invoice"), pk=pk, organisation=organisation
    )
    if request.method == "POST":
        writer_of(request)
        form = TaskOutcomeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    services.call_task_complete(
                        task=task,
                        outcome=data["outcome"],
                        actor=request.user,
                        today=local_today(),
                        note=data["note"],
                        promised_on=data["promised_on"],
                        contact_email=data["contact_email"],
                        contact_phone=data["contact_phone"],
                    )
            except ValidationError as error:
                form.add_error(None, _errors(error))
            else:
                messages.success(request, _("The outcome was saved."))
                return redirect("dunning:worklist")
    else:
        form = TaskOutcomeForm()
    return render(
        request,
        "dunning/task_detail.html",
        {"task": task, "form": form, "history": selectors.task_history(task)},
    )


@require_POST
def task_take(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = writer_of(request)
    task = get_object_or_404(CallTask, pk=pk, organisation=organisation)
    services.call_task_assign(task=task, user=request.user, actor=request.user)
    return redirect("dunning:task_detail", pk=task.pk)


def execution_list(request: HttpRequest) -> HttpResponse:
    """Recent steps carried out (the dunning part of the outbox)."""
    organisation = organisation_of(request)
    rows = (
        StepExecution.objects.filter(organisation=organisation, status=ExecutionStatus.DONE)
        .select_related("invoice", "customer", "step")
        .order_by("-executed_on", "-pk")[:200]
    )
    return render(request, "dunning/executions.html", {"rows": rows})
