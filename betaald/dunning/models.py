"""The dunning engine's state: policies, the per-invoice state with its indexed
`next_action_on`, holds, executed steps (unique per invoice and step), run reports and tasks.

The rules live in `betaald.core.dunning`; this module only stores what they need and produce.
See docs/algorithms/dunning.md.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from betaald.invoices.fields import MoneyField


class DebtorKind(models.TextChoices):
    CONSUMER = "consumer", _("Consumer")
    BUSINESS = "business", _("Business")


class Anchor(models.TextChoices):
    DUE_DATE = "due_date", _("days after the due date")
    PREVIOUS_STEP = "previous_step", _("days after the previous step")


class StepKind(models.TextChoices):
    """The template of a step (the values of `letters.MessageKind`, plus a call script)."""

    PRE_DUE_REMINDER = "pre_due_reminder", _("Friendly reminder before the due date")
    REMINDER = "reminder", _("Reminder")
    SECOND_REMINDER = "second_reminder", _("Second reminder")
    DEMAND = "demand", _("Aanmaning / sommatie")
    FOURTEEN_DAY_LETTER = "final_notice_14_day", _("14-dagenbrief (art. 6:96 lid 6 BW)")
    FINAL_NOTICE = "final_notice", _("Final notice")
    HANDOVER_NOTICE = "handover_notice", _("Hand-over notice")
    CALL = "call", _("Call")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Posted letter")
    SMS = "sms", _("SMS")
    CALL = "call", _("Call task")


class FeeKind(models.TextChoices):
    NONE = "", _("No late fee")
    FIXED = "fixed", _("Fixed amount")
    PERCENT = "percent", _("Percentage of the principal")


class InterestFrom(models.TextChoices):
    NEVER = "never", _("No interest")
    DUE_DATE = "due_date", _("From the due date")
    THIS_STEP = "this_step", _("From this step")


class InterestKind(models.TextChoices):
    STATUTORY = "statutory", _("Wettelijke rente (art. 6:119 BW)")
    COMMERCIAL = "commercial", _("Wettelijke handelsrente (art. 6:119a BW)")
    CONTRACTUAL = "contractual", _("Contractual rate")


class CostsBasis(models.TextChoices):
    NONE = "none", _("No collection costs")
    BIK = "bik", _("BIK staffel")
    CONTRACT = "contract", _("Contractual percentage")


class Action(models.TextChoices):
    BLOCK_CUSTOMER = "block_customer", _("Block the customer for new work")
    PREPAYMENT_REQUIRED = "prepayment_required", _("Require prepayment")
    PROPOSE_HANDOVER = "propose_handover", _("Propose hand-over to collection")


class DunningPolicy(models.Model):
    """An organisation's ordered list of dunning steps (validated by the core when saved)."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="dunning_policies"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    debtor_kind = models.CharField(_("for"), max_length=10, choices=DebtorKind.choices)
    is_default = models.BooleanField(
        _("default for this kind of customer"),
        default=False,
    )
    minimum_amount = MoneyField(
        _("do not dun below"),
        default=Decimal("0.00"),
        help_text=_("Claims with a smaller open amount are left alone."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "code"], name="dunning_policy_code_unique"
            ),
            models.UniqueConstraint(
                fields=["organisation", "debtor_kind"],
                condition=models.Q(is_default=True),
                name="one_default_dunning_policy_per_kind",
            ),
        ]
        ordering = ["name"]
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policies")

    def __str__(self) -> str:
        return self.name


