"""The audit trail: one append-only `Event` per change, the evidence in a dispute or in court."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

EVENT_LABELS = {
    "organisations.organisation.created": _("Organisation created"),
    "organisations.organisation.updated": _("Organisation changed"),
    "organisations.membership.added": _("User added"),
    "debtors.customer.created": _("Customer created"),
    "debtors.customer.updated": _("Customer changed"),
    "debtors.customer.status_changed": _("Customer status changed"),
    "debtors.contact.added": _("Contact added"),
    "debtors.customer.iban_added": _("IBAN added"),
    "invoices.invoice.drafted": _("Draft invoice saved"),
    "invoices.invoice.draft_updated": _("Draft invoice changed"),
    "invoices.invoice.issued": _("Invoice issued"),
    "invoices.credit_note.issued": _("Credit note issued"),
    "invoices.invoice.credited": _("Invoice credited"),
    "payments.payment.registered": _("Payment received"),
    "payments.allocation.created": _("Payment allocated"),
    "payments.payment.reversed": _("Payment reversed"),
    "organisations.api_token.created": _("API token created"),
    "organisations.api_token.revoked": _("API token revoked"),
    "bank.account.added": _("Bank account added"),
    "bank.statement.imported": _("Bank statement imported"),
    "bank.transaction.accepted": _("Bank transaction accepted"),
    "bank.transaction.matched": _("Bank transaction matched"),
    "bank.transaction.not_ours": _("Bank transaction marked not ours"),
    "bank.transaction.returned": _("Payment returned by the bank"),
    "bank.transaction.split": _("Bank transaction split over invoices"),
    "dunning.customer.policy_set": _("Dunning policy chosen"),
    "dunning.hold.added": _("Dunning paused"),
    "dunning.hold.released": _("Dunning pause ended"),
    "dunning.policy.installed": _("Dunning policy installed"),
    "dunning.policy.saved": _("Dunning policy saved"),
    "dunning.run.requested": _("Dunning run started"),
    "dunning.step.approved": _("Dunning step approved"),
    "dunning.step.executed": _("Dunning step carried out"),
    "dunning.step.skipped": _("Dunning step skipped"),
    "dunning.task.assigned": _("Call task assigned"),
    "dunning.task.completed": _("Call task completed"),
    "letters.issue.resolved": _("Delivery problem resolved"),
    "letters.message.bounced": _("Message bounced"),
    "letters.message.cancelled": _("Message cancelled"),
    "letters.message.delivered": _("Message delivered"),
    "letters.message.failed": _("Message failed"),
    "letters.message.fallback": _("Message sent through another channel"),
    "letters.message.queued": _("Message queued"),
    "letters.message.resent": _("Message sent again"),
    "letters.message.sent": _("Message sent"),
    "letters.message.undelivered": _("Message not delivered"),
    "letters.print_batch.built": _("Print batch made"),
    "letters.template.reset": _("Template reset"),
    "letters.template.saved": _("Template saved"),
    "plans.credit.checked": _("Credit check done"),
    "plans.dispute.opened": _("Dispute opened"),
    "plans.dispute.resolved": _("Dispute resolved"),
    "plans.plan.activated": _("Payment plan started"),
    "plans.plan.broken": _("Payment plan broken"),
    "plans.plan.cancelled": _("Payment plan cancelled"),
    "plans.plan.completed": _("Payment plan completed"),
    "plans.plan.created": _("Payment plan proposed"),
    "plans.promise.cancelled": _("Promise to pay cancelled"),
    "plans.promise.created": _("Promise to pay recorded"),
    "plans.promise.kept": _("Promise to pay kept"),
    "plans.promise.broken": _("Promise to pay broken"),
    "plans.suggestion.accepted": _("Suggested terms accepted"),
    "plans.suggestion.rejected": _("Suggested terms rejected"),
    "plans.terms.saved": _("Agreed terms saved"),
}


class Event(models.Model):
    """Something that changed, who changed it and what it was before and after.

    Names follow `<app>.<entity>.<event>`, e.g. `invoices.invoice.issued`. Rows are never
    updated or deleted (the admin is read-only, `save()` refuses updates).
    """

    # No single-column indexes on organisation, customer and invoice: the composite indexes
    # below lead with them and serve every look-up; every event written would otherwise update
    # three more indexes. No database-level foreign-key constraints either (ADR 0008): Django
    # keeps the relations and their PROTECT, the database skips a key check per link per event.
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="events",
        null=True,
        db_index=False,
        db_constraint=False,
    )
    name = models.CharField(_("event"), max_length=100)
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
        db_constraint=False,
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    customer = models.ForeignKey(
        "debtors.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            models.Index(fields=["invoice", "-occurred_at"]),
            models.Index(fields=["organisation", "-occurred_at"]),
        ]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.name}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("audit events are append-only")

    @property
    def label(self) -> str:
        """What happened, in words (falls back to the event's name)."""
        return str(EVENT_LABELS.get(self.name, self.name))
