"""Reads of the customer relationship: payment histories and scores (the payment-behaviour
register), the ranking, the dispute report, plan payments, and the contract terms dunning
reads. Every read is scoped to one organisation; the number of queries does not grow with the
number of customers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from betaald.core import installments as plan_core
from betaald.core import scoring
from betaald.core.money import CENT, ZERO
from betaald.debtors.models import Customer
from betaald.dunning.models import ExecutionStatus, Hold, HoldKind, StepExecution
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from betaald.invoices.selectors import invoices_for
from betaald.organisations.models import Organisation
from betaald.payments.models import Allocation, Payment, PaymentMethod
from betaald.plans.models import (
    ContractTerms,
    Dispute,
    DisputeReason,
    DisputeStatus,
    PaymentPlan,
    PlanStatus,
    Promise,
    PromiseStatus,
    RelationshipSettings,
    SuggestionStatus,
    TermSuggestion,
)

# ------------------------------------------------------------------------- contract terms


def contract_terms_for(customer: Customer | int) -> ContractTerms | None:
    """The terms agreed with a customer up front, or None (then statutory rules apply).
    For the dunning engine and the dossier."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    return ContractTerms.objects.filter(customer_id=customer_id).first()


def contract_terms_for_customers(customer_ids: Iterable[int]) -> dict[int, ContractTerms]:
    """The agreed terms of many customers in one query (for the daily dunning run)."""
    return {
        t.customer_id: t for t in ContractTerms.objects.filter(customer_id__in=set(customer_ids))
    }


# -------------------------------------------------------------------------- plan payments


def plan_payments(plan: PaymentPlan) -> list[plan_core.PlanPayment]:
    """What went towards the plan since it became active, per day: payments and credit notes
    allocated to its invoices (reversals count negative), plus the part of the customer's
    payments that no invoice absorbed (the interest and costs a plan includes are not on an
    invoice, so the money for them stays unapplied)."""
    if plan.activated_on is None:
        return []
    per_day: dict[date, Decimal] = defaultdict(lambda: ZERO)
    allocated = (
        Allocation.objects.filter(
            invoice__in=plan.invoices.all(), allocated_on__gte=plan.activated_on
        )
        .values("allocated_on")
        .annotate(total=Sum("amount"))
    )
    for row in allocated:
        per_day[row["allocated_on"]] += _cents(row["total"])
    payments = (
        Payment.objects.filter(customer_id=plan.customer_id, received_on__gte=plan.activated_on)
        .annotate(applied=Sum("allocations__amount"))
        .values_list("received_on", "amount", "applied")
    )
    for received_on, amount, applied in payments:
        unapplied = _cents(amount) - _cents(applied)
        if unapplied:
            per_day[received_on] += unapplied
    return [plan_core.PlanPayment(day, amount) for day, amount in sorted(per_day.items())]


@dataclass(frozen=True)
class Collection:
    """One presentation of an instalment by direct debit, for the plan page."""

    instalment: int
    attempt: int
    collection_on: date
    amount: Decimal
    end_to_end_id: str
    batch_id: int
    version: str
    returned: str | None  # the return reason when the bank sent it back


@dataclass(frozen=True)
class PlanDirectDebit:
    """How a plan is collected: the customer's active mandate (None: by transfer) and the
    collections per instalment number."""

    mandate: Any
    collections: dict[int, list[Collection]]

    def of(self, number: int) -> list[Collection]:
        return self.collections.get(number, [])


def is_collected_by_direct_debit(plan: PaymentPlan) -> bool:
    """The customer has an active mandate: the plan's instalments are collected by direct
    debit (and announced by pre-notifications, not by instalment reminders)."""
    from betaald.bank.models import Mandate, MandateStatus

    return Mandate.objects.filter(
        customer_id=plan.customer_id, status=MandateStatus.ACTIVE
    ).exists()


