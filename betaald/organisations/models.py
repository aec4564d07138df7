"""The creditor (`Organisation`) and who works for it (`Membership` with a role)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    """The creditor: the business that sends invoices and collects them.

    Everything else in betaald belongs to exactly one organisation (tenancy).
    """

    legal_name = models.CharField(_("legal name"), max_length=200)
    trade_name = models.CharField(_("trade name"), max_length=200, blank=True)
    legal_form = models.CharField(
        _("legal form"), max_length=50, blank=True, help_text=_("e.g. B.V.")
    )
    seat = models.CharField(_("statutory seat"), max_length=100, blank=True)
    kvk_number = models.CharField(_("KvK number"), max_length=8)
    vat_number = models.CharField(_("VAT number (BTW-id)"), max_length=14)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    sepa_creditor_id = models.CharField(_("SEPA creditor id"), max_length=35, blank=True)
    street = models.CharField(_("street and number"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="NL")
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    default_payment_term_days = models.PositiveSmallIntegerField(
        _("default payment term (days)"), default=14
    )
    can_deduct_vat = models.BooleanField(
        _("can deduct VAT"),
        default=True,
        help_text=_("If not, VAT is charged on collection costs (Besluit BIK art. 2 lid 3)."),
    )
    logo = models.FileField(_("logo"), upload_to="logos/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["legal_name"]

    def __str__(self) -> str:
        return self.trade_name or self.legal_name

    @property
    def display_name(self) -> str:
        return self.trade_name or self.legal_name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    CREDIT_CONTROLLER = "credit_controller", _("Credit controller")
    ACCOUNTANT = "accountant", _("Accountant (read-only)")


class Membership(models.Model):
    """A user works for an organisation with a role."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="one_membership_per_user")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in (Role.OWNER, Role.CREDIT_CONTROLLER)


class LoginFailure(models.Model):
    """A failed login, kept to rate-limit guessing (per username and per address)."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, db_index=True)
    failed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} {self.address} {self.failed_at}"


class ApiToken(models.Model):
    """A bearer token for the REST API, acting as one membership (user + organisation + role).

    Only the SHA-256 of the token is stored; the token itself is shown once, when created.
    """

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(models.Model):
    """The response to an API POST that moves money or sends letters, kept per Idempotency-Key
    so that a retried request returns the same response instead of doing the work twice."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return self.key
