"""Payments received and how they were allocated. Both are append-only: an invoice's open
amount is derived from its allocations, never stored as a mutable paid flag."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from betaald.invoices.fields import MoneyField


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    DIRECT_DEBIT = "direct_debit", _("Direct debit")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class Payment(models.Model):
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="payments"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="payments"
    )
    received_on = models.DateField(_("received on"), db_index=True)
    amount = MoneyField(_("amount"))
    method = models.CharField(
        _("method"),
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.BANK_TRANSFER,
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    counterparty_iban = models.CharField(_("from IBAN"), max_length=34, blank=True)
    designated_invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("designated invoice"),
        help_text=_("The invoice the customer said this payment is for (art. 6:43 lid 1 BW)."),
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0) | models.Q(reverses__isnull=False),
                name="payment_amount_positive_unless_reversal",
            )
        ]
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount}"


class Component(models.TextChoices):
    """What part of a claim an amount settles, in the order of art. 6:44 lid 1 BW."""

    COSTS = "costs", _("Costs")
    INTEREST = "interest", _("Interest")
    PRINCIPAL = "principal", _("Principal")


class Allocation(models.Model):
    """An amount of a payment (or of a credit note) applied to an invoice."""

    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT)
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="allocations"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="allocations"
    )
    credit_note = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
    )
    component = models.CharField(
        max_length=10, choices=Component.choices, default=Component.PRINCIPAL
    )
    amount = MoneyField(_("amount"))
    allocated_on = models.DateField(_("allocated on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(payment__isnull=False, credit_note__isnull=True)
                    | models.Q(payment__isnull=True, credit_note__isnull=False)
                ),
                name="allocation_from_payment_or_credit_note",
            )
        ]
        indexes = [models.Index(fields=["invoice", "component"])]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return f"{self.amount} -> {self.invoice_id} ({self.component})"
