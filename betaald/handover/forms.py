"""The hand-over form: which invoices, to whom, and what the party needs for an attachment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from betaald.handover.models import PartyKind
from betaald.plans.forms import InvoiceChoiceForm


class HandoverForm(InvoiceChoiceForm):
    party_kind = forms.ChoiceField(label=_("Hand over to"), choices=PartyKind.choices)
    party_name = forms.CharField(label=_("Name of the agency, bailiff or lawyer"), max_length=200)
    party_email = forms.EmailField(label=_("Their email"), required=False)
    party_reference = forms.CharField(label=_("Their file number"), max_length=60, required=False)
    justis_number = forms.CharField(
        label=_("Justis registration (Wki)"),
        max_length=30,
        required=False,
        help_text=_(
            "Required for a collection agency collecting from a consumer (Wet kwaliteit "
            "incassodienstverlening, since 1 April 2024)."
        ),
    )
    attachment_requested = forms.BooleanField(
        label=_("Ask for conservatoir beslag (prejudgment attachment)"), required=False
    )
    known_assets = forms.CharField(
        label=_("Known assets"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Real estate, stock, vehicles, receivables on third parties."),
    )
    dissipation_facts = forms.CharField(
        label=_("Facts showing a fear of dissipation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Needed to attach movables or real estate (art. 711, 725 Rv); not for bank "
            "balances (art. 718 Rv)."
        ),
    )
    note = forms.CharField(
        label=_("Note for the party"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the claims are taken back"), widget=forms.Textarea(attrs={"rows": 2})
    )
