"""Pages of the hand-over to collection: the list, the form (choose invoices and party, see
what the claim amounts to today), the hand-over with its dossier, and withdrawing it.
Login is enforced by the middleware; everything is scoped to `request.organisation` (another
organisation's id is a 404); writes need `membership.can_write` (else 403)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from betaald.debtors.models import Customer
from betaald.dunning.selectors import charges_on
from betaald.handover import dossier, services
from betaald.handover.forms import HandoverForm, WithdrawForm
from betaald.handover.models import Handover, HandoverClaim
from betaald.handover.selectors import ALERT_DAYS, limitation_alerts, open_principal
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from betaald.invoices.selectors import invoices_for
from betaald.web.access import local_today, organisation_of, writer_of
from betaald.web.views import add_errors


def _handovers(organisation: Any) -> Any:
    return Handover.objects.filter(organisation=organisation).select_related("customer")


def _open_invoices(organisation: Any, customer: Customer, today: Any) -> list[Invoice]:
    """The customer's overdue invoices that are not in an active hand-over."""
    taken = HandoverClaim.objects.filter(is_active=True, invoice__customer=customer).values(
        "invoice_id"
    )
    return list(
        invoices_for(organisation)
        .filter(
            Q(open_amount__gt=0),
            customer=customer,
            status=InvoiceStatus.ISSUED,
            kind=InvoiceKind.INVOICE,
            due_on__lt=today,
        )
        .exclude(pk__in=taken)
        .select_related("organisation", "customer")
        .order_by("due_on", "pk")
    )


def index(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    today = local_today()
    return render(
        request,
        "handover/index.html",
        {
            "handovers": _handovers(organisation)[:200],
            "alerts": [
                {"invoice": invoice, "limitation": result, "days_left": result.days_left(today)}
                for invoice, result in limitation_alerts(organisation, today)
            ],
            "alert_days": ALERT_DAYS,
        },
    )


def create(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    raw = request.GET.get("customer") or request.POST.get("customer") or ""
    if not raw.isdigit():
        raise Http404(_("Choose a customer."))
    customer = get_object_or_404(Customer, pk=int(raw), organisation=organisation)
    today = local_today()
    invoices = _open_invoices(organisation, customer, today)
    if request.method == "POST":
        writer_of(request)
        form = HandoverForm(request.POST, invoices=invoices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                handover = services.handover_create(
                    customer=customer,
                    invoices=form.chosen(),
                    party_kind=data["party_kind"],
                    party_name=data["party_name"],
                    party_email=data["party_email"],
                    party_reference=data["party_reference"],
                    justis_number=data["justis_number"],
                    attachment_requested=data["attachment_requested"],
                    known_assets=data["known_assets"],
                    dissipation_facts=data["dissipation_facts"],
                    note=data["note"],
                    actor=request.user,
                    today=today,
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Handed over to %(party)s; dunning of these invoices is paused.")
                    % {"party": handover.party_name},
                )
                return redirect("handover:detail", pk=handover.pk)
    else:
        form = HandoverForm(invoices=invoices, initial={"invoices": [str(i.pk) for i in invoices]})
    charge = charges_on(invoices, today) if invoices else None
    return render(
        request,
        "handover/form.html",
        {"customer": customer, "form": form, "invoices": invoices, "charge": charge},
    )


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    handover = get_object_or_404(_handovers(organisation), pk=pk)
    data = dossier.dossier_data(handover)
    return render(
        request,
        "handover/detail.html",
        {
            "handover": handover,
            "claims": handover.claims.select_related("invoice"),
            "d": data,
            "withdraw_form": WithdrawForm(),
            "open_principal": open_principal(handover),
        },
    )


@require_POST
def limitation_notice(request: HttpRequest) -> HttpResponse:
    """Send a stuitingsbrief for one invoice from the limitation alerts."""
    organisation = writer_of(request)
    raw = request.POST.get("invoice", "")
    if not raw.isdigit():
        raise Http404(_("Choose an invoice."))
    invoice = get_object_or_404(
        Invoice.objects.select_related("customer"), pk=int(raw), organisation=organisation
    )
    try:
        message = services.limitation_notice_send(
            customer=invoice.customer, invoices=[invoice], actor=request.user, today=local_today()
        )
    except ValidationError as error:
        for texts in error.message_dict.values():
            for text in texts:
                messages.error(request, text)
    else:
        messages.success(
            request,
            _("Stuitingsbrief for %(number)s queued (%(channel)s).")
            % {"number": invoice.number, "channel": message.get_channel_display()},
        )
    return redirect("handover:index")


@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = writer_of(request)
    handover = get_object_or_404(_handovers(organisation), pk=pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
        return redirect("handover:detail", pk=pk)
    services.handover_withdraw(
        handover=handover,
        reason=form.cleaned_data["reason"],
        actor=request.user,
        today=local_today(),
    )
    messages.success(request, _("Withdrawn; dunning of these invoices resumes."))
    return redirect("handover:detail", pk=pk)


def dossier_zip_download(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    handover = get_object_or_404(_handovers(organisation), pk=pk)
    response = HttpResponse(dossier.dossier_zip(handover), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{dossier.filename(handover, "zip")}"'
    return response


def dossier_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    handover = get_object_or_404(_handovers(organisation), pk=pk)
    response = HttpResponse(dossier.dossier_pdf(handover), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{dossier.filename(handover, "pdf")}"'
    return response
