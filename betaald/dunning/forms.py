"""Forms of the dunning pages: a policy with its steps, holds, approvals, task outcomes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from betaald.dunning.models import (
    Action,
    Anchor,
    Channel,
    CostsBasis,
    DebtorKind,
    DunningPolicy,
    FeeKind,
    HoldKind,
    InterestFrom,
    InterestKind,
    StepKind,
    TaskOutcome,
)


class PolicyForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DunningPolicy
        fields = ["name", "code", "debtor_kind", "is_default", "minimum_amount"]


class StepForm(forms.Form):
    step_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=100)
    offset_days = forms.IntegerField(label=_("Days"), min_value=-365, max_value=3650)
    anchor = forms.ChoiceField(label=_("Counted from"), choices=Anchor.choices)
    kind = forms.ChoiceField(label=_("Template"), choices=StepKind.choices)
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    fallback_channels = forms.MultipleChoiceField(
        label=_("Fallback"),
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    late_fee_kind = forms.ChoiceField(label=_("Late fee"), choices=FeeKind.choices, required=False)
    late_fee_value = forms.DecimalField(
        label=_("Fee amount or %"), max_digits=14, decimal_places=4, required=False
    )
    late_fee_min = forms.DecimalField(
        label=_("Fee minimum"), max_digits=14, decimal_places=2, required=False
    )
    late_fee_max = forms.DecimalField(
        label=_("Fee maximum"), max_digits=14, decimal_places=2, required=False
    )
    interest_from = forms.ChoiceField(label=_("Interest"), choices=InterestFrom.choices)
    interest_kind = forms.ChoiceField(label=_("Interest kind"), choices=InterestKind.choices)
    contractual_rate = forms.DecimalField(
        label=_("Contractual rate (% a year)"), max_digits=7, decimal_places=4, required=False
    )
    costs = forms.ChoiceField(label=_("Collection costs"), choices=CostsBasis.choices)
    contract_costs_percent = forms.DecimalField(
        label=_("Contractual costs (%)"), max_digits=7, decimal_places=4, required=False
    )
    actions = forms.MultipleChoiceField(
        label=_("Also"), choices=Action.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    needs_approval = forms.BooleanField(label=_("Waits for approval"), required=False)

    def step_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("step_id", None)
        data.pop("DELETE", None)
        data["late_fee_min"] = data.get("late_fee_min") or 0
        data["late_fee_kind"] = data.get("late_fee_kind") or ""
        return data


StepFormSet = formset_factory(StepForm, extra=1, can_delete=True)


class HoldForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=HoldKind.choices)
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label=_("Until (inclusive)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea)
    whole_customer = forms.BooleanField(label=_("All invoices of this customer"), required=False)


class ApprovalForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("skip", _("Skip"))])
    reason = forms.CharField(label=_("Reason (when skipping)"), required=False)


class TaskOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[c for c in TaskOutcome.choices if c[0]]
    )
    promised_on = forms.DateField(
        label=_("Promised date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea)
    contact_email = forms.EmailField(label=_("New contact email"), required=False)
    contact_phone = forms.CharField(label=_("New contact phone"), required=False)


class SimulateForm(forms.Form):
    policy = forms.ModelChoiceField(label=_("Policy"), queryset=DunningPolicy.objects.none())

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["policy"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = DunningPolicy.objects.filter(organisation=organisation)


class CustomerPolicyForm(forms.Form):
    policy = forms.ModelChoiceField(
        label=_("Policy"),
        queryset=DunningPolicy.objects.none(),
        required=False,
        empty_label=_("Default for this kind of customer"),
    )

    def __init__(self, *args: Any, organisation: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["policy"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = DunningPolicy.objects.filter(organisation=organisation)


__all__ = ["DebtorKind", "StepFormSet"]
