"""Money in: the organisation's bank accounts, imported statements and their transactions.

A statement is imported whole or not at all. Transactions are keyed per account by the bank's
reference and their index inside the entry, else by a content hash (with an occurrence number,
so that five identical payments on one day stay five), which makes re-importing a file or an
overlapping statement a no-op.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from betaald.invoices.fields import MoneyField


class BankAccount(models.Model):
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="bank_accounts"
    )
    iban = models.CharField(
        _("IBAN or account number"),
        max_length=34,
        help_text=_("As the bank writes it on statements, without spaces."),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "iban"], name="bank_account_unique_per_organisation"
            )
        ]
        ordering = ["iban"]
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")

    def __str__(self) -> str:
        return f"{self.name} ({self.iban})" if self.name else self.iban


class CsvMapping(models.Model):
    """A saved CSV column mapping (see `betaald.bank.statements.csv_format.CsvMapping`)."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="csv_mappings"
    )
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(_("mapping"), default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="csv_mapping_name_unique_per_organisation"
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Statement(models.Model):
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="bank_statements"
    )
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    identifier = models.CharField(_("statement id"), max_length=100, blank=True)
    format = models.CharField(_("format"), max_length=20)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    statement_key = models.CharField(max_length=64)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    opening_balance = MoneyField(_("opening balance"), null=True, blank=True)
    opening_on = models.DateField(_("opening date"), null=True, blank=True)
    closing_balance = MoneyField(_("closing balance"), null=True, blank=True)
    closing_on = models.DateField(_("closing date"), null=True, blank=True, db_index=True)
    is_balanced = models.BooleanField(_("balances add up"), default=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "statement_key"], name="bank_statement_unique_per_account"
            )
        ]
        ordering = ["-closing_on", "-id"]
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")

    def __str__(self) -> str:
        return f"{self.account.iban} {self.identifier or self.closing_on}"


class TransactionStatus(models.TextChoices):
    UNMATCHED = "unmatched", _("Not yet matched")
    MATCHED = "matched", _("Booked automatically")
    ACCEPTED = "accepted", _("Booked after review")
    REVIEW = "review", _("Needs review")
    NOT_OURS = "not_ours", _("Not ours")
    OUTGOING = "outgoing", _("Outgoing (not matched)")
    FOREIGN_CURRENCY = "foreign_currency", _("Other currency (never matched)")
    RETURN_REVERSED = "return_reversed", _("Return: payment reversed")
    RETURN_REVIEW = "return_review", _("Return: needs review")


class BankTransaction(models.Model):
    """One transaction of a statement (a batch entry becomes one row per transaction)."""

    # organisation and account have no single-column index of their own: the index on
    # (organisation, status) and the unique (account, unique_key) lead with them. Fewer indexes
    # keep the import and the status updates of a 100,000-line statement cheap.
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="bank_transactions",
        db_index=False,
    )
    account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="transactions")
    unique_key = models.CharField(max_length=120)
    booking_date = models.DateField(_("booking date"), null=True, blank=True, db_index=True)
    value_date = models.DateField(_("value date"), null=True, blank=True)
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    is_credit = models.BooleanField(_("credit"), default=True)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    index_in_entry = models.PositiveIntegerField(default=0)
    bank_transaction_code = models.CharField(max_length=50, blank=True)
    counterparty_name = models.CharField(_("counterparty"), max_length=200, blank=True)
    counterparty_iban = models.CharField(_("counterparty IBAN"), max_length=34, blank=True)
    counterparty_bic = models.CharField(_("counterparty BIC"), max_length=11, blank=True)
    remittance = models.TextField(_("description"), blank=True)
    structured_reference = models.CharField(_("payment reference"), max_length=35, blank=True)
    reference_issuer = models.CharField(max_length=35, blank=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=100, blank=True)
    mandate_id = models.CharField(_("mandate id"), max_length=100, blank=True)
    is_return = models.BooleanField(_("return"), default=False)
    return_reason = models.CharField(_("return reason"), max_length=35, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=TransactionStatus.choices,
        default=TransactionStatus.UNMATCHED,
    )
    candidates = models.JSONField(_("match candidates"), default=list, blank=True)
    customer = models.ForeignKey(
        "debtors.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_transactions",
    )
    payments = models.ManyToManyField(
        "payments.Payment", blank=True, related_name="bank_transactions"
    )
    matched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "unique_key"], name="bank_transaction_unique_per_account"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="bank_transaction_amount_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "status"])]
        ordering = ["-booking_date", "-id"]
        verbose_name = _("bank transaction")
        verbose_name_plural = _("bank transactions")

    def __str__(self) -> str:
        sign = "+" if self.is_credit else "-"
        return f"{self.booking_date} {sign}{self.amount} {self.currency} {self.counterparty_name}"