def plan_direct_debit(plan: PaymentPlan) -> PlanDirectDebit:
    """The mandate that collects the plan's instalments and every collection made so far."""
    from betaald.bank.models import DirectDebitLine, Mandate, MandateStatus
    from betaald.bank.sepa import lines_returned

    mandate = (
        Mandate.objects.filter(customer_id=plan.customer_id, status=MandateStatus.ACTIVE)
        .order_by("-signed_on", "-pk")
        .first()
    )
    lines = list(
        DirectDebitLine.objects.filter(instalment__plan=plan)
        .select_related("instalment", "batch")
        .order_by("collection_on", "attempt", "pk")
    )
    returned = lines_returned(plan.organisation, lines)
    collections: dict[int, list[Collection]] = defaultdict(list)
    for line in lines:
        assert line.instalment is not None
        collections[line.instalment.number].append(
            Collection(
                instalment=line.instalment.number,
                attempt=line.attempt,
                collection_on=line.collection_on,
                amount=line.amount,
                end_to_end_id=line.end_to_end_id,
                batch_id=line.batch_id,
                version=line.batch.version,
                returned=returned.get(line.pk),
            )
        )
    return PlanDirectDebit(mandate=mandate, collections=dict(collections))


def promise_paid(promise: Promise, until: date) -> Decimal:
    """What was paid towards the promise's invoices from the day it was made up to `until`."""
    total = Allocation.objects.filter(
        invoice__in=promise.invoices.all(),
        payment__isnull=False,
        allocated_on__gte=promise.made_on,
        allocated_on__lte=until,
    ).aggregate(total=Sum("amount"))["total"]
    return _cents(total)


def _cents(value: Any) -> Decimal:
    """A database sum as an exact amount in cents (SQLite returns extra digits)."""
    return Decimal(value or ZERO).quantize(CENT)


# ----------------------------------------------------------------------------- histories


def _paid_on(
    total: Decimal, credited: Decimal, payments: list[tuple[date, Decimal]]
) -> date | None:
    """The day the payments (in date order) last reached what was owed after credit notes."""
    owed = total - credited
    running = ZERO
    paid_on: date | None = None
    for day, amount in payments:
        running += amount
        if running >= owed and paid_on is None:
            paid_on = day
        elif running < owed:
            paid_on = None
    return paid_on


def histories(
    organisation: Organisation, customer_ids: Iterable[int] | None = None
) -> dict[int, scoring.History]:
    """The payment history of each customer, built with a fixed number of queries."""
    invoices = Invoice.objects.filter(
        organisation=organisation,
        kind=InvoiceKind.INVOICE,
        status=InvoiceStatus.ISSUED,
        due_on__isnull=False,
    )
    ids = None if customer_ids is None else set(customer_ids)
    if ids is not None:
        invoices = invoices.filter(customer_id__in=ids)
    invoice_rows = list(invoices.values_list("pk", "customer_id", "due_on", "total"))
    invoice_ids = [row[0] for row in invoice_rows]
    paid: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    credited: dict[int, Decimal] = defaultdict(lambda: ZERO)
    allocations = (
        Allocation.objects.filter(organisation=organisation, invoice_id__in=invoice_ids)
        .values("invoice_id", "allocated_on", "payment_id")
        .annotate(total=Sum("amount"))
        .order_by("invoice_id", "allocated_on")
    )
    for row in allocations:
        if row["payment_id"] is None:
            credited[row["invoice_id"]] += _cents(row["total"])
        else:
            paid[row["invoice_id"]].append((row["allocated_on"], _cents(row["total"])))
    records: dict[int, list[scoring.InvoiceRecord]] = defaultdict(list)
    for pk, customer_id, due_on, total in invoice_rows:
        if due_on is None or total - credited[pk] <= 0:
            continue  # fully credited: nothing was owed
        paid_on = _paid_on(total, credited[pk], _by_day(paid[pk]))
        records[customer_id].append(scoring.InvoiceRecord(due_on, total - credited[pk], paid_on))
    reminders: dict[int, list[date]] = defaultdict(list)
    executions = StepExecution.objects.filter(
        organisation=organisation, status=ExecutionStatus.DONE
    )
    if ids is not None:
        executions = executions.filter(customer_id__in=ids)
    for customer_id, executed_on in executions.values_list("customer_id", "executed_on"):
        reminders[customer_id].append(executed_on)
    promises: dict[tuple[int, str], list[date]] = defaultdict(list)
    promise_rows = Promise.objects.filter(
        organisation=organisation,
        status__in=[PromiseStatus.KEPT, PromiseStatus.BROKEN],
        evaluated_on__isnull=False,
    )
    if ids is not None:
        promise_rows = promise_rows.filter(customer_id__in=ids)
    for customer_id, status, day in promise_rows.values_list(
        "customer_id", "status", "evaluated_on"
    ):
        if day is not None:
            promises[(customer_id, status)].append(day)
    broken_plans: dict[int, list[date]] = defaultdict(list)
    plans = PaymentPlan.objects.filter(
        organisation=organisation, status=PlanStatus.BROKEN, ended_on__isnull=False
    )
    if ids is not None:
        plans = plans.filter(customer_id__in=ids)
    for customer_id, day in plans.values_list("customer_id", "ended_on"):
        if day is not None:
            broken_plans[customer_id].append(day)
    returned: dict[int, list[date]] = defaultdict(list)
    reversals = Payment.objects.filter(
        organisation=organisation,
        reverses__isnull=False,
        reverses__method=PaymentMethod.DIRECT_DEBIT,
    )
    if ids is not None:
        reversals = reversals.filter(customer_id__in=ids)
    for customer_id, day in reversals.values_list("customer_id", "received_on"):
        returned[customer_id].append(day)
    everyone = set(records) | set(reminders) | {c for c, _s in promises} | set(broken_plans)
    everyone |= set(returned)
    if ids is not None:
        everyone |= ids
    return {
        customer_id: scoring.History(
            invoices=tuple(sorted(records[customer_id], key=_record_key)),
            reminders=tuple(sorted(reminders[customer_id])),
            broken_promises=tuple(sorted(promises[(customer_id, PromiseStatus.BROKEN)])),
            kept_promises=tuple(sorted(promises[(customer_id, PromiseStatus.KEPT)])),
            broken_plans=tuple(sorted(broken_plans[customer_id])),
            returned_debits=tuple(sorted(returned[customer_id])),
        )
        for customer_id in everyone
    }


