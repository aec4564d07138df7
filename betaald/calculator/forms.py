"""Forms of the calculator page: raw text in, validated by `calculations` (one rule set)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from betaald.calculator.calculations import KINDS


class InterestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Interest"),
        choices=[
            (KINDS[0], _("Statutory (wettelijke rente, art. 6:119 BW)")),
            (KINDS[1], _("Commercial (wettelijke handelsrente, art. 6:119a BW)")),
        ],
    )
    principal = forms.CharField(label=_("Principal"), help_text=_("e.g. 1000.00"))
    first_day = forms.DateField(
        label=_("First day of interest"), widget=forms.DateInput(attrs={"type": "date"})
    )
    last_day = forms.DateField(
        label=_("Last day of interest"), widget=forms.DateInput(attrs={"type": "date"})
    )
    simple = forms.BooleanField(label=_("Simple interest (no capitalisation)"), required=False)


class CostsForm(forms.Form):
    principals = forms.CharField(
        label=_("Principals"),
        help_text=_("One amount per line; the claims demanded together (art. 6:96 lid 7 BW)."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    vat = forms.BooleanField(label=_("Add VAT (the creditor cannot deduct it)"), required=False)
