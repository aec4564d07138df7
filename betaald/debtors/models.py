"""The debtors: customers of an organisation, their contacts and the IBANs they pay from."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from betaald.invoices.fields import MoneyField


class CustomerKind(models.TextChoices):
    """Consumer or business: this decides which law applies (art. 6:96, 6:119 vs 6:119a BW)."""

    CONSUMER = "consumer", _("Consumer")
    BUSINESS = "business", _("Business")


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    BLOCKED = "blocked", _("Blocked for new work")
    PREPAYMENT = "prepayment", _("Prepayment required")


class Language(models.TextChoices):
    DUTCH = "nl", _("Dutch")
    ENGLISH = "en", _("English")


class Customer(models.Model):
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="customers"
    )
    number = models.CharField(_("customer number"), max_length=20)
    kind = models.CharField(_("kind"), max_length=10, choices=CustomerKind.choices)
    name = models.CharField(_("name"), max_length=200)
    kvk_number = models.CharField(_("KvK number"), max_length=8, blank=True)
    vat_number = models.CharField(_("VAT number (BTW-id)"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.DUTCH
    )
    street = models.CharField(_("street and number"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="NL")
    postal_street = models.CharField(_("postal address: street"), max_length=200, blank=True)
    postal_postal_code = models.CharField(
        _("postal address: postal code"), max_length=20, blank=True
    )
    postal_city = models.CharField(_("postal address: city"), max_length=100, blank=True)
    payment_term_days = models.PositiveSmallIntegerField(
        _("payment term override (days)"), null=True, blank=True
    )
    credit_limit = MoneyField(_("credit limit"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number"], name="customer_number_unique_per_organisation"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "name"])]
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"

    @property
    def is_business(self) -> bool:
        return self.kind == CustomerKind.BUSINESS

    @property
    def address_lines(self) -> list[str]:
        """The address letters are sent to: the postal address if given, else the billing one."""
        if self.postal_street:
            lines = [self.postal_street, f"{self.postal_postal_code}  {self.postal_city}"]
        else:
            lines = [self.street, f"{self.postal_code}  {self.city}"]
        if self.country and self.country != "NL":
            lines.append(self.country)
        return lines


class ContactRole(models.TextChoices):
    ACCOUNTS_PAYABLE = "accounts_payable", _("Accounts payable")
    ORDERER = "orderer", _("Person who ordered")
    MANAGEMENT = "management", _("Management")
    OTHER = "other", _("Other")


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        ordering = ["role", "name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class CustomerIban(models.Model):
    """An IBAN the customer was seen paying from, or gave us (used by payment matching)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ibans")
    iban = models.CharField(_("IBAN"), max_length=34, db_index=True)
    source = models.CharField(_("source"), max_length=20, default="manual")
    first_seen_on = models.DateField(_("first seen on"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "iban"], name="customer_iban_unique")
        ]
        verbose_name = _("IBAN")
        verbose_name_plural = _("IBANs")

    def __str__(self) -> str:
        return self.iban