def _by_day(rows: list[tuple[date, Decimal]]) -> list[tuple[date, Decimal]]:
    per_day: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, amount in rows:
        per_day[day] += amount
    return sorted(per_day.items())


def _record_key(record: scoring.InvoiceRecord) -> tuple[date, Decimal, date]:
    return (record.due_on, record.amount, record.paid_on or date.max)


def customer_history(customer: Customer) -> scoring.History:
    return histories(customer.organisation, [customer.pk])[customer.pk]


def customer_score(customer: Customer, today: date) -> scoring.Score:
    return scoring.score(customer_history(customer), today)


@dataclass(frozen=True)
class RegisterRow:
    customer: Customer
    score: scoring.Score
    open_amount: Decimal


GRADE_ORDER = {grade: index for index, grade in enumerate(scoring.GRADES)}


def register(organisation: Organisation, today: date) -> list[RegisterRow]:
    """The payment-behaviour register: every customer with a history, best payers first
    (grade, then weighted days late, then name)."""
    found = histories(organisation)
    customers = Customer.objects.filter(organisation=organisation, pk__in=list(found))
    open_amounts = dict(
        invoices_for(organisation)
        .filter(Q(open_amount__gt=0), status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE)
        .values("customer_id")
        .annotate(open_total=Sum("open_amount"))
        .values_list("customer_id", "open_total")
    )
    rows = [
        RegisterRow(
            customer=customer,
            score=scoring.score(found[customer.pk], today),
            open_amount=_cents(open_amounts.get(customer.pk)),
        )
        for customer in customers
    ]
    rows.sort(
        key=lambda r: (
            GRADE_ORDER[r.score.grade],
            r.score.recent.weighted_days_late
            if r.score.recent.invoices
            else r.score.metrics.weighted_days_late,
            r.customer.name,
            r.customer.pk,
        )
    )
    return rows


# ---------------------------------------------------------------------------------- lists


def plans_for(organisation: Organisation) -> QuerySet[PaymentPlan]:
    return PaymentPlan.objects.filter(organisation=organisation).select_related("customer")


def promises_for(organisation: Organisation) -> QuerySet[Promise]:
    return Promise.objects.filter(organisation=organisation).select_related("customer")


def disputes_for(organisation: Organisation) -> QuerySet[Dispute]:
    return Dispute.objects.filter(organisation=organisation).select_related(
        "customer", "invoice", "owner"
    )


def suggestions_pending(organisation: Organisation) -> QuerySet[TermSuggestion]:
    return TermSuggestion.objects.filter(
        organisation=organisation, status=SuggestionStatus.PENDING
    ).select_related("customer")


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    label: str
    total: int
    open: int
    resolved: int
    average_days: Decimal | None


