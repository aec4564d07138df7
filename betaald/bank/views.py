"""Bank pages: accounts and cash position, statement upload, the review queue.

Every query is scoped to `request.organisation`; every write needs a role that can write.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from betaald.bank.explain import attach_review_rows
from betaald.bank.models import (
    BankTransaction,
    CsvMapping,
    DirectDebitBatch,
    Mandate,
    MandateScheme,
    MandateStatus,
    Statement,
    TransactionStatus,
)
from betaald.bank.selectors import accounts_with_position, matching_rate, received_per_day
from betaald.bank.services import (
    AccountNotOwned,
    DuplicateFile,
    ReviewError,
    bank_account_add,
    review_rematch,
    statement_file_import,
    transaction_accept,
    transaction_not_ours,
    transaction_split,
    transactions_match,
)
from betaald.bank.statements import (
    CsvMapping as ParsedCsvMapping,
)
from betaald.bank.statements import (
    StatementFileError,
    file_warnings,
    parse_file,
    summarise,
)
from betaald.core.errors import DomainError
from betaald.i18n import error_text
from betaald.organisations.models import Organisation
from betaald.web.access import organisation_of, writer_required

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Statement file (camt.053, MT940 or CSV)"))
    csv_mapping = forms.ModelChoiceField(
        queryset=CsvMapping.objects.none(),
        required=False,
        label=_("CSV column mapping"),
    )
    dry_run = forms.BooleanField(required=False, label=_("Check only, save nothing"))

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["csv_mapping"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = CsvMapping.objects.filter(organisation=organisation)


class AccountForm(forms.Form):
    iban = forms.CharField(label=_("IBAN or account number"), max_length=34)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)


def index(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    statements = (
        Statement.objects.filter(organisation=organisation)
        .select_related("account")
        .annotate(lines=Count("transactions"))[:20]
    )
    return render(
        request,
        "bank/index.html",
        {
            "accounts": accounts_with_position(organisation),
            "statements": statements,
            "rate": matching_rate(organisation),
            "received": received_per_day(organisation),
            "form": UploadForm(organisation=organisation),
            "account_form": AccountForm(),
            "review_count": BankTransaction.objects.filter(
                organisation=organisation, status=TransactionStatus.REVIEW
            ).count(),
        },
    )


@require_POST
@writer_required
def account_add(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    form = AccountForm(request.POST)
    if form.is_valid():
        try:
            bank_account_add(
                organisation=organisation,
                iban=form.cleaned_data["iban"],
                name=form.cleaned_data["name"],
                actor=request.user,
            )
        except (DomainError, ValidationError) as error:
            messages.error(request, _said(error))
        else:
            messages.success(request, _("Bank account added."))
    return redirect("bank:index")


@require_POST
@writer_required
def upload(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    form = UploadForm(request.POST, request.FILES, organisation=organisation)
    if not form.is_valid():
        messages.error(request, _("Choose a statement file."))
        return redirect("bank:index")
    uploaded = form.cleaned_data["file"]
    if uploaded.size > MAX_UPLOAD_BYTES:
        messages.error(request, _("The file is larger than 20 MB."))
        return redirect("bank:index")
    data = uploaded.read()
    saved = form.cleaned_data.get("csv_mapping")
    mapping = ParsedCsvMapping.from_dict(saved.mapping) if saved is not None else None
    context: dict[str, Any] = {"filename": uploaded.name, "dry_run": form.cleaned_data["dry_run"]}
    try:
        parsed = parse_file(data, filename=uploaded.name, csv_mapping=mapping)
    except StatementFileError as error:
        context["error"] = f"{uploaded.name}: {error}"
        return render(request, "bank/import_result.html", context, status=422)
    warnings = file_warnings(parsed)
    context.update(summary=summarise(parsed), warnings=warnings)
    if context["dry_run"]:
        return render(request, "bank/import_result.html", context)
    try:
        result = statement_file_import(
            organisation=organisation,
            parsed=parsed,
            data=data,
            filename=uploaded.name,
            warnings=warnings,
            actor=request.user,
        )
    except AccountNotOwned as error:
        context["error"] = error_text(error)
        context["account_form"] = AccountForm()
        return render(request, "bank/import_result.html", context, status=422)
    except DuplicateFile as error:
        context["error"] = f"{uploaded.name}: {error_text(error)}"
        return render(request, "bank/import_result.html", context, status=409)
    context["result"] = result
    context["sha256"] = hashlib.sha256(data).hexdigest()
    if result.transaction_ids:
        outcome = transactions_match(
            organisation=organisation, transaction_ids=result.transaction_ids, actor=request.user
        )
        context["matching"] = [
            (TransactionStatus(key).label if key in TransactionStatus.values else key, n)
            for key, n in outcome.items()
        ]
    return render(request, "bank/import_result.html", context)


def review(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    queue = BankTransaction.objects.filter(
        organisation=organisation,
        status__in=[TransactionStatus.REVIEW, TransactionStatus.RETURN_REVIEW],
    ).order_by("booking_date", "pk")
    query = request.GET.get("q", "").strip()
    if query:
        queue = queue.filter(
            Q(counterparty_name__icontains=query)
            | Q(remittance__icontains=query)
            | Q(counterparty_iban__icontains=query.replace(" ", ""))
        )
    page = Paginator(queue, 25).get_page(request.GET.get("page"))
    attach_review_rows(page.object_list)
    return render(request, "bank/review.html", {"page": page, "query": query})


@require_POST
@writer_required
def review_match_again(request: HttpRequest) -> HttpResponse:
    outcome = review_rematch(organisation=organisation_of(request), actor=request.user)
    booked = outcome.get("matched", 0)
    messages.success(request, _("Matched again: %(n)s booked.") % {"n": booked})
    return redirect("bank:review")


def _transaction(request: HttpRequest, pk: int) -> BankTransaction:
    return get_object_or_404(BankTransaction, pk=pk, organisation=organisation_of(request))


@require_POST
@writer_required
def review_accept(request: HttpRequest, pk: int, candidate: int) -> HttpResponse:
    tx = _transaction(request, pk)
    try:
        transaction_accept(
            organisation=tx.organisation,
            transaction_id=tx.pk,
            candidate_index=candidate,
            actor=request.user,
        )
    except (DomainError, ValidationError) as error:
        messages.error(request, _said(error))
    else:
        messages.success(request, _("Payment booked."))
    return redirect("bank:review")


@require_POST
@writer_required
def review_not_ours(request: HttpRequest, pk: int) -> HttpResponse:
    tx = _transaction(request, pk)
    try:
        transaction_not_ours(organisation=tx.organisation, transaction_id=tx.pk, actor=request.user)
    except ReviewError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Marked as not ours."))
    return redirect("bank:review")


def review_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Split a transaction over invoices of one customer: one amount field per open invoice."""
    from betaald.debtors.models import Customer
    from betaald.invoices.selectors import invoices_open

    tx = _transaction(request, pk)
    organisation = tx.organisation
    customer_ids = [c["customer_id"] for c in tx.candidates]
    customer_id = request.GET.get("customer") or request.POST.get("customer")
    customers = Customer.objects.filter(organisation=organisation)
    customer = None
    if customer_id:
        customer = get_object_or_404(customers, pk=customer_id)
    elif customer_ids:
        customer = customers.filter(pk=customer_ids[0]).first()
    invoices = list(invoices_open(organisation).filter(customer=customer)) if customer else []
    if request.method == "POST":
        membership = getattr(request, "membership", None)
        if membership is None or not membership.can_write:
            raise PermissionDenied(_("Your role may only read."))
        parts = []
        try:
            for invoice in invoices:
                raw = request.POST.get(f"amount_{invoice.pk}", "").strip().replace(",", ".")
                if raw:
                    parts.append((invoice.pk, Decimal(raw)))
        except InvalidOperation:
            messages.error(request, _("Amounts must be numbers like 12.50."))
        else:
            try:
                assert customer is not None
                transaction_split(
                    organisation=organisation,
                    transaction_id=tx.pk,
                    customer_id=customer.pk,
                    parts=parts,
                    actor=request.user,
                )
            except (DomainError, ValidationError, AssertionError) as error:
                messages.error(request, _said(error) or _("Choose a customer."))
            else:
                messages.success(request, _("Payment split over the invoices."))
                return redirect("bank:review")
    return render(
        request,
        "bank/split.html",
        {
            "tx": tx,
            "customer": customer,
            "customers": customers.filter(pk__in=customer_ids) if customer_ids else [],
            "invoices": invoices,
        },
    )


