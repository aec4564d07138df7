"""The customer relationship: payment plans (betalingsregelingen) with their instalments,
promises to pay (betalingstoezeggingen), disputes (geschillen), contract terms agreed up front,
credit checks, and suggested changes of terms for review.

Dunning pauses through the dunning engine's own `Hold` rows (kinds PLAN, PROMISE, DISPUTE);
the records here reference those holds. The rules live in `betaald.core.installments` and
`betaald.core.scoring`. See docs/algorithms/installments.md and docs/algorithms/scoring.md.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from betaald.invoices.fields import MoneyField


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class PlanStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class OnBreak(models.TextChoices):
    RESUME_DUNNING = "resume", _("Whole remaining amount due at once; dunning resumes")
    REVIEW = "review", _("Keep dunning paused until a credit controller decides")


class PaymentPlan(models.Model):
    """A betalingsregeling for one or more invoices of a customer.

    A request for a plan acknowledges the debt and interrupts limitation (art. 3:318 BW).
    While active, each invoice has a dunning hold of kind PLAN (in `holds`).
    """

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="payment_plans"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="payment_plans"
    )
    invoices = models.ManyToManyField("invoices.Invoice", related_name="payment_plans")
    holds = models.ManyToManyField("dunning.Hold", blank=True, related_name="payment_plans")
    principal = MoneyField(_("principal"))
    interest = MoneyField(_("interest included"), default=Decimal("0.00"))
    costs = MoneyField(_("collection costs included"), default=Decimal("0.00"))
    total = MoneyField(_("total"))
    frequency = models.CharField(
        _("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.PROPOSED
    )
    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=5)
    reminder_days_before = models.PositiveSmallIntegerField(
        _("remind days before each instalment"), default=3
    )
    on_break = models.CharField(
        _("when an instalment is missed"),
        max_length=10,
        choices=OnBreak.choices,
        default=OnBreak.RESUME_DUNNING,
    )
    proposed_on = models.DateField(_("proposed on"))
    activated_on = models.DateField(_("active from"), null=True, blank=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    missed_instalment = models.PositiveSmallIntegerField(
        _("missed instalment"), null=True, blank=True
    )
    evaluated_on = models.DateField(_("last evaluated on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gt=0), name="plan_total_positive"),
        ]
        indexes = [models.Index(fields=["organisation", "status"], name="plan_status_idx")]
        ordering = ["-proposed_on", "-id"]
        verbose_name = _("payment plan")
        verbose_name_plural = _("payment plans")

    def __str__(self) -> str:
        return _("Plan %(id)s") % {"id": self.pk}


class InstalmentStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")
    MISSED = "missed", _("Missed")


class Instalment(models.Model):
    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    amount = MoneyField(_("amount"))
    status = models.CharField(
        _("status"), max_length=10, choices=InstalmentStatus.choices, default=InstalmentStatus.OPEN
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="instalment_number_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="instalment_positive"),
        ]
        ordering = ["plan", "number"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")

    def __str__(self) -> str:
        return f"{self.number}: {self.due_on} {self.amount}"


class PromiseSource(models.TextChoices):
    CALL = "call", _("Phone call")
    EMAIL = "email", _("Email")
    OTHER = "other", _("Other")


class PromiseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class Promise(models.Model):
    """A betalingstoezegging: the customer promised to pay `amount` by `promised_on`.

    Dunning of its invoices pauses until that day (a PROMISE hold, `until` = `promised_on`) and
    resumes the day after if the promise is broken. A promise recorded as a call outcome in the
    dunning worklist becomes a Promise here (adopting its hold) in the daily evaluation.
    """

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="promises"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="promises"
    )
    invoices = models.ManyToManyField("invoices.Invoice", related_name="promises")
    holds = models.ManyToManyField("dunning.Hold", blank=True, related_name="promises")
    call_task = models.ForeignKey(
        "dunning.CallTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    amount = MoneyField(_("amount promised"))
    made_on = models.DateField(_("made on"))
    promised_on = models.DateField(_("promised date"))
    source = models.CharField(
        _("source"), max_length=10, choices=PromiseSource.choices, default=PromiseSource.CALL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PromiseStatus.choices, default=PromiseStatus.OPEN
    )
    evaluated_on = models.DateField(_("kept or broken on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="promise_positive"),
        ]
        indexes = [models.Index(fields=["organisation", "status"], name="promise_status_idx")]
        ordering = ["promised_on", "id"]
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")

    def __str__(self) -> str:
        return f"{self.amount} {self.promised_on}"


class DisputeReason(models.TextChoices):
    WRONG_AMOUNT = "wrong_amount", _("Wrong amount")
    NOT_DELIVERED = "not_delivered", _("Not delivered")
    QUALITY = "quality", _("Quality")
    WRONG_ADDRESSEE = "wrong_addressee", _("Wrong addressee")
    ALREADY_PAID = "already_paid", _("Already paid")
    OTHER = "other", _("Other")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CREDITED = "credited", _("Resolved by credit note")
    PARTIALLY_CREDITED = "partially_credited", _("Resolved by partial credit")
    REJECTED = "rejected", _("Rejected")


class Dispute(models.Model):
    """A geschil or complaint about one invoice (or one of its lines). Dunning of that invoice
    only pauses (a DISPUTE hold) until it is resolved by a credit note, a partial credit, or a
    rejection with an explanation."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="disputes"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="disputes"
    )
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="disputes"
    )
    line = models.ForeignKey(
        "invoices.InvoiceLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invoice line"),
    )
    hold = models.ForeignKey(
        "dunning.Hold", on_delete=models.SET_NULL, null=True, blank=True, related_name="disputes"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=DisputeReason.choices)
    description = models.TextField(_("what the customer says"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    opened_on = models.DateField(_("opened on"))
    resolve_by = models.DateField(_("resolve by"))
    status = models.CharField(
        _("status"), max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    resolution = models.TextField(_("decision"), blank=True)
    credit_note = models.ForeignKey(
        "invoices.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "status"], name="dispute_status_idx")]
        ordering = ["resolve_by", "id"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.invoice_id})"

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN


class InterestClause(models.TextChoices):
    STATUTORY = "statutory", _("Statutory (wettelijke (handels)rente)")
    CONTRACTUAL = "contractual", _("Contractual rate")
    NONE = "none", _("No interest agreed")


class CostsClause(models.TextChoices):
    BIK = "bik", _("BIK staffel")
    PERCENT = "percent", _("Contractual percentage")
    NONE = "none", _("No clause")


class ContractTerms(models.Model):
    """Terms agreed with the customer up front (quote/contract checklist): the payment term,
    late fee, interest and collection-cost clauses; read by dunning and the dossier through
    `betaald.plans.selectors.contract_terms_for`. Also holds the adapted terms accepted from
    the review list (early-payment discount, direct debit only)."""

    customer = models.OneToOneField(
        "debtors.Customer", on_delete=models.CASCADE, primary_key=True, related_name="terms"
    )
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    document_reference = models.CharField(_("quote or contract"), max_length=100, blank=True)
    agreed_on = models.DateField(_("agreed on"), null=True, blank=True)
    general_terms_accepted = models.BooleanField(
        _("general terms delivered and accepted"), default=False
    )
    payment_term_days = models.PositiveSmallIntegerField(
        _("payment term (days)"), null=True, blank=True
    )
    late_fee_fixed = MoneyField(_("late fee (fixed)"), null=True, blank=True)
    late_fee_percent = models.DecimalField(
        _("late fee (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    interest_clause = models.CharField(
        _("interest clause"),
        max_length=12,
        choices=InterestClause.choices,
        default=InterestClause.STATUTORY,
    )
    contractual_rate = models.DecimalField(
        _("contractual rate (% a year)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    interest_capitalises = models.BooleanField(_("interest capitalises yearly"), default=True)
    costs_clause = models.CharField(
        _("collection-cost clause"), max_length=10, choices=CostsClause.choices, default="bik"
    )
    costs_percent = models.DecimalField(
        _("collection costs (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    costs_minimum = MoneyField(_("collection costs minimum"), null=True, blank=True)
    deposit_percent = models.DecimalField(
        _("deposit (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    early_discount_percent = models.DecimalField(
        _("early-payment discount (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    early_discount_days = models.PositiveSmallIntegerField(
        _("discount if paid within (days)"), null=True, blank=True
    )
    direct_debit_only = models.BooleanField(_("direct debit only"), default=False)
    has_direct_debit_mandate = models.BooleanField(_("direct debit mandate"), default=False)
    founded_on = models.DateField(_("company founded on"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contractual_rate__isnull=True)
                | models.Q(contractual_rate__gte=0),
                name="terms_rate_not_negative",
            ),
        ]
        verbose_name = _("contract terms")
        verbose_name_plural = _("contract terms")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.document_reference}"


class CreditAssessment(models.Model):
    """One credit check before an order: the risk score, the credit-limit warning, and the
    deposit or prepayment the rules ask, with the reasons (kept as evidence)."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.CASCADE, related_name="credit_assessments"
    )
    checked_on = models.DateField(_("checked on"))
    order_amount = MoneyField(_("order amount"))
    open_amount = MoneyField(_("open amount"))
    credit_limit = MoneyField(_("credit limit"), null=True, blank=True)
    exceeds_limit = models.BooleanField(_("exceeds the credit limit"), default=False)
    points = models.SmallIntegerField(_("risk points"))
    risk_class = models.CharField(_("risk class"), max_length=10)
    grade = models.CharField(_("payment grade"), max_length=1, blank=True)
    deposit_percent = models.DecimalField(_("deposit (%)"), max_digits=7, decimal_places=4)
    deposit_amount = MoneyField(_("deposit"))
    prepayment_required = models.BooleanField(_("prepayment required"), default=False)
    deposit_invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deposit invoice"),
    )
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    problems = models.JSONField(_("problems with the customer's details"), default=list, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-checked_on", "-id"]
        verbose_name = _("credit check")
        verbose_name_plural = _("credit checks")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.checked_on} {self.risk_class}"


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    OBSOLETE = "obsolete", _("No longer applies")


class SuggestionAction(models.TextChoices):
    LONGER_TERM = "longer_term", _("Longer payment term")
    EARLY_PAYMENT_DISCOUNT = "early_payment_discount", _("Discount for early payment")
    PREPAYMENT = "prepayment", _("Require prepayment")
    DIRECT_DEBIT_ONLY = "direct_debit_only", _("Direct debit only")
    OFFER_DIRECT_DEBIT = "offer_direct_debit", _("Offer direct debit")
    LIFT_PREPAYMENT = "lift_prepayment", _("Lift the prepayment requirement")


class TermSuggestion(models.Model):
    """A change of terms a rule suggests; nothing changes until a person accepts it."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.CASCADE, related_name="term_suggestions"
    )
    rule = models.CharField(_("rule"), max_length=40)
    action = models.CharField(_("action"), max_length=30, choices=SuggestionAction.choices)
    grade = models.CharField(_("grade"), max_length=1)
    reason = models.TextField(_("reason"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=SuggestionStatus.choices,
        default=SuggestionStatus.PENDING,
    )
    suggested_on = models.DateField(_("suggested on"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("note"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "rule"],
                condition=models.Q(status="pending"),
                name="one_pending_suggestion_per_rule",
            ),
        ]
        ordering = ["-suggested_on", "-id"]
        verbose_name = _("suggested change of terms")
        verbose_name_plural = _("suggested changes of terms")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.get_action_display()}"


class RelationshipSettings(models.Model):
    """An organisation's choices for adaptive terms and deposits (docs/algorithms/scoring.md):
    which rules suggest what, and the deposit (aanbetaling) percentage per risk class, where
    100 % means prepayment (vooruitbetaling). Without a row the defaults apply."""

    organisation = models.OneToOneField(
        "organisations.Organisation",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="relationship_settings",
    )
    suggest_longer_term = models.BooleanField(_("A: suggest a longer payment term"), default=True)
    longer_term_days = models.PositiveSmallIntegerField(_("longer term (days)"), default=45)
    suggest_early_discount = models.BooleanField(
        _("A: suggest a discount for early payment"), default=True
    )
    early_discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=7, decimal_places=4, default=Decimal("2")
    )
    early_discount_days = models.PositiveSmallIntegerField(
        _("discount if paid within (days)"), default=10
    )
    suggest_prepayment = models.BooleanField(_("D/E: suggest prepayment"), default=True)
    suggest_direct_debit_only = models.BooleanField(
        _("D/E: suggest direct debit only"), default=True
    )
    suggest_offer_direct_debit = models.BooleanField(
        _("A/B and long-standing: suggest offering direct debit"), default=True
    )
    loyal_customer_days = models.PositiveSmallIntegerField(
        _("long-standing after (days)"), default=730
    )
    suggest_lift_prepayment = models.BooleanField(
        _("A/B: suggest lifting prepayment"), default=True
    )
    deposit_low = models.DecimalField(
        _("deposit for low risk (%)"), max_digits=7, decimal_places=4, default=Decimal("0")
    )
    deposit_medium = models.DecimalField(
        _("deposit for medium risk (%)"), max_digits=7, decimal_places=4, default=Decimal("0")
    )
    deposit_high = models.DecimalField(
        _("deposit for high risk (%)"), max_digits=7, decimal_places=4, default=Decimal("30")
    )
    deposit_very_high = models.DecimalField(
        _("deposit for very high risk (%)"),
        max_digits=7,
        decimal_places=4,
        default=Decimal("100"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("relationship settings")
        verbose_name_plural = _("relationship settings")

    def __str__(self) -> str:
        return str(self.organisation_id)