def disputes_report(organisation: Organisation) -> list[ReasonRow]:
    """Disputes by reason: how many, how many open, and the average days to resolve."""
    rows = {
        row["reason"]: row
        for row in Dispute.objects.filter(organisation=organisation)
        .values("reason")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=Q(status=DisputeStatus.OPEN)),
            resolved=Count("pk", filter=~Q(status=DisputeStatus.OPEN)),
        )
    }
    days: dict[str, list[int]] = defaultdict(list)
    for reason, opened_on, resolved_on in Dispute.objects.filter(
        organisation=organisation, resolved_on__isnull=False
    ).values_list("reason", "opened_on", "resolved_on"):
        if resolved_on is not None:
            days[reason].append((resolved_on - opened_on).days)
    report = []
    for reason, label in DisputeReason.choices:
        row: dict[str, Any] = rows.get(reason) or {"total": 0, "open": 0, "resolved": 0}
        spans = days.get(reason, [])
        average = (Decimal(sum(spans)) / len(spans)).quantize(Decimal("0.1")) if spans else None
        report.append(
            ReasonRow(reason, str(label), row["total"], row["open"], row["resolved"], average)
        )
    return report


def is_insolvent(customer: Customer) -> bool:
    return Hold.objects.filter(
        customer=customer,
        released_at__isnull=True,
        kind__in=[HoldKind.INSOLVENCY, HoldKind.DECEASED],
    ).exists()


def open_amount_of(customer: Customer) -> Decimal:
    total = (
        invoices_for(customer.organisation)
        .filter(
            Q(open_amount__gt=0),
            customer=customer,
            status=InvoiceStatus.ISSUED,
            kind=InvoiceKind.INVOICE,
        )
        .aggregate(total=Sum("open_amount"))["total"]
    )
    return _cents(total)


# ------------------------------------------------------------- interest and costs to date


@dataclass(frozen=True)
class ChargesToDate:
    """What a plan may include besides the principal, computed by the legal core: interest
    from the day after each due date up to and including `today`, and the collection costs and
    late fees dunning already claimed in its letters."""

    interest: Decimal
    costs: Decimal
    notes: tuple[str, ...]


def charges_to_date(customer: Customer, invoices: Iterable[Invoice], today: date) -> ChargesToDate:
    """Business: wettelijke handelsrente (art. 6:119a BW), or the contractual rate if agreed
    (`ContractTerms`); consumer: wettelijke rente (art. 6:119 BW) only from the day dunning
    started claiming it (verzuim), else none. Costs: what the dunning letters claimed."""
    from betaald.core.interest import contractual_interest, statutory_interest
    from betaald.core.rates import RateKind, StaleRate
    from betaald.dunning.charges import rate_table
    from betaald.dunning.models import DunningState
    from betaald.plans.models import InterestClause

    terms = contract_terms_for(customer)
    rows = list(with_open_amounts(invoices))
    states = {s.invoice_id: s for s in DunningState.objects.filter(invoice__in=rows)}
    interest = ZERO
    costs = ZERO
    notes: list[str] = []
    for invoice in rows:
        state = states.get(invoice.pk)
        if state is not None:
            costs += state.costs_claimed + state.late_fee_charged
        principal = _cents(getattr(invoice, "open_amount", ZERO))
        if invoice.due_on is None or principal <= 0:
            continue
        if customer.is_business:
            first = invoice.due_on + timedelta(days=1)
        elif state is not None and state.interest_from_on is not None:
            first = state.interest_from_on
        else:
            continue
        if first > today:
            continue
        if terms is not None and terms.interest_clause == InterestClause.NONE:
            continue
        if terms is not None and terms.interest_clause == InterestClause.CONTRACTUAL:
            percent = terms.contractual_rate or ZERO
            interest += contractual_interest(principal, first, today, percent=percent).interest
            continue
        kind = RateKind.COMMERCIAL if customer.is_business else RateKind.STATUTORY
        table = rate_table(kind)
        try:
            interest += statutory_interest(principal, first, today, table).interest
        except StaleRate:
            interest += statutory_interest(principal, first, today, table.unbounded()).interest
            notes.append(f"{kind} rate table not confirmed for {today.isoformat()}")
    return ChargesToDate(interest=_cents(interest), costs=_cents(costs), notes=tuple(notes))