def _iban_field(form: forms.Form, value: str) -> str:
    """Check an IBAN as the mandate services do, so a bad one is named on its own field."""
    from betaald.bank.sepa import mandate_iban

    try:
        return mandate_iban(value)
    except DomainError as error:
        raise ValidationError(error_text(error)) from None


def _refused(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the field it names, else above the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error_text(error))


def _said(error: BaseException) -> str:
    """A refusal as one line in the reader's language (a domain error with its field)."""
    if isinstance(error, DomainError):
        text = error_text(error)
        return f"{error.field}: {text}" if error.field else text
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


class MandateForm(forms.Form):
    customer: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,
        label=_("Customer"),
    )
    reference = forms.CharField(label=_("Mandate reference"), max_length=35)
    signed_on = forms.DateField(
        label=_("Date of signature"), widget=forms.DateInput(attrs={"type": "date"})
    )
    iban = forms.CharField(label=_("IBAN"), max_length=42)
    bic = forms.CharField(label=_("BIC"), max_length=11, required=False)
    scheme = forms.ChoiceField(label=_("Scheme"), choices=MandateScheme.choices)
    pre_notification_days = forms.IntegerField(
        label=_("Pre-notification (days before collection)"),
        min_value=1,
        max_value=60,
        initial=14,
        required=False,
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        from betaald.debtors.models import Customer

        super().__init__(*args, **kwargs)
        field = self.fields["customer"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Customer.objects.filter(organisation=organisation)

    def clean_iban(self) -> str:
        return _iban_field(self, self.cleaned_data["iban"])

    def clean_pre_notification_days(self) -> int:
        return self.cleaned_data.get("pre_notification_days") or 14


class AmendForm(forms.Form):
    """A signed mandate changes: the debtor's new account, or our new reference for it."""

    mandate: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, label=_("Mandate"))
    iban = forms.CharField(label=_("New IBAN"), max_length=42, required=False)
    bic = forms.CharField(label=_("New BIC"), max_length=11, required=False)
    new_reference = forms.CharField(label=_("New mandate reference"), max_length=35, required=False)

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["mandate"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Mandate.objects.filter(
            organisation=organisation, status=MandateStatus.ACTIVE
        )

    def clean_iban(self) -> str:
        value = self.cleaned_data["iban"]
        return _iban_field(self, value) if value.strip() else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("iban") or data.get("new_reference") or data.get("bic")):
            raise ValidationError(_("Give the new IBAN, BIC or mandate reference."))
        return data


class CollectionForm(forms.Form):
    collection_on = forms.DateField(
        label=_("Collection date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    scheme = forms.ChoiceField(label=_("Scheme"), choices=MandateScheme.choices)
    version = forms.ChoiceField(
        label=_("Format"), choices=[(v, v) for v in ("pain.008.001.02", "pain.008.001.08")]
    )


def mandates(request: HttpRequest) -> HttpResponse:
    from django.utils import timezone

    from betaald.bank.sepa import direct_debit_create, mandate_amend, mandate_create

    organisation = organisation_of(request)
    mandate_form = MandateForm(organisation=organisation)
    amend_form = AmendForm(organisation=organisation)
    collection_form = CollectionForm()
    if request.method == "POST":
        membership = getattr(request, "membership", None)
        if membership is None or not membership.can_write:
            raise PermissionDenied(_("Your role may only read."))
        action = request.POST.get("action", "")
        if action == "add" or (not action and "reference" in request.POST):
            mandate_form = MandateForm(request.POST, organisation=organisation)
            if mandate_form.is_valid():
                data = mandate_form.cleaned_data
                try:
                    mandate_create(organisation=organisation, actor=request.user, **data)
                except DomainError as error:
                    _refused(mandate_form, error)
                else:
                    messages.success(request, _("Mandate added."))
                    return redirect("bank:mandates")
        elif action == "amend":
            amend_form = AmendForm(request.POST, organisation=organisation)
            if amend_form.is_valid():
                data = amend_form.cleaned_data
                try:
                    mandate_amend(
                        mandate=data["mandate"],
                        iban=data["iban"] or None,
                        bic=data["bic"] or None,
                        reference=data["new_reference"] or None,
                        actor=request.user,
                    )
                except DomainError as error:
                    _refused(amend_form, error)
                else:
                    messages.success(
                        request, _("Mandate amended; the next collection reports the change.")
                    )
                    return redirect("bank:mandates")
        else:
            collection_form = CollectionForm(request.POST)
            if collection_form.is_valid():
                data = collection_form.cleaned_data
                try:
                    batch = direct_debit_create(
                        organisation=organisation,
                        today=timezone.localdate(),
                        actor=request.user,
                        **data,
                    )
                except DomainError as error:
                    _refused(collection_form, error)
                else:
                    response = HttpResponse(batch.xml, content_type="application/xml")
                    name = f"{batch.version}-{batch.collection_on}.xml"
                    response["Content-Disposition"] = f'attachment; filename="{name}"'
                    return response
    return render(
        request,
        "bank/mandates.html",
        {
            "mandates": Mandate.objects.filter(organisation=organisation).select_related(
                "customer"
            ),
            "batches": DirectDebitBatch.objects.filter(organisation=organisation)[:10],
            "mandate_form": mandate_form,
            "amend_form": amend_form,
            "collection_form": collection_form,
        },
    )


def direct_debit_file(request: HttpRequest, pk: int) -> HttpResponse:
    """Download a generated pain.008 file again (as it was made: the stored XML)."""
    batch = get_object_or_404(DirectDebitBatch, pk=pk, organisation=organisation_of(request))
    response = HttpResponse(batch.xml, content_type="application/xml")
    name = f"{batch.version}-{batch.collection_on}-{batch.pk}.xml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