# --- SEPA direct debit ----------------------------------------------------------------------


class MandateScheme(models.TextChoices):
    CORE = "CORE", _("Core (consumers and businesses)")
    B2B = "B2B", _("Business to business")


class SequenceType(models.TextChoices):
    FIRST = "FRST", _("First of a series")
    RECURRING = "RCUR", _("Recurring")
    FINAL = "FNAL", _("Final")
    ONE_OFF = "OOFF", _("One-off")


class MandateStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    STOPPED = "stopped", _("Stopped (return or revocation)")
    ENDED = "ended", _("Ended (final collection done)")


class Mandate(models.Model):
    """A SEPA direct debit mandate (machtiging) the customer signed."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="mandates"
    )
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="mandates"
    )
    reference = models.CharField(_("mandate reference"), max_length=35)
    signed_on = models.DateField(_("date of signature"))
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    scheme = models.CharField(
        _("scheme"), max_length=4, choices=MandateScheme.choices, default=MandateScheme.CORE
    )
    sequence = models.CharField(
        _("next sequence type"),
        max_length=4,
        choices=SequenceType.choices,
        default=SequenceType.FIRST,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MandateStatus.choices, default=MandateStatus.ACTIVE
    )
    pre_notification_days = models.PositiveSmallIntegerField(
        _("pre-notification (days before collection)"), default=14
    )
    original_reference = models.CharField(
        _("original mandate reference (amendment)"), max_length=35, blank=True
    )
    original_iban = models.CharField(_("original IBAN (amendment)"), max_length=34, blank=True)
    retries_left = models.PositiveSmallIntegerField(default=1)
    stopped_reason = models.CharField(max_length=35, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "reference"], name="mandate_reference_unique"
            )
        ]
        ordering = ["reference"]
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")

    def __str__(self) -> str:
        return f"{self.reference} ({self.iban})"


class DirectDebitBatch(models.Model):
    """A generated pain.008 file: what was collected, from whom, on which date."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="direct_debits"
    )
    version = models.CharField(max_length=20)
    collection_on = models.DateField(_("collection date"))
    scheme = models.CharField(max_length=4, choices=MandateScheme.choices)
    count = models.PositiveIntegerField(default=0)
    total = MoneyField(_("total"))
    items = models.JSONField(default=list)
    xml = models.TextField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.version} {self.collection_on} ({self.count})"


class DirectDebitLine(models.Model):
    """One collection in a pain.008 file: an open invoice, or an instalment of a payment plan
    (then `attempt` counts the presentations: an AM04 return is presented once more).

    Whether it came back is read from the statements: a return transaction with the same
    end-to-end id (`betaald.bank.sepa.lines_returned`)."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(DirectDebitBatch, on_delete=models.PROTECT, related_name="lines")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="lines")
    customer = models.ForeignKey(
        "debtors.Customer", on_delete=models.PROTECT, related_name="direct_debit_lines"
    )
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="direct_debit_lines",
    )
    instalment = models.ForeignKey(
        "plans.Instalment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="direct_debit_lines",
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    amount = MoneyField(_("amount"))
    collection_on = models.DateField(_("collection date"))
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35)
    sequence = models.CharField(_("sequence type"), max_length=4, choices=SequenceType.choices)
    remittance = models.CharField(_("description"), max_length=140)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instalment", "attempt"],
                condition=models.Q(instalment__isnull=False),
                name="direct_debit_instalment_attempt_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(invoice__isnull=True) ^ models.Q(instalment__isnull=True),
                name="direct_debit_line_invoice_or_instalment",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="direct_debit_line_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "end_to_end_id"])]
        ordering = ["collection_on", "pk"]
        verbose_name = _("direct debit collection")
        verbose_name_plural = _("direct debit collections")

    def __str__(self) -> str:
        return f"{self.end_to_end_id} {self.amount} {self.collection_on}"