class DunningStep(models.Model):
    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    offset_days = models.SmallIntegerField(_("days"))
    anchor = models.CharField(
        _("counted from"), max_length=15, choices=Anchor.choices, default=Anchor.DUE_DATE
    )
    kind = models.CharField(_("template"), max_length=30, choices=StepKind.choices)
    channels = models.JSONField(_("channels"), default=list)
    fallback_channels = models.JSONField(_("fallback channels"), default=list, blank=True)
    late_fee_kind = models.CharField(
        _("late fee"), max_length=10, choices=FeeKind.choices, default="", blank=True
    )
    late_fee_value = models.DecimalField(
        _("late fee amount or %"), max_digits=14, decimal_places=4, null=True, blank=True
    )
    late_fee_min = MoneyField(_("late fee minimum"), default=Decimal("0.00"))
    late_fee_max = MoneyField(_("late fee maximum"), null=True, blank=True)
    interest_from = models.CharField(
        _("interest"), max_length=10, choices=InterestFrom.choices, default=InterestFrom.NEVER
    )
    interest_kind = models.CharField(
        _("interest kind"),
        max_length=12,
        choices=InterestKind.choices,
        default=InterestKind.STATUTORY,
    )
    contractual_rate = models.DecimalField(
        _("contractual rate (% a year)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    costs = models.CharField(
        _("collection costs"), max_length=10, choices=CostsBasis.choices, default=CostsBasis.NONE
    )
    contract_costs_percent = models.DecimalField(
        _("contractual costs (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    actions = models.JSONField(_("actions"), default=list, blank=True)
    needs_approval = models.BooleanField(_("waits for approval"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "code"], name="dunning_step_code_unique"),
        ]
        ordering = ["policy", "position", "id"]
        verbose_name = _("dunning step")
        verbose_name_plural = _("dunning steps")

    def __str__(self) -> str:
        return f"{self.policy}: {self.name}"


class CustomerDunning(models.Model):
    """A customer's own policy, overriding the default for its kind."""

    customer = models.OneToOneField(
        "debtors.Customer", on_delete=models.CASCADE, primary_key=True, related_name="dunning"
    )
    policy = models.ForeignKey(DunningPolicy, on_delete=models.PROTECT, related_name="customers")

    class Meta:
        verbose_name = _("customer dunning policy")
        verbose_name_plural = _("customer dunning policies")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.policy}"


class DunningState(models.Model):
    """Where one invoice stands in its policy. `next_action_on` is the day it next needs the
    engine (None: nothing until its state changes); the daily run selects on it (indexed)."""

    invoice = models.OneToOneField(
        "invoices.Invoice", on_delete=models.CASCADE, primary_key=True, related_name="dunning"
    )
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    # indexed by Meta.indexes (dunning_state_customer_idx); a second index on the column
    # would only add a write to every state update
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    policy = models.ForeignKey(
        DunningPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_on = models.DateField(_("due date"))
    open_amount = MoneyField(_("open amount"), default=Decimal("0.00"))
    level = models.PositiveSmallIntegerField(_("level"), default=0)
    last_step = models.ForeignKey(
        DunningStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_step_on = models.DateField(_("last step on"), null=True, blank=True)
    next_action_on = models.DateField(_("next action on"), null=True, blank=True)
    pause = models.CharField(_("paused because"), max_length=30, blank=True)
    fourteen_day_costs_due_from = models.DateField(
        _("costs due from (14-dagenbrief)"), null=True, blank=True
    )
    interest_from_on = models.DateField(_("interest claimed from"), null=True, blank=True)
    costs_claimed = MoneyField(_("collection costs claimed"), default=Decimal("0.00"))
    late_fee_charged = MoneyField(_("late fee charged"), default=Decimal("0.00"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_action_on", "invoice"],
                condition=models.Q(next_action_on__isnull=False),
                name="dunning_state_due_idx",
            ),
            models.Index(fields=["customer"], name="dunning_state_customer_idx"),
        ]
        verbose_name = _("dunning state")
        verbose_name_plural = _("dunning states")

    def __str__(self) -> str:
        return f"{self.invoice_id}: level {self.level}, next {self.next_action_on}"


class HoldKind(models.TextChoices):
    DISPUTE = "dispute", _("Dispute")
    PROMISE = "promise", _("Promise to pay")
    PLAN = "plan", _("Payment plan")
    MANUAL = "manual", _("Manual pause")
    INSOLVENCY = "insolvency", _("Insolvency")
    DECEASED = "deceased", _("Deceased")
    HANDOVER = "handover", _("Handed over for collection")


class Hold(models.Model):
    """A pause of dunning for one invoice, or for all of a customer's invoices (no invoice).

    `until` is the last paused day (dunning resumes the day after); empty = until released.
    """

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.CASCADE, related_name="dunning_holds"
    )
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="dunning_holds",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=HoldKind.choices)
    reason = models.TextField(_("reason"), blank=True)
    starts_on = models.DateField(_("from"))
    until = models.DateField(_("until (inclusive)"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_reason = models.TextField(_("released because"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["customer"],
                condition=models.Q(released_at__isnull=True),
                name="dunning_hold_active_idx",
            ),
        ]
        ordering = ["-starts_on", "-id"]
        verbose_name = _("hold")
        verbose_name_plural = _("holds")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_on}-{self.until or ''}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class DunningRun(models.Model):
    """The report of one daily run: counts per step and channel, totals charged, errors."""

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="dunning_runs",
    )
    run_on = models.DateField(_("run date"))
    is_dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(_("claims due"), default=0)
    processed = models.PositiveIntegerField(_("claims processed"), default=0)
    executed = models.PositiveIntegerField(_("steps carried out"), default=0)
    messages = models.PositiveIntegerField(_("messages queued"), default=0)
    counts = models.JSONField(_("per step and channel"), default=dict, blank=True)
    skipped = models.JSONField(_("skipped steps"), default=dict, blank=True)
    totals = models.JSONField(_("totals charged"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    synced_from_id = models.BigIntegerField(
        _("next run looks for new invoices from id"), null=True, blank=True
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("dunning run")
        verbose_name_plural = _("dunning runs")

    def __str__(self) -> str:
        return f"{self.run_on} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == RunStatus.DONE else 0
        return min(100, self.processed * 100 // self.total)


class ExecutionStatus(models.TextChoices):
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped (missed days)")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    REJECTED = "rejected", _("Skipped by a user")


class StepExecution(models.Model):
    """One step for one invoice, at most once: the unique (invoice, step) key makes a second
    run, a crash half way or two concurrent runs create no duplicate steps or messages."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.CASCADE, related_name="dunning_steps"
    )
    customer = models.ForeignKey("debtors.Customer", on_delete=models.CASCADE, related_name="+")
    step = models.ForeignKey(DunningStep, on_delete=models.PROTECT, related_name="executions")
    run = models.ForeignKey(
        DunningRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="executions"
    )
    status = models.CharField(_("status"), max_length=20, choices=ExecutionStatus.choices)
    executed_on = models.DateField(_("on"))
    channels = models.JSONField(_("channels"), default=list, blank=True)
    group_key = models.CharField(_("message key"), max_length=120, blank=True)
    principal = MoneyField(_("principal"), default=Decimal("0.00"))
    interest = MoneyField(_("interest"), default=Decimal("0.00"))
    costs = MoneyField(_("collection costs"), default=Decimal("0.00"))
    costs_vat = MoneyField(_("VAT on costs"), default=Decimal("0.00"))
    late_fee = MoneyField(_("late fee"), default=Decimal("0.00"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "step"], name="one_execution_per_step"),
        ]
        indexes = [
            models.Index(
                fields=["organisation", "status"],
                condition=models.Q(status="awaiting_approval"),
                name="dunning_awaiting_idx",
            ),
        ]
        ordering = ["executed_on", "id"]
        verbose_name = _("step carried out")
        verbose_name_plural = _("steps carried out")

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.step_id} {self.status}"


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    FIX = "fix", _("Fix before reminding")
    HANDOVER = "handover", _("Hand-over proposal")


class TaskOutcome(models.TextChoices):
    OPEN = "", _("Open")
    PROMISED = "promised", _("Promised to pay")
    DISPUTE = "dispute", _("Dispute")
    WRONG_CONTACT = "wrong_contact", _("Wrong contact")
    NO_ANSWER = "no_answer", _("No answer")
    PAID_ALREADY = "paid_already", _("Paid already (proof asked)")
    DONE = "done", _("Done")


class CallTask(models.Model):
    """Work for a credit controller: a call, an invoice to fix, a hand-over to decide."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.CASCADE, related_name="dunning_tasks"
    )
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.CASCADE, related_name="dunning_tasks"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TaskKind.choices)
    unique_key = models.CharField(max_length=120, unique=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_on = models.DateField(_("due on"))
    amount = MoneyField(_("amount"), default=Decimal("0.00"))
    overdue_since = models.DateField(_("overdue since"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=15, choices=TaskOutcome.choices, default="", blank=True
    )
    note = models.TextField(_("note"), blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["organisation", "due_on"],
                condition=models.Q(closed_at__isnull=True),
                name="dunning_task_open_idx",
            ),
        ]
        ordering = ["due_on", "id"]
        verbose_name = _("dunning task")
        verbose_name_plural = _("dunning tasks")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer_id} {self.due_on}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
