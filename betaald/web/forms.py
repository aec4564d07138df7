"""Forms of the web UI. They parse and show errors; every write goes through a service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from betaald.debtors.models import Contact, Customer
from betaald.invoices.models import VAT_RATE_CHOICES, Invoice
from betaald.organisations.models import Organisation
from betaald.payments.models import PaymentMethod

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CustomerForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Customer
        fields = [
            "kind",
            "name",
            "number",
            "kvk_number",
            "vat_number",
            "email",
            "phone",
            "language",
            "street",
            "postal_code",
            "city",
            "country",
            "postal_street",
            "postal_postal_code",
            "postal_city",
            "payment_term_days",
            "credit_limit",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].required = False
        self.fields["number"].help_text = _("Left empty, the next free number is used.")
        # Identifiers are validated and normalised by the service; accept them as typed
        # ("1234 5678", "nl 1234.56.789.b01") and let the service name what is wrong.
        for name in ("kvk_number", "vat_number"):
            model_field = self.fields[name]
            self.fields[name] = forms.CharField(
                label=model_field.label, required=False, max_length=40
            )

    def _post_clean(self) -> None:
        # The model is validated by the service after normalising identifiers.
        pass


class ContactForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Contact
        fields = ["name", "role", "email", "phone"]


class InvoiceHeaderForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    payment_term_days = forms.IntegerField(
        label=_("Payment term (days)"),
        min_value=0,
        max_value=365,
        required=False,
        help_text=_("Empty: the customer's or your default term."),
    )
    delivered_on = forms.DateField(
        label=_("Delivery/performance date"), required=False, widget=DATE_WIDGET
    )
    customer_reference = forms.CharField(label=_("Your reference"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.filter(  # type: ignore[attr-defined]
            organisation=organisation
        ).order_by("name")


class InvoiceLineForm(forms.Form):
    description = forms.CharField(label=_("Description"), required=False, max_length=500)
    quantity = forms.CharField(label=_("Quantity"), required=False, max_length=20)
    unit_price = forms.CharField(label=_("Unit price excl. VAT"), required=False, max_length=20)
    vat_rate = forms.ChoiceField(label=_("VAT"), choices=VAT_RATE_CHOICES, initial="21")

    def has_content(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return bool(data.get("description") or data.get("quantity") or data.get("unit_price"))


InvoiceLineFormSet = forms.formset_factory(InvoiceLineForm, extra=0, min_num=1, max_num=200)


class IssueForm(forms.Form):
    issued_on = forms.DateField(label=_("Invoice date"), widget=DATE_WIDGET)


class CreditForm(forms.Form):
    issued_on = forms.DateField(label=_("Credit note date"), widget=DATE_WIDGET)
    reason = forms.CharField(label=_("Reason"), max_length=300)
    amount = forms.CharField(
        label=_("Amount excl. VAT to credit"),
        required=False,
        help_text=_("Empty: credit the whole invoice."),
    )


class PaymentForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), label=_("Customer"))
    amount = forms.CharField(label=_("Amount"), max_length=20)
    received_on = forms.DateField(label=_("Received on"), widget=DATE_WIDGET)
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    designated_invoice = forms.ModelChoiceField(
        queryset=Invoice.objects.none(),
        label=_("For invoice"),
        required=False,
        help_text=_("Only if the customer said which invoice this pays (art. 6:43 BW)."),
    )
    description = forms.CharField(label=_("Description"), required=False, max_length=300)

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.filter(  # type: ignore[attr-defined]
            organisation=organisation
        ).order_by("name")
        self.fields["designated_invoice"].queryset = Invoice.objects.filter(  # type: ignore[attr-defined]
            organisation=organisation, status="issued", kind="invoice"
        ).order_by("-issued_on")


class OrganisationForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Organisation
        fields = [
            "legal_name",
            "trade_name",
            "legal_form",
            "seat",
            "kvk_number",
            "vat_number",
            "iban",
            "bic",
            "sepa_creditor_id",
            "street",
            "postal_code",
            "city",
            "country",
            "email",
            "phone",
            "website",
            "default_payment_term_days",
            "can_deduct_vat",
            "logo",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Identifiers are normalised and checked by the service (spaces, lower case allowed).
        for name in ("kvk_number", "vat_number", "iban", "bic", "sepa_creditor_id"):
            model_field = self.fields[name]
            self.fields[name] = forms.CharField(
                label=model_field.label, required=model_field.required, max_length=50
            )

    def _post_clean(self) -> None:
        pass


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What uses this token?"))
