"""The outbox: one `Message` row per letter, email or SMS, sent at most once (unique key).

A message stores its frozen context (amounts as strings, dates ISO), so that what was sent can
be rendered again byte for byte and proven later: the PDF is stored with its SHA-256, an email
with its Message-ID and the SMTP server's answer. See docs/algorithms/letters.md.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    PRE_DUE_REMINDER = "pre_due_reminder", _("Friendly reminder before the due date")
    REMINDER = "reminder", _("Reminder")
    SECOND_REMINDER = "second_reminder", _("Second reminder")
    DEMAND = "demand", _("Aanmaning / sommatie")
    FINAL_NOTICE_14_DAY = "final_notice_14_day", _("14-dagenbrief (art. 6:96 lid 6 BW)")
    FINAL_NOTICE = "final_notice", _("Final notice")
    PLAN_CONFIRMATION = "plan_confirmation", _("Payment plan confirmation")
    PLAN_INSTALMENT_REMINDER = "plan_instalment_reminder", _("Plan instalment reminder")
    PROMISE_CONFIRMATION = "promise_confirmation", _("Promise to pay confirmation")
    HANDOVER_NOTICE = "handover_notice", _("Hand-over notice")
    DISPUTE_DECISION = "dispute_decision", _("Decision on a dispute")
    SEPA_PRE_NOTIFICATION = "sepa_pre_notification", _("SEPA direct debit pre-notification")
    MANDATE_STOPPED = "mandate_stopped", _("Direct debit stopped")
    LIMITATION_NOTICE = "limitation_notice", _("Reservation of rights (stuiting, art. 3:317 BW)")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Posted letter")
    SMS = "sms", _("SMS")


class MessageLanguage(models.TextChoices):
    DUTCH = "nl", _("Dutch")
    ENGLISH = "en", _("English")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RENDERING = "rendering", _("Rendering and sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


def message_pdf_path(instance: Message, filename: str) -> str:
    return f"letters/{instance.organisation_id}/{filename}"


class Message(models.Model):
    """An outgoing message and the evidence of its delivery."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="messages"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="messages"
    )
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="main_messages",
        verbose_name=_("main invoice"),
    )
    invoices = models.ManyToManyField(
        "invoices.Invoice", blank=True, related_name="messages", verbose_name=_("invoices")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=MessageKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(
        _("language"), max_length=2, choices=MessageLanguage.choices, default="nl"
    )
    recipient = models.JSONField(_("recipient"), default=dict, blank=True)
    context = models.JSONField(_("frozen context"), default=dict, blank=True)
    unique_key = models.CharField(_("unique key"), max_length=200, unique=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=MessageStatus.choices,
        default=MessageStatus.QUEUED,
        db_index=True,
    )
    fallback_channels = models.JSONField(_("fallback channels"), default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(_("claimed by a worker at"), null=True, blank=True)
    handed_over_at = models.DateTimeField(
        _("handed to the transport at"),
        null=True,
        blank=True,
        help_text=_("Set just before the SMTP server, SMS provider or print queue gets it."),
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    posted_on = models.DateField(_("posted on"), null=True, blank=True)
    pdf = models.FileField(_("PDF"), upload_to=message_pdf_path, blank=True, max_length=255)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    message_id = models.CharField(_("email Message-ID"), max_length=255, blank=True)
    smtp_response = models.TextField(_("SMTP response"), blank=True)
    provider_id = models.CharField(_("provider id"), max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "status", "-created_at"]),
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["channel", "status", "posted_on"]),
        ]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.get_channel_display()} #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in (
            MessageStatus.SENT,
            MessageStatus.DELIVERED,
            MessageStatus.FAILED,
            MessageStatus.CANCELLED,
        )


class MessageTemplate(models.Model):
    """An organisation's own text for one kind of message in one language.

    `subject` and `body` are Django templates restricted to the placeholders documented in
    `betaald.letters.rendering.PLACEHOLDERS`; both are validated when saved.
    """

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="message_templates"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=MessageKind.choices)
    language = models.CharField(_("language"), max_length=2, choices=MessageLanguage.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    sms_text = models.CharField(_("SMS text"), max_length=480, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "language"], name="one_template_per_kind_language"
            )
        ]
        ordering = ["kind", "language"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language})"


class SendIssueKind(models.TextChoices):
    NO_ADDRESS = "no_address", _("No reachable address")
    RENDER_FAILED = "render_failed", _("Template did not render")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed on every channel")
    OUTCOME_UNKNOWN = "outcome_unknown", _("Worker stopped while sending: check before resending")


class SendIssue(models.Model):
    """A task for a person: a message that could not be delivered and needs a human."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="send_issues"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.CASCADE, related_name="send_issues"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="issues")
    kind = models.CharField(_("kind"), max_length=20, choices=SendIssueKind.choices)
    description = models.TextField(_("description"))
    is_resolved = models.BooleanField(_("resolved"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("sending issue")
        verbose_name_plural = _("sending issues")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.customer_id}"
