"""Invoices and credit notes. An issued invoice never changes; a credit note corrects it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from betaald.core.invoicing import VatRate
from betaald.invoices.fields import MoneyField


class ImmutableInvoice(Exception):
    """An issued invoice was about to be changed or deleted; correct it with a credit note."""

    def __init__(self, number: str) -> None:
        super().__init__(f"invoice {number} is issued and cannot be changed or deleted")


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")


VAT_RATE_CHOICES = [
    (VatRate.STANDARD.value, _("21%")),
    (VatRate.REDUCED.value, _("9%")),
    (VatRate.ZERO.value, _("0%")),
    (VatRate.REVERSE_CHARGE.value, _("VAT reverse-charged")),
    (VatRate.EXEMPT.value, _("Exempt from VAT")),
]


class Invoice(models.Model):
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="invoices"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE
    )
    status = models.CharField(
        _("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    number = models.CharField(_("invoice number"), max_length=20, blank=True)
    series_year = models.PositiveSmallIntegerField(null=True, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    issued_on = models.DateField(_("invoice date"), null=True, blank=True)
    delivered_on = models.DateField(_("delivery/performance date"), null=True, blank=True)
    payment_term_days = models.PositiveSmallIntegerField(_("payment term (days)"), default=14)
    due_on = models.DateField(_("due date"), null=True, blank=True, db_index=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    payment_reference = models.CharField(_("payment reference"), max_length=16, blank=True)
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("credits invoice"),
    )
    customer_reference = models.CharField(_("your reference"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    total_excl_vat = MoneyField(_("total excl. VAT"), default=Decimal("0.00"))
    total_vat = MoneyField(_("VAT"), default=Decimal("0.00"))
    total = MoneyField(_("total"), default=Decimal("0.00"))
    seller = models.JSONField(_("seller as issued"), null=True, blank=True)
    buyer = models.JSONField(_("buyer as issued"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number"],
                condition=~models.Q(number=""),
                name="invoice_number_unique_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["organisation", "series_year", "sequence"],
                condition=models.Q(sequence__isnull=False),
                name="invoice_sequence_unique_per_year",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | ~models.Q(number=""),
                name="issued_invoice_has_number",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status", "due_on"]),
            models.Index(fields=["organisation", "payment_reference"]),
        ]
        ordering = ["-issued_on", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")

    def __str__(self) -> str:
        return self.number or _("draft %(id)s") % {"id": self.pk}

    def save(self, *args: Any, **kwargs: Any) -> None:
        """An issued invoice never changes: the stored row must still be a draft."""
        if self.pk is not None and self.stored_status() == InvoiceStatus.ISSUED:
            raise ImmutableInvoice(self.number)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.pk is not None and self.stored_status() == InvoiceStatus.ISSUED:
            raise ImmutableInvoice(self.number)
        return super().delete(*args, **kwargs)

    @property
    def is_issued(self) -> bool:
        return self.status == InvoiceStatus.ISSUED

    def stored_status(self) -> str | None:
        return type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = MoneyField(_("unit price excl. VAT"))
    vat_rate = models.CharField(_("VAT rate"), max_length=20, choices=VAT_RATE_CHOICES)
    amount = MoneyField(_("amount excl. VAT"), default=Decimal("0.00"))

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")

    def __str__(self) -> str:
        return self.description

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.invoice.stored_status() == InvoiceStatus.ISSUED:
            raise ImmutableInvoice(self.invoice.number)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.invoice.stored_status() == InvoiceStatus.ISSUED:
            raise ImmutableInvoice(self.invoice.number)
        return super().delete(*args, **kwargs)


class InvoiceSequence(models.Model):
    """The last number used per organisation and year; locked while a number is taken, so the
    series has no gaps and two issuers never share a number (art. 35a lid 1 b Wet OB)."""

    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="one_sequence_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"
