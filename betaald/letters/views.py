"""The outbox UI: messages with their evidence, the template editor with a live preview on real
data, the print batch, open sending issues and the evidence export for a dossier.

Every query is scoped to `request.organisation`; writes need `request.membership.can_write`.
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from betaald.audit.models import Event
from betaald.letters.models import (
    Channel,
    Message,
    MessageKind,
    MessageLanguage,
    MessageStatus,
    MessageTemplate,
    SendIssue,
)
from betaald.letters.rendering import (
    PLACEHOLDERS,
    RenderError,
    default_parts,
    render_message,
    render_parts,
    template_parts,
    template_validate,
)
from betaald.letters.selectors import EVIDENCE_FIELDS, evidence_rows
from betaald.letters.services import (
    OutboxError,
    message_cancel,
    message_resend,
    message_template_reset,
    message_template_save,
    sender_snapshot,
)

View = Callable[..., HttpResponse]
PAGE_SIZE = 50


def organisation_of(request: HttpRequest) -> Any:
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        raise Http404(_("You do not belong to an organisation."))
    return organisation


def writer_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = getattr(request, "membership", None)
        if membership is None or not membership.can_write:
            raise PermissionDenied(_("Your role may only read."))
        return view(request, *args, **kwargs)

    return wrapper


def messages_for(organisation: Any) -> QuerySet[Message]:
    return Message.objects.filter(organisation=organisation).select_related("customer", "invoice")


# --- the outbox --------------------------------------------------------------------------------


def index(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    queryset = messages_for(organisation)
    filters = {
        "status": request.GET.get("status", ""),
        "channel": request.GET.get("channel", ""),
        "kind": request.GET.get("kind", ""),
        "q": request.GET.get("q", "").strip(),
    }
    if filters["status"] in MessageStatus.values:
        queryset = queryset.filter(status=filters["status"])
    if filters["channel"] in Channel.values:
        queryset = queryset.filter(channel=filters["channel"])
    if filters["kind"] in MessageKind.values:
        queryset = queryset.filter(kind=filters["kind"])
    if filters["q"]:
        queryset = queryset.filter(customer__name__icontains=filters["q"])
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit():
        queryset = queryset.filter(customer_id=int(customer_id))
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = dict(
        Message.objects.filter(organisation=organisation)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    params = "&".join(f"{key}={value}" for key, value in filters.items() if value)
    issues = SendIssue.objects.filter(organisation=organisation, is_resolved=False).select_related(
        "customer", "message"
    )[:20]
    return render(
        request,
        "letters/outbox.html",
        {
            "page": page,
            "filters": filters,
            "params": params,
            "statuses": MessageStatus.choices,
            "channels": Channel.choices,
            "kinds": MessageKind.choices,
            "counts": [
                (value, label, counts.get(value, 0)) for value, label in MessageStatus.choices
            ],
            "issues": issues,
            "letters_to_post": Message.objects.filter(
                organisation=organisation,
                channel=Channel.LETTER,
                status=MessageStatus.SENT,
                posted_on__isnull=True,
            ).count(),
            "today": timezone.localdate(),
        },
    )


def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    message = get_object_or_404(messages_for(organisation), pk=pk)
    preview: Any = None
    error = ""
    try:
        preview = render_message(
            organisation_id=organisation.pk,
            kind=message.kind,
            language=message.language,
            context=message.context,
            recipient=message.recipient,
            parts=message.context.get("template"),
        )
    except RenderError as problem:
        error = str(problem)
    events = Event.objects.filter(subject_type="letters.message", subject_id=str(message.pk))
    return render(
        request,
        "letters/message_detail.html",
        {
            "message": message,
            "preview": preview,
            "render_error": error,
            "events": events,
            "invoices": message.invoices.all(),
            "channels": Channel.choices,
            "copies": Message.objects.filter(
                organisation=organisation, unique_key__startswith=f"{message.unique_key}:resend:"
            ),
        },
    )


def message_pdf(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The stored PDF (what was sent); for a message not rendered yet, a preview."""
    from betaald.letters.pdf import letter_pdf

    organisation = organisation_of(request)
    message = get_object_or_404(messages_for(organisation), pk=pk)
    if message.pdf:
        response = FileResponse(message.pdf.open("rb"), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="message-{message.pk}.pdf"'
        return response
    try:
        rendered = render_message(
            organisation_id=organisation.pk,
            kind=message.kind,
            language=message.language,
            context={"date": timezone.localdate().isoformat(), **message.context},
            recipient=message.recipient,
            parts=message.context.get("template"),
        )
    except RenderError as problem:
        return HttpResponse(str(problem), status=422, content_type="text/plain")
    preview = HttpResponse(letter_pdf(rendered), content_type="application/pdf")
    preview["Content-Disposition"] = f'inline; filename="preview-{message.pk}.pdf"'
    return preview


@require_POST
@writer_required
def message_resend_view(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    message = get_object_or_404(messages_for(organisation), pk=pk)
    channel = request.POST.get("channel") or None
    try:
        copy = message_resend(
            message=message,
            reason=request.POST.get("reason", ""),
            actor=request.user,
            channel=channel if channel in Channel.values else None,
        )
    except OutboxError as error:
        flash.error(request, str(error))
        return redirect("letters:message_detail", pk=message.pk)
    flash.success(request, _("Queued again."))
    return redirect("letters:message_detail", pk=copy.pk)


@require_POST
@writer_required
def message_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    message = get_object_or_404(messages_for(organisation), pk=pk)
    try:
        message_cancel(message=message, reason=request.POST.get("reason", ""), actor=request.user)
    except OutboxError as error:
        flash.error(request, str(error))
    return redirect("letters:message_detail", pk=message.pk)


@require_POST
@writer_required
def issue_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = organisation_of(request)
    issue = get_object_or_404(SendIssue, organisation=organisation, pk=pk)
    SendIssue.objects.filter(pk=issue.pk).update(is_resolved=True)
    from betaald.audit.services import event_record

    event_record(
        name="letters.issue.resolved",
        organisation=organisation,
        actor=request.user,
        subject=issue,
        customer=issue.customer,
        message=request.POST.get("note", ""),
    )
    return redirect("letters:index")


# --- templates ---------------------------------------------------------------------------------


def template_list(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    own = {
        (t.kind, t.language): t for t in MessageTemplate.objects.filter(organisation=organisation)
    }
    rows = [
        {
            "kind": kind,
            "label": label,
            "languages": [
                (language, own.get((kind, language))) for language in MessageLanguage.values
            ],
        }
        for kind, label in MessageKind.choices
    ]
    return render(request, "letters/template_list.html", {"rows": rows})


def preview_context(organisation: Any, customer_id: str | None) -> tuple[dict[str, Any], Any]:
    """Real data for the preview: a customer's most recent issued invoices and what the law
    would charge on them (the BIK staffel on their summed principal)."""
    from betaald.core.collection_costs import collection_costs
    from betaald.debtors.models import Customer
    from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus

    customers = Customer.objects.filter(organisation=organisation)
    customer = None
    if customer_id and customer_id.isdigit():
        customer = customers.filter(pk=int(customer_id)).first()
    invoices_qs = Invoice.objects.filter(
        organisation=organisation, status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE
    )
    if customer is None:
        latest = invoices_qs.order_by("-issued_on", "-id").select_related("customer").first()
        customer = latest.customer if latest else customers.first()
    invoices = list(invoices_qs.filter(customer=customer).order_by("-issued_on", "-id")[:3])
    if not invoices:  # nothing issued yet: the sample data, with this organisation as sender
        from betaald.letters.rendering import SAMPLE_RECIPIENT, sample_context

        sample = {**sample_context(), "sender": sender_snapshot(organisation)}
        return {"context": sample, "recipient": SAMPLE_RECIPIENT}, customer
    principals = [invoice.total for invoice in invoices]
    costs = collection_costs(principals, vat_applies=not organisation.can_deduct_vat)
    context: dict[str, Any] = {
        "date": timezone.localdate().isoformat(),
        "sender": sender_snapshot(organisation),
        "customer_number": customer.number if customer else "",
        "payment_reference": invoices[0].payment_reference if invoices else "",
        "invoices": [
            {
                "number": invoice.number,
                "issued_on": invoice.issued_on.isoformat() if invoice.issued_on else "",
                "due_on": invoice.due_on.isoformat() if invoice.due_on else "",
                "principal": str(invoice.total),
                "interest": "0.00",
                "costs": "0.00",
                "payment_reference": invoice.payment_reference,
            }
            for invoice in invoices
        ],
        "costs_if_unpaid": str(costs.costs),
        "costs_vat_if_unpaid": str(costs.vat),
        "plan": {
            "total": str(sum(principals, costs.principal * 0)),
            "instalments": [
                {"number": 1, "due_on": timezone.localdate().isoformat(), "amount": str(p)}
                for p in principals
            ],
        },
        "instalment": {
            "number": 1,
            "due_on": timezone.localdate().isoformat(),
            "amount": str(principals[0]) if principals else "0.00",
        },
        "promise": {
            "amount": str(principals[0]) if principals else "0.00",
            "due_on": timezone.localdate().isoformat(),
        },
        "handover": {"party": ""},
        "direct_debit": {
            "amount": str(principals[0]) if principals else "0.00",
            "collection_date": timezone.localdate().isoformat(),
            "mandate_reference": f"{customer.number if customer else ''}-1",
            "creditor_id": organisation.sepa_creditor_id,
            "debtor_iban": customer.ibans.values_list("iban", flat=True).first() or ""
            if customer
            else "",
            "return_code": "MS02",
        },
    }
    recipient = {
        "name": customer.name if customer else "",
        "email": customer.email if customer else "",
        "address_lines": customer.address_lines if customer else [],
    }
    return {"context": context, "recipient": recipient}, customer


def _check_kind(kind: str, language: str) -> None:
    if kind not in MessageKind.values or language not in MessageLanguage.values:
        raise Http404(_("Unknown template."))


def template_edit(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    from betaald.debtors.models import Customer

    organisation = organisation_of(request)
    _check_kind(kind, language)
    parts = template_parts(organisation.pk, kind, language)
    values = {"subject": parts["subject"], "body": parts["body"], "sms_text": parts["sms"]}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        membership = getattr(request, "membership", None)
        if membership is None or not membership.can_write:
            raise PermissionDenied(_("Your role may only read."))
        if request.POST.get("action") == "reset":
            message_template_reset(
                organisation=organisation, kind=kind, language=language, actor=request.user
            )
            flash.success(request, _("The default template is used again."))
            return redirect("letters:template_edit", kind=kind, language=language)
        values = {key: request.POST.get(key, "") for key in values}
        try:
            message_template_save(
                organisation=organisation,
                kind=kind,
                language=language,
                subject=values["subject"],
                body=values["body"],
                sms_text=values["sms_text"],
                actor=request.user,
            )
        except ValidationError as error:
            errors = error.message_dict
        else:
            flash.success(request, _("Template saved."))
            return redirect("letters:template_edit", kind=kind, language=language)
    data, customer = preview_context(organisation, request.GET.get("customer"))
    return render(
        request,
        "letters/template_edit.html",
        {
            "kind": kind,
            "kind_label": MessageKind(kind).label,
            "language": language,
            "values": values,
            "errors": errors,
            "is_own": MessageTemplate.objects.filter(
                organisation=organisation, kind=kind, language=language
            ).exists(),
            "placeholders": sorted(PLACEHOLDERS.items()),
            "customers": Customer.objects.filter(organisation=organisation).order_by("name")[:200],
            "customer": customer,
            "preview": _preview(kind, language, values, data),
        },
        status=422 if errors else 200,
    )


def _preview(
    kind: str, language: str, values: dict[str, str], data: dict[str, Any]
) -> dict[str, Any]:
    from betaald.letters.rendering import display_context

    sms = values.get("sms_text") or default_parts(kind, language)["sms"]
    try:
        template_validate(
            kind=kind, language=language, subject=values["subject"], body=values["body"], sms=sms
        )
    except ValidationError as error:
        return {"errors": [m for messages in error.message_dict.values() for m in messages]}
    try:
        display = display_context(
            data["context"], recipient=data["recipient"], language=language, kind=kind
        )
        subject, html, sms_text = render_parts(
            {"subject": values["subject"], "body": values["body"], "sms": sms}, display
        )
    except RenderError as error:
        return {"errors": [str(error)]}
    return {"subject": subject, "html": html, "sms": sms_text, "errors": []}


@require_POST
def template_preview(request: HttpRequest, kind: str, language: str) -> HttpResponse:
    """htmx: the preview of the template being edited, on real data, as you type."""
    organisation = organisation_of(request)
    _check_kind(kind, language)
    values = {key: request.POST.get(key, "") for key in ("subject", "body", "sms_text")}
    data, _customer = preview_context(organisation, request.POST.get("customer"))
    return render(
        request, "letters/_preview.html", {"preview": _preview(kind, language, values, data)}
    )


@xframe_options_sameorigin
def message_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The letter as HTML, for the preview frame on the message page."""
    from betaald.letters.pdf import document_html

    organisation = organisation_of(request)
    message = get_object_or_404(messages_for(organisation), pk=pk)
    try:
        rendered = render_message(
            organisation_id=organisation.pk,
            kind=message.kind,
            language=message.language,
            context={"date": timezone.localdate().isoformat(), **message.context},
            recipient=message.recipient,
            parts=message.context.get("template"),
        )
    except RenderError as problem:
        return HttpResponse(str(problem), status=422, content_type="text/plain")
    return HttpResponse(document_html(rendered))


# --- the print batch and evidence --------------------------------------------------------------


def print_view(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    from betaald.letters.printing import letters_to_post

    day = _parse_day(request.GET.get("day")) or timezone.localdate()
    return render(
        request,
        "letters/print.html",
        {"day": day, "letters": letters_to_post(organisation, day)},
    )


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@require_POST
@writer_required
def print_batch_download(request: HttpRequest) -> HttpResponse:
    from betaald.letters.printing import print_batch_build

    organisation = organisation_of(request)
    day = _parse_day(request.POST.get("day")) or timezone.localdate()
    batch = print_batch_build(organisation=organisation, day=day, actor=request.user)
    if request.POST.get("format") == "csv":
        response = HttpResponse(batch.csv, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="print-{day}.csv"'
        return response
    if not batch.count:
        flash.info(request, _("There are no letters to post on this day."))
        return redirect(f"{reverse('letters:print')}?day={day}")
    response = HttpResponse(batch.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="print-{day}.pdf"'
    return response


def evidence_export(request: HttpRequest, customer_id: int) -> HttpResponse:
    """A dossier of everything sent to one customer: messages.json, messages.csv and the PDFs
    as sent (each named with its SHA-256 so the hash can be checked)."""
    from betaald.debtors.models import Customer

    organisation = organisation_of(request)
    customer = get_object_or_404(Customer, organisation=organisation, pk=customer_id)
    messages = list(
        Message.objects.filter(organisation=organisation, customer=customer)
        .prefetch_related("invoices")
        .order_by("created_at", "id")
    )
    rows = evidence_rows(messages)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=EVIDENCE_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "messages.json",
            json.dumps(
                {
                    "customer": {"number": customer.number, "name": customer.name},
                    "messages": [
                        {**row, "context": message.context, "recipient": message.recipient}
                        for row, message in zip(rows, messages, strict=True)
                    ],
                },
                indent=2,
                ensure_ascii=False,
            ),
        )
        archive.writestr("messages.csv", table.getvalue())
        for message in messages:
            if message.pdf:
                with message.pdf.open("rb") as handle:
                    archive.writestr(
                        f"pdf/{message.pk}-{message.kind}-{message.pdf_sha256}.pdf", handle.read()
                    )
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="evidence-{customer.number}-{timezone.localdate()}.zip"'
    )
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def sms_status(request: HttpRequest) -> HttpResponse:
    """MessageBird's delivery receipt for an SMS (its `reportUrl`). No login and no CSRF token:
    the request is trusted only with a valid `MessageBird-Signature` made with SMS_SIGNING_KEY
    (none configured: every report is refused). The fields come in the query string (GET, as
    MessageBird sends them) or the body (form or JSON). Answers 200 for any genuine report, so
    the provider does not retry one we cannot use."""
    from betaald.letters.delivery import sms_status_record
    from betaald.letters.sms import (
        messagebird_signature_valid,
        messagebird_status_report,
        sms_signing_key,
    )

    configured = str(getattr(settings, "SMS_STATUS_URL", "") or "")
    if configured:  # the URL MessageBird was given and signed, whatever proxy is in between
        query = request.META.get("QUERY_STRING", "")
        url = configured.split("?", 1)[0] + (f"?{query}" if query else "")
    else:
        url = request.build_absolute_uri()
    body = request.body
    if not messagebird_signature_valid(
        key=sms_signing_key(),
        signature=request.headers.get("MessageBird-Signature", ""),
        timestamp=request.headers.get("MessageBird-Request-Timestamp", ""),
        url=url,
        body=body,
        now=int(time.time()),
    ):
        return HttpResponse("invalid signature", status=403, content_type="text/plain")
    fields: dict[str, str] = {key: request.GET.get(key, "") for key in request.GET}
    if request.method == "POST":
        if request.content_type == "application/json":
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                return HttpResponse("not JSON", status=400, content_type="text/plain")
            if isinstance(data, dict):
                fields.update({str(k): str(v) for k, v in data.items()})
        else:
            fields.update({key: request.POST.get(key, "") for key in request.POST})
    report = messagebird_status_report(fields)
    if report is None:
        return HttpResponse("no message id", status=400, content_type="text/plain")
    return HttpResponse(sms_status_record(report), content_type="text/plain")
