"""Forms of the plans pages: the plan calculator, promises, disputes, credit and terms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from betaald.plans.models import (
    ContractTerms,
    DisputeReason,
    Frequency,
    OnBreak,
    PromiseSource,
    RelationshipSettings,
)
from betaald.web.templatetags.betaald import euro

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InvoiceChoiceForm(forms.Form):
    """Forms that pick open invoices of one customer (the view passes them in)."""

    invoices = forms.MultipleChoiceField(
        label=_("Invoices"), widget=forms.CheckboxSelectMultiple, choices=()
    )

    def __init__(self, *args: Any, invoices: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invoice_rows = list(invoices)
        field = self.fields["invoices"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (str(i.pk), f"{i.number} · {i.due_on:%d-%m-%Y} · {euro(i.open_amount)}")
            for i in self.invoice_rows
        ]

    def chosen(self) -> list[Any]:
        ids = set(self.cleaned_data.get("invoices") or [])
        return [i for i in self.invoice_rows if str(i.pk) in ids]


class PlanForm(InvoiceChoiceForm):
    frequency = forms.ChoiceField(
        label=_("Frequency"), choices=Frequency.choices, initial=Frequency.MONTHLY
    )
    count = forms.IntegerField(label=_("Number of instalments"), required=False, min_value=1)
    amount = forms.DecimalField(
        label=_("Amount per instalment"), required=False, max_digits=14, decimal_places=2
    )
    first_on = forms.DateField(label=_("First instalment on"), widget=DATE)
    interest = forms.DecimalField(
        label=_("Interest to include"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_("As computed by the calculator (art. 6:119/6:119a BW); leave empty for none."),
    )
    costs = forms.DecimalField(
        label=_("Collection costs to include"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_("BIK per the staffel or the contract; leave empty for none."),
    )
    grace_days = forms.IntegerField(label=_("Grace days"), initial=5, min_value=0, max_value=60)
    on_break = forms.ChoiceField(
        label=_("When an instalment is missed"),
        choices=OnBreak.choices,
        initial=OnBreak.RESUME_DUNNING,
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PromiseForm(InvoiceChoiceForm):
    amount = forms.DecimalField(label=_("Amount promised"), max_digits=14, decimal_places=2)
    promised_on = forms.DateField(label=_("Promised date"), widget=DATE)
    source = forms.ChoiceField(label=_("Source"), choices=PromiseSource.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DisputeForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=DisputeReason.choices)
    line = forms.TypedChoiceField(label=_("Invoice line"), required=False, coerce=int, choices=())
    description = forms.CharField(
        label=_("What the customer says"), widget=forms.Textarea(attrs={"rows": 3})
    )
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, choices=())
    resolve_by = forms.DateField(label=_("Resolve by"), required=False, widget=DATE)

    def __init__(self, *args: Any, invoice: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line_field = self.fields["line"]
        owner_field = self.fields["owner"]
        assert isinstance(line_field, forms.ChoiceField)
        assert isinstance(owner_field, forms.ChoiceField)
        line_field.choices = [("", _("The whole invoice"))] + [
            (line.pk, line.description) for line in invoice.lines.all()
        ]
        users = get_user_model().objects.filter(memberships__organisation=organisation)
        owner_field.choices = [("", "—")] + [(user.pk, user.get_username()) for user in users]


class ResolveForm(forms.Form):
    DECISIONS = [
        ("credit", _("Credit the whole invoice")),
        ("partial", _("Credit part of it")),
        ("reject", _("Reject the dispute")),
    ]
    decision = forms.ChoiceField(label=_("Decision"), choices=DECISIONS)
    note = forms.CharField(
        label=_("Explanation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the dispute and in the audit trail."),
    )
    partial_amount = forms.DecimalField(
        label=_("Partial credit excl. VAT"), required=False, max_digits=14, decimal_places=2
    )


class CreditLimitForm(forms.Form):
    credit_limit = forms.DecimalField(
        label=_("Credit limit"), required=False, max_digits=14, decimal_places=2
    )


class CreditCheckForm(forms.Form):
    order_amount = forms.DecimalField(label=_("Order amount"), max_digits=14, decimal_places=2)


class ContractTermsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ContractTerms
        fields = [
            "document_reference",
            "agreed_on",
            "general_terms_accepted",
            "payment_term_days",
            "late_fee_fixed",
            "late_fee_percent",
            "interest_clause",
            "contractual_rate",
            "interest_capitalises",
            "costs_clause",
            "costs_percent",
            "costs_minimum",
            "deposit_percent",
            "early_discount_percent",
            "early_discount_days",
            "direct_debit_only",
            "has_direct_debit_mandate",
            "founded_on",
        ]
        widgets = {"agreed_on": DATE, "founded_on": DATE}


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False)


class RelationshipSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = RelationshipSettings
        fields = [
            "suggest_longer_term",
            "longer_term_days",
            "suggest_early_discount",
            "early_discount_percent",
            "early_discount_days",
            "suggest_prepayment",
            "suggest_direct_debit_only",
            "suggest_offer_direct_debit",
            "loyal_customer_days",
            "suggest_lift_prepayment",
            "deposit_low",
            "deposit_medium",
            "deposit_high",
            "deposit_very_high",
        ]
