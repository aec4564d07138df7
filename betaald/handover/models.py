"""The hand-over of unpaid claims to a collection agency (incassobureau), a bailiff
(gerechtsdeurwaarder) or a lawyer (advocaat), with the dossier they need to collect, to summon
and, where the creditor asks for it, to petition for conservatoir beslag (prejudgment
attachment, art. 700 ff. Rv).

A hand-over freezes what each claim amounted to on the day it was handed over (append-only:
it is withdrawn, never edited or deleted), pauses dunning of those invoices through the dunning
engine's own `Hold` (kind HANDOVER) and tells the debtor who will contact them. See
docs/algorithms/handover.md.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from betaald.invoices.fields import MoneyField


class PartyKind(models.TextChoices):
    AGENCY = "agency", _("Collection agency (incassobureau)")
    BAILIFF = "bailiff", _("Bailiff (gerechtsdeurwaarder)")
    LAWYER = "lawyer", _("Lawyer (advocaat)")


class HandoverStatus(models.TextChoices):
    ACTIVE = "active", _("Handed over")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Handover(models.Model):
    """One hand-over of one customer's claims to one party."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="handovers"
    )
    party_kind = models.CharField(_("handed over to"), max_length=10, choices=PartyKind.choices)
    party_name = models.CharField(_("name of the agency, bailiff or lawyer"), max_length=200)
    party_email = models.EmailField(_("their email"), blank=True)
    party_reference = models.CharField(_("their file number"), max_length=60, blank=True)
    justis_number = models.CharField(
        _("Justis registration (Wki)"),
        max_length=30,
        blank=True,
        help_text=_(
            "Required for a collection agency collecting from a consumer since 1 April 2024 "
            "(Wet kwaliteit incassodienstverlening); bailiffs and lawyers are exempt."
        ),
    )
    handed_over_on = models.DateField(_("handed over on"))
    status = models.CharField(
        _("status"), max_length=10, choices=HandoverStatus.choices, default=HandoverStatus.ACTIVE
    )
    attachment_requested = models.BooleanField(
        _("ask for conservatoir beslag"),
        default=False,
        help_text=_("Prejudgment attachment, petitioned by a lawyer (art. 700 Rv)."),
    )
    known_assets = models.TextField(
        _("known assets"),
        blank=True,
        help_text=_("Real estate, stock, vehicles, receivables on third parties."),
    )
    dissipation_facts = models.TextField(
        _("facts showing a fear of dissipation"),
        blank=True,
        help_text=_(
            "Needed to attach movables or real estate (art. 711, 725 Rv); not for bank "
            "balances or receivables (derdenbeslag, art. 718 Rv)."
        ),
    )
    note = models.TextField(_("note for the party"), blank=True)
    # Frozen totals on the hand-over day (the claims hold the detail).
    principal = MoneyField(_("principal"))
    interest = MoneyField(_("interest"))
    costs = MoneyField(_("collection costs incl. VAT"))
    total = MoneyField(_("total"))
    amount_to_secure = MoneyField(_("amount to secure"))
    interest_kind = models.CharField(_("interest claimed"), max_length=20, blank=True)
    rate_percent = models.DecimalField(
        _("yearly interest rate it goes on bearing"), max_digits=7, decimal_places=4
    )
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_reason = models.TextField(_("withdrawn because"), blank=True)

    class Meta:
        ordering = ["-handed_over_on", "-id"]
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")

    def __str__(self) -> str:
        return f"{self.customer} → {self.party_name} ({self.handed_over_on})"


class HandoverClaim(models.Model):
    """One invoice of a hand-over, with what it amounted to on the hand-over day."""

    handover = models.ForeignKey(Handover, on_delete=models.PROTECT, related_name="claims")
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="handover_claims"
    )
    principal = MoneyField(_("principal"))
    interest = MoneyField(_("interest"))
    interest_from = models.DateField(_("interest from"), null=True, blank=True)
    costs = MoneyField(_("collection costs incl. VAT"))
    hold = models.ForeignKey(
        "dunning.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # An invoice is in at most one active hand-over (withdrawing clears the flag).
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=models.Q(is_active=True),
                name="handover_claim_one_active_per_invoice",
            ),
            models.UniqueConstraint(
                fields=["handover", "invoice"], name="handover_claim_unique_per_handover"
            ),
        ]
        ordering = ["id"]
        verbose_name = _("handed-over claim")
        verbose_name_plural = _("handed-over claims")

    def __str__(self) -> str:
        return str(self.invoice)

    @property
    def total(self) -> Decimal:
        total: Decimal = self.principal + self.interest + self.costs
        return total