def with_open_amounts(invoices: Iterable[Invoice]) -> QuerySet[Invoice]:
    from betaald.invoices.selectors import with_balance

    return with_balance(Invoice.objects.filter(pk__in=[i.pk for i in invoices])).order_by(
        "due_on", "pk"
    )


def customer_flags(customer: Customer, order_amount: Decimal | None = None) -> list[str]:
    """Warnings to show on a new invoice or quote for the customer: prepayment required or
    blocked (the seeds' advice: no work without the deposit), open disputes, and the credit
    limit exceeded by open + this order. For the invoice and quote pages."""
    from django.utils.translation import gettext as _

    from betaald.debtors.models import CustomerStatus

    flags: list[str] = []
    if customer.status == CustomerStatus.PREPAYMENT:
        flags.append(_("Prepayment required: ask for payment before the work starts."))
    elif customer.status == CustomerStatus.BLOCKED:
        flags.append(_("Blocked for new work."))
    terms = contract_terms_for(customer)
    if terms is not None and terms.deposit_percent:
        flags.append(
            _("Deposit agreed: %(percent)s%%.")
            % {"percent": format(terms.deposit_percent.normalize(), "f")}
        )
    disputes = Dispute.objects.filter(customer=customer, status=DisputeStatus.OPEN).count()
    if disputes:
        flags.append(_("%(count)s open dispute(s).") % {"count": disputes})
    if customer.credit_limit is not None:
        check = scoring.credit_check(
            open_amount_of(customer), order_amount or ZERO, customer.credit_limit
        )
        if check.exceeds_limit:
            flags.append(
                _("Open plus this order (%(exposure)s) exceeds the credit limit %(limit)s.")
                % {"exposure": check.exposure, "limit": check.credit_limit}
            )
    return flags


# ------------------------------------------------------------------ an organisation's rules


def relationship_settings_for(organisation: Organisation) -> RelationshipSettings:
    """The organisation's settings, or the defaults (unsaved) when it has none."""
    found = RelationshipSettings.objects.filter(organisation=organisation).first()
    return found or RelationshipSettings(organisation=organisation)


def term_rules_for(organisation: Organisation) -> tuple[scoring.TermRule, ...]:
    """The term rules the organisation switched on, with its numbers."""
    chosen = relationship_settings_for(organisation)
    action = scoring.TermAction
    rules: list[scoring.TermRule] = []
    if chosen.suggest_longer_term:
        rules.append(
            scoring.TermRule(
                "a_longer_term",
                frozenset({"A"}),
                action.LONGER_TERM,
                payment_term_days=chosen.longer_term_days,
            )
        )
    if chosen.suggest_early_discount:
        rules.append(
            scoring.TermRule(
                "a_early_discount",
                frozenset({"A"}),
                action.EARLY_PAYMENT_DISCOUNT,
                discount_percent=Decimal(chosen.early_discount_percent),
                discount_days=chosen.early_discount_days,
            )
        )
    if chosen.suggest_prepayment:
        rules.append(scoring.TermRule("de_prepayment", frozenset({"D", "E"}), action.PREPAYMENT))
    if chosen.suggest_direct_debit_only:
        rules.append(
            scoring.TermRule(
                "de_direct_debit_only", frozenset({"D", "E"}), action.DIRECT_DEBIT_ONLY
            )
        )
    if chosen.suggest_offer_direct_debit:
        rules.append(
            scoring.TermRule(
                "loyal_offer_direct_debit",
                frozenset({"A", "B"}),
                action.OFFER_DIRECT_DEBIT,
                min_customer_days=chosen.loyal_customer_days,
            )
        )
    if chosen.suggest_lift_prepayment:
        rules.append(
            scoring.TermRule(
                "recovered_lift_prepayment", frozenset({"A", "B"}), action.LIFT_PREPAYMENT
            )
        )
    return tuple(rules)


def deposit_policy_for(organisation: Organisation) -> scoring.DepositPolicy:
    chosen = relationship_settings_for(organisation)
    return scoring.DepositPolicy(
        low=Decimal(chosen.deposit_low),
        medium=Decimal(chosen.deposit_medium),
        high=Decimal(chosen.deposit_high),
        very_high=Decimal(chosen.deposit_very_high),
    )
