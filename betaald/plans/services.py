"""Every write of the customer relationship: payment plans, promises to pay, disputes, credit
limits and checks, contract terms, and the review of suggested terms.

Dunning pauses through the dunning engine's services (`hold_add`, `hold_release`, which
refresh the invoices' dunning state); messages go through the outbox (`message_queue`, unique
keys, so nothing is sent twice); customer status changes through the debtors' services. The
daily `plans_evaluate` is safe to run twice and concurrently: plans and promises are locked
with ``select_for_update(skip_locked=True)`` in id order, and every effect is keyed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from betaald.audit.services import acting_user, event_record
from betaald.core import installments as plan_core
from betaald.core import scoring
from betaald.core.errors import DomainError
from betaald.core.money import CENT, ZERO, to_money
from betaald.debtors.models import Customer, CustomerStatus
from betaald.debtors.services import customer_set_status, customer_update
from betaald.dunning.models import CallTask, Hold, HoldKind, TaskOutcome
from betaald.dunning.services import hold_add, hold_release
from betaald.i18n import error_text
from betaald.identifiers import normalise_btw_id, normalise_kvk
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from betaald.invoices.selectors import with_balance
from betaald.invoices.services import LineInput, credit_note_create, invoice_create_draft
from betaald.letters.models import MessageKind
from betaald.letters.services import message_queue
from betaald.organisations.models import Organisation
from betaald.plans import selectors
from betaald.plans.models import (
    ContractTerms,
    CreditAssessment,
    Dispute,
    DisputeReason,
    DisputeStatus,
    Instalment,
    InstalmentStatus,
    OnBreak,
    PaymentPlan,
    PlanStatus,
    Promise,
    PromiseSource,
    PromiseStatus,
    RelationshipSettings,
    SuggestionAction,
    SuggestionStatus,
    TermSuggestion,
)

SYSTEM = "system"
DEFAULT_RESOLVE_DAYS = 14


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a core `DomainError` into a `ValidationError` on the field it names."""
    try:
        yield
    except DomainError as error:
        raise ValidationError({error.field or "__all__": error_text(error)}) from None


def as_stored(reasons: Sequence[scoring.Reason]) -> list[dict[str, Any]]:
    """Reasons as stored with a credit check or a suggestion (JSON: code, English text and
    values; the pages word them in the user's language)."""
    return [{"code": r.code, "text": r.text, "values": dict(r.values)} for r in reasons]


def _amount(value: Decimal | str | int, field_name: str) -> Decimal:
    with domain_errors():
        amount = to_money(value, field=field_name)
    if amount <= 0:
        raise ValidationError({field_name: _("the amount must be more than zero")})
    return amount


def _open_invoices(customer: Customer, invoices: Sequence[Invoice]) -> list[Invoice]:
    """The invoices, locked, with `open_amount`; each must be the customer's, issued and open."""
    if not invoices:
        raise ValidationError({"invoices": _("choose at least one invoice")})
    ids = sorted({invoice.pk for invoice in invoices})
    list(Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    rows = list(with_balance(Invoice.objects.filter(pk__in=ids)).order_by("due_on", "pk"))
    for invoice in rows:
        if invoice.customer_id != customer.pk:
            raise ValidationError({"invoices": _("an invoice is not the customer's")})
        if invoice.status != InvoiceStatus.ISSUED or invoice.kind != InvoiceKind.INVOICE:
            raise ValidationError({"invoices": _("only issued invoices can be included")})
        if invoice.open_amount <= 0:  # type: ignore[attr-defined]
            raise ValidationError(
                {"invoices": _("invoice %(number)s is already paid") % {"number": invoice.number}}
            )
    return rows


def _invoice_context(invoices: Sequence[Invoice]) -> list[dict[str, Any]]:
    return [
        {
            "number": invoice.number,
            "issued_on": invoice.issued_on.isoformat() if invoice.issued_on else None,
            "due_on": invoice.due_on.isoformat() if invoice.due_on else None,
            "principal": str(
                Decimal(getattr(invoice, "open_amount", invoice.total)).quantize(CENT)
            ),
            "interest": "0.00",
            "costs": "0.00",
            "payment_reference": invoice.payment_reference,
        }
        for invoice in invoices
    ]


# -------------------------------------------------------------------------- payment plans


@transaction.atomic
def plan_create(
    *,
    organisation: Organisation,
    customer: Customer,
    invoices: Sequence[Invoice],
    actor: Any,
    today: date,
    first_on: date,
    frequency: str = plan_core.Frequency.MONTHLY.value,
    count: int | None = None,
    amount: Decimal | None = None,
    interest: Decimal = ZERO,
    costs: Decimal = ZERO,
    grace_days: int = 5,
    reminder_days_before: int = 3,
    on_break: str = OnBreak.RESUME_DUNNING,
    note: str = "",
    activate: bool = False,
) -> PaymentPlan:
    """Propose a plan for open invoices of one customer (their open amounts plus the interest
    and costs the caller included); with `activate` it starts at once."""
    if customer.organisation_id != organisation.pk:
        raise ValidationError({"customer": _("unknown customer")})
    if frequency not in plan_core.Frequency.__members__.values():
        raise ValidationError({"frequency": _("choose weekly or monthly")})
    if on_break not in OnBreak.values:
        raise ValidationError({"on_break": _("unknown choice")})
    if not 0 <= grace_days <= plan_core.MAX_GRACE_DAYS:
        raise ValidationError(
            {"grace_days": _("grace days must be 0 to %(max)s") % {"max": plan_core.MAX_GRACE_DAYS}}
        )
    rows = _open_invoices(customer, invoices)
    busy = PaymentPlan.objects.filter(
        invoices__in=rows, status__in=[PlanStatus.PROPOSED, PlanStatus.ACTIVE]
    ).exists()
    if busy:
        raise ValidationError({"invoices": _("an invoice is already in a proposed or active plan")})
    principal = sum((row.open_amount for row in rows), ZERO).quantize(CENT)  # type: ignore[attr-defined]
    with domain_errors():
        proposal = plan_core.schedule(
            principal,
            first_on=first_on,
            today=today,
            frequency=plan_core.Frequency(frequency),
            count=count,
            amount=amount,
            interest=interest,
            costs=costs,
        )
    plan = PaymentPlan(
        organisation=organisation,
        customer=customer,
        principal=proposal.principal,
        interest=proposal.interest,
        costs=proposal.costs,
        total=proposal.total,
        frequency=frequency,
        grace_days=grace_days,
        reminder_days_before=reminder_days_before,
        on_break=on_break,
        proposed_on=today,
        note=note.strip(),
        created_by=acting_user(actor),
    )
    plan.full_clean()
    plan.save()
    plan.invoices.set(rows)
    Instalment.objects.bulk_create(
        [
            Instalment(plan=plan, number=i.number, due_on=i.due_on, amount=i.amount)
            for i in proposal.instalments
        ]
    )
    event_record(
        name="plans.plan.created",
        organisation=organisation,
        actor=actor,
        customer=customer,
        invoice=rows[0],
        subject=plan,
        after={
            "total": str(plan.total),
            "principal": str(plan.principal),
            "interest": str(plan.interest),
            "costs": str(plan.costs),
            "frequency": frequency,
            "invoices": [row.number for row in rows],
            "instalments": [
                [i.number, i.due_on.isoformat(), str(i.amount)] for i in proposal.instalments
            ],
        },
        message=note,
    )
    if activate:
        plan = plan_activate(plan=plan, actor=actor, today=today)
    return plan


def _plan_context(plan: PaymentPlan, today: date) -> dict[str, Any]:
    invoices = list(with_balance(plan.invoices.all()).order_by("due_on", "pk"))
    return {
        "date": today.isoformat(),
        "plan": {
            "total": str(plan.total),
            "instalments": [
                {"number": i.number, "due_on": i.due_on.isoformat(), "amount": str(i.amount)}
                for i in plan.instalments.all()
            ],
        },
        "invoices": _invoice_context(invoices),
        "payment_reference": invoices[0].payment_reference if invoices else "",
    }


@transaction.atomic
def plan_activate(*, plan: PaymentPlan, actor: Any, today: date) -> PaymentPlan:
    """Start a proposed plan: dunning of its invoices pauses (a PLAN hold on each) and the
    customer gets a confirmation with the schedule."""
    plan = PaymentPlan.objects.select_for_update().select_related("customer").get(pk=plan.pk)
    if plan.status != PlanStatus.PROPOSED:
        raise ValidationError({"status": _("only a proposed plan can be started")})
    first = plan.instalments.order_by("number").first()
    if first is not None and first.due_on < today:
        raise ValidationError(
            {"first_on": _("the first instalment date is in the past; make a new proposal")}
        )
    customer = plan.customer
    holds = [
        hold_add(
            customer=customer,
            invoice=invoice,
            kind=HoldKind.PLAN,
            actor=actor,
            starts_on=today,
            reason=_("Payment plan %(id)s") % {"id": plan.pk},
        )
        for invoice in plan.invoices.order_by("pk")
    ]
    plan.holds.add(*holds)
    plan.status = PlanStatus.ACTIVE
    plan.activated_on = today
    plan.save(update_fields=["status", "activated_on"])
    event_record(
        name="plans.plan.activated",
        organisation=plan.organisation,
        actor=actor,
        customer=customer,
        subject=plan,
        before={"status": PlanStatus.PROPOSED},
        after={"status": PlanStatus.ACTIVE, "from": today.isoformat()},
    )
    message_queue(
        organisation=plan.organisation,
        customer=customer,
        kind=MessageKind.PLAN_CONFIRMATION,
        channel="email",
        fallback_channels=["letter"],
        context=_plan_context(plan, today),
        unique_key=f"plan:{plan.pk}:confirmation",
        invoices=list(plan.invoices.order_by("pk")),
        actor=actor,
    )
    return plan


def _release_holds(holds: Sequence[Hold], actor: Any, reason: str, today: date) -> None:
    for hold in holds:
        hold_release(hold=hold, actor=actor, reason=reason, today=today)


@transaction.atomic
def plan_cancel(*, plan: PaymentPlan, actor: Any, today: date, reason: str) -> PaymentPlan:
    """Cancel a proposed or active plan; dunning of its invoices resumes."""
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (PlanStatus.PROPOSED, PlanStatus.ACTIVE):
        raise ValidationError({"status": _("this plan has already ended")})
    if not reason.strip():
        raise ValidationError({"reason": _("say why the plan is cancelled")})
    before = plan.status
    plan.status = PlanStatus.CANCELLED
    plan.ended_on = today
    plan.save(update_fields=["status", "ended_on"])
    _release_holds(list(plan.holds.filter(released_at__isnull=True)), actor, reason, today)
    event_record(
        name="plans.plan.cancelled",
        organisation=plan.organisation,
        actor=actor,
        customer=plan.customer,
        subject=plan,
        before={"status": before},
        after={"status": PlanStatus.CANCELLED},
        message=reason,
    )
    return plan


@transaction.atomic
def plan_resume_dunning(*, plan: PaymentPlan, actor: Any, today: date, reason: str) -> PaymentPlan:
    """For a broken plan kept on review: the credit controller lets dunning resume."""
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != PlanStatus.BROKEN:
        raise ValidationError({"status": _("only a broken plan is on review")})
    if not reason.strip():
        raise ValidationError({"reason": _("say why dunning resumes")})
    holds = list(plan.holds.filter(released_at__isnull=True))
    _release_holds(holds, actor, reason, today)
    event_record(
        name="plans.plan.dunning_resumed",
        organisation=plan.organisation,
        actor=actor,
        customer=plan.customer,
        subject=plan,
        after={"released_holds": len(holds)},
        message=reason,
    )
    return plan


def _schedule_of(plan: PaymentPlan) -> list[plan_core.Instalment]:
    return [plan_core.Instalment(i.number, i.due_on, i.amount) for i in plan.instalments.all()]


def _instalment_states(plan: PaymentPlan, paid: Decimal, missed: int | None) -> None:
    cumulative = ZERO
    for instalment in plan.instalments.all():
        cumulative += instalment.amount
        if paid >= cumulative:
            status = InstalmentStatus.PAID
        elif missed is not None and instalment.number == missed:
            status = InstalmentStatus.MISSED
        else:
            status = InstalmentStatus.OPEN
        if instalment.status != status:
            instalment.status = status
            instalment.save(update_fields=["status"])


@dataclass
class EvaluationReport:
    day: date
    plans: int = 0
    completed: int = 0
    broken: int = 0
    reminders: int = 0
    promises: int = 0
    kept: int = 0
    promises_broken: int = 0
    adopted: int = 0
    suggestions: int = 0
    errors: list[str] = field(default_factory=list)


def plan_evaluate(*, plan: PaymentPlan, today: date, report: EvaluationReport) -> None:
    """Evaluate one active plan on `today` (inside the caller's transaction, plan locked):
    instalment states, reminders, and completion or break with its consequences."""
    plan_payments = selectors.plan_payments(plan)
    schedule = _schedule_of(plan)
    status = plan_core.plan_status(schedule, plan_payments, today, plan.grace_days)
    missed = status.missed.number if status.missed else None
    _instalment_states(
        plan, status.paid, missed if status.state is plan_core.PlanState.BROKEN else None
    )
    plan.evaluated_on = today
    report.plans += 1
    if status.state is plan_core.PlanState.COMPLETED:
        plan.status = PlanStatus.COMPLETED
        plan.ended_on = today
        plan.save(update_fields=["status", "ended_on", "evaluated_on"])
        _release_holds(
            list(plan.holds.filter(released_at__isnull=True)),
            SYSTEM,
            _("Payment plan completed."),
            today,
        )
        event_record(
            name="plans.plan.completed",
            organisation=plan.organisation,
            actor=SYSTEM,
            customer=plan.customer,
            subject=plan,
            before={"status": PlanStatus.ACTIVE},
            after={"status": PlanStatus.COMPLETED, "paid": str(status.paid)},
        )
        report.completed += 1
        return
    if status.state is plan_core.PlanState.BROKEN:
        assert status.missed is not None
        assert status.broken_on is not None
        plan.status = PlanStatus.BROKEN
        plan.ended_on = status.broken_on
        plan.missed_instalment = status.missed.number
        plan.save(update_fields=["status", "ended_on", "missed_instalment", "evaluated_on"])
        if plan.on_break == OnBreak.RESUME_DUNNING:
            _release_holds(
                list(plan.holds.filter(released_at__isnull=True)),
                SYSTEM,
                _("Payment plan broken: instalment %(number)s was not paid.")
                % {"number": status.missed.number},
                today,
            )
        event_record(
            name="plans.plan.broken",
            organisation=plan.organisation,
            actor=SYSTEM,
            customer=plan.customer,
            subject=plan,
            before={"status": PlanStatus.ACTIVE},
            after={
                "status": PlanStatus.BROKEN,
                "missed_instalment": status.missed.number,
                "broken_on": status.broken_on.isoformat(),
                "remaining": str(status.remaining),
                "on_break": plan.on_break,
            },
        )
        report.broken += 1
        return
    plan.save(update_fields=["evaluated_on"])
    if selectors.is_collected_by_direct_debit(plan):
        return  # each collection is announced by its SEPA pre-notification instead
    for instalment in plan_core.instalments_to_remind(
        schedule, plan_payments, today, plan.reminder_days_before
    ):
        _message, created = message_queue(
            organisation=plan.organisation,
            customer=plan.customer,
            kind=MessageKind.PLAN_INSTALMENT_REMINDER,
            channel="email",
            fallback_channels=["letter"],
            context={
                "date": today.isoformat(),
                "instalment": {
                    "number": instalment.number,
                    "due_on": instalment.due_on.isoformat(),
                    "amount": str(instalment.amount),
                },
                "payment_reference": plan.invoices.order_by("due_on", "pk")
                .values_list("payment_reference", flat=True)
                .first()
                or "",
            },
            unique_key=f"plan:{plan.pk}:instalment:{instalment.number}:reminder",
            invoices=list(plan.invoices.order_by("pk")),
        )
        report.reminders += int(created)


def _each_locked(queryset: Any, work: Callable[[Any], None], report: EvaluationReport) -> None:
    """Run `work` for each row in its own transaction, locked and skipped if another run holds
    it (the row is re-read under the lock, so a row another run just finished is skipped too);
    one failing row is reported and the run goes on."""
    for pk in list(queryset.order_by("pk").values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                row = queryset.select_for_update(skip_locked=True).filter(pk=pk).first()
                if row is not None:
                    work(row)
        except (ValidationError, DomainError) as error:
            report.errors.append(f"{queryset.model._meta.model_name} {pk}: {error}")


def plans_evaluate(
    *, today: date, organisation: Organisation | None = None, suggestions: bool = True
) -> EvaluationReport:
    """The daily evaluation: adopt holds made elsewhere (a promise or a dispute noted on a
    call), evaluate active plans and open promises, and refresh the suggested terms.
    Idempotent: a second run on the same day changes nothing."""
    report = EvaluationReport(day=today)
    report.adopted += promises_adopt_holds(today=today, organisation=organisation)
    report.adopted += disputes_adopt_holds(today=today, organisation=organisation)
    plans = PaymentPlan.objects.filter(status=PlanStatus.ACTIVE)
    promises = Promise.objects.filter(status=PromiseStatus.OPEN)
    if organisation is not None:
        plans = plans.filter(organisation=organisation)
        promises = promises.filter(organisation=organisation)
    _each_locked(plans, lambda plan: plan_evaluate(plan=plan, today=today, report=report), report)
    _each_locked(
        promises,
        lambda promise: promise_evaluate(promise=promise, today=today, report=report),
        report,
    )
    if not suggestions:
        return report
    organisations = (
        [organisation] if organisation is not None else list(Organisation.objects.order_by("pk"))
    )
    for each in organisations:
        report.suggestions += suggestions_refresh(organisation=each, today=today)
    return report


# ------------------------------------------------------------------------ promises to pay


@transaction.atomic
def promise_create(
    *,
    organisation: Organisation,
    customer: Customer,
    invoices: Sequence[Invoice],
    amount: Decimal | str | int,
    promised_on: date,
    actor: Any,
    today: date,
    source: str = PromiseSource.CALL,
    note: str = "",
    confirm: bool = True,
) -> Promise:
    """Record a promise to pay: dunning of the invoices pauses until `promised_on` (a PROMISE
    hold each; it resumes the day after if the promise is broken) and a confirmation is sent."""
    if customer.organisation_id != organisation.pk:
        raise ValidationError({"customer": _("unknown customer")})
    if promised_on < today:
        raise ValidationError(
            {"promised_on": _("the promised date %(day)s is before today") % {"day": promised_on}}
        )
    if source not in PromiseSource.values:
        raise ValidationError({"source": _("unknown source")})
    value = _amount(amount, "amount")
    rows = _open_invoices(customer, invoices)
    open_total = sum((row.open_amount for row in rows), ZERO).quantize(CENT)  # type: ignore[attr-defined]
    if value > open_total:
        raise ValidationError(
            {"amount": _("more than the open amount of %(open)s") % {"open": open_total}}
        )
    promise = Promise(
        organisation=organisation,
        customer=customer,
        amount=value,
        made_on=today,
        promised_on=promised_on,
        source=source,
        note=note.strip(),
        created_by=acting_user(actor),
    )
    promise.full_clean()
    promise.save()
    promise.invoices.set(rows)
    holds = [
        hold_add(
            customer=customer,
            invoice=row,
            kind=HoldKind.PROMISE,
            actor=actor,
            starts_on=today,
            until=promised_on,
            reason=note.strip() or _("Promise to pay %(amount)s") % {"amount": value},
        )
        for row in rows
    ]
    promise.holds.add(*holds)
    _promise_recorded(promise, rows, actor, today, confirm)
    return promise


def _promise_recorded(
    promise: Promise, rows: Sequence[Invoice], actor: Any, today: date, confirm: bool
) -> None:
    event_record(
        name="plans.promise.created",
        organisation=promise.organisation,
        actor=actor,
        customer=promise.customer,
        invoice=rows[0] if rows else None,
        subject=promise,
        after={
            "amount": str(promise.amount),
            "promised_on": promise.promised_on.isoformat(),
            "source": promise.source,
            "invoices": [row.number for row in rows],
        },
        message=promise.note,
    )
    if confirm:
        message_queue(
            organisation=promise.organisation,
            customer=promise.customer,
            kind=MessageKind.PROMISE_CONFIRMATION,
            channel="email",
            fallback_channels=["letter"],
            context={
                "date": today.isoformat(),
                "promise": {
                    "amount": str(promise.amount),
                    "due_on": promise.promised_on.isoformat(),
                },
                "invoices": _invoice_context(rows),
            },
            unique_key=f"promise:{promise.pk}:confirmation",
            invoices=list(rows),
            actor=actor,
        )


def promise_evaluate(*, promise: Promise, today: date, report: EvaluationReport) -> None:
    """Kept once the amount is paid (from the day it was made up to the promised date);
    broken the day after the promised date if not. Either way its holds are released."""
    report.promises += 1
    paid = selectors.promise_paid(promise, min(today, promise.promised_on))
    if paid >= promise.amount:
        status, day, reason = PromiseStatus.KEPT, today, _("Promise to pay kept.")
        report.kept += 1
    elif not _any_open(promise.invoices.all()):
        # Settled otherwise (a credit note): neither kept nor broken, it does not count.
        status, day, reason = PromiseStatus.CANCELLED, today, _("Invoices settled otherwise.")
    elif today > promise.promised_on:
        status = PromiseStatus.BROKEN
        day = promise.promised_on + timedelta(days=1)
        reason = _("Promise to pay broken.")
        report.promises_broken += 1
    else:
        return
    promise.status = status
    promise.evaluated_on = day
    promise.save(update_fields=["status", "evaluated_on"])
    _release_holds(list(promise.holds.filter(released_at__isnull=True)), SYSTEM, reason, today)
    event_record(
        name=f"plans.promise.{status}",
        organisation=promise.organisation,
        actor=SYSTEM,
        customer=promise.customer,
        subject=promise,
        before={"status": PromiseStatus.OPEN},
        after={"status": status, "paid": str(paid), "on": day.isoformat()},
    )


def _any_open(invoices: Any) -> bool:
    return with_balance(invoices).filter(Q(open_amount__gt=0)).exists()


@transaction.atomic
def promise_cancel(*, promise: Promise, actor: Any, today: date, reason: str) -> Promise:
    promise = Promise.objects.select_for_update().get(pk=promise.pk)
    if promise.status != PromiseStatus.OPEN:
        raise ValidationError({"status": _("this promise was already evaluated")})
    if not reason.strip():
        raise ValidationError({"reason": _("say why the promise is cancelled")})
    promise.status = PromiseStatus.CANCELLED
    promise.evaluated_on = today
    promise.save(update_fields=["status", "evaluated_on"])
    _release_holds(list(promise.holds.filter(released_at__isnull=True)), actor, reason, today)
    event_record(
        name="plans.promise.cancelled",
        organisation=promise.organisation,
        actor=actor,
        customer=promise.customer,
        subject=promise,
        before={"status": PromiseStatus.OPEN},
        after={"status": PromiseStatus.CANCELLED},
        message=reason,
    )
    return promise


def _unadopted(kind: str, organisation: Organisation | None) -> Any:
    """Holds of `kind` no record of ours refers to yet, locked (SKIP LOCKED: a concurrent run
    adopts the ones it locked, this run the others)."""
    holds = Hold.objects.filter(kind=kind, released_at__isnull=True, invoice__isnull=False)
    if organisation is not None:
        holds = holds.filter(organisation=organisation)
    if kind == HoldKind.PROMISE:
        holds = holds.filter(promises__isnull=True)
    else:
        holds = holds.filter(disputes__isnull=True)
    return holds.order_by("pk").select_for_update(skip_locked=True, of=("self",))


def _call_task_for(hold: Hold, outcome: str) -> CallTask | None:
    if hold.invoice_id is None:
        return None
    return (
        CallTask.objects.filter(invoice_id=hold.invoice_id, outcome=outcome)
        .order_by("-closed_at", "-id")
        .first()
    )


@transaction.atomic
def promises_adopt_holds(*, today: date, organisation: Organisation | None = None) -> int:
    """A promise noted as a call outcome in the dunning worklist is a PROMISE hold without a
    Promise: record it here (same hold, no second pause) so it is evaluated and counted in the
    score. The amount promised is the invoice's open amount when the hold was made."""
    adopted = 0
    for hold in _unadopted(HoldKind.PROMISE, organisation).select_related(
        "invoice", "customer", "organisation"
    ):
        invoice = with_balance(Invoice.objects.filter(pk=hold.invoice_id)).get()
        open_amount = Decimal(invoice.open_amount).quantize(CENT)  # type: ignore[attr-defined]
        if open_amount <= 0 or hold.until is None:
            continue
        promise = Promise.objects.create(
            organisation=hold.organisation,
            customer=hold.customer,
            call_task=_call_task_for(hold, TaskOutcome.PROMISED),
            amount=open_amount,
            made_on=hold.starts_on,
            promised_on=hold.until,
            source=PromiseSource.CALL,
            note=hold.reason,
            created_by=hold.created_by,
        )
        promise.invoices.set([invoice])
        promise.holds.add(hold)
        _promise_recorded(promise, [invoice], hold.created_by or SYSTEM, today, confirm=True)
        adopted += 1
    return adopted


# -------------------------------------------------------------------------------- disputes


@transaction.atomic
def dispute_open(
    *,
    invoice: Invoice,
    reason: str,
    description: str,
    actor: Any,
    today: date,
    owner: Any = None,
    resolve_by: date | None = None,
    line: InvoiceLine | None = None,
) -> Dispute:
    """Record a dispute about one invoice (or one line); dunning of that invoice only pauses."""
    if reason not in DisputeReason.values:
        raise ValidationError({"reason": _("choose a reason")})
    if not description.strip():
        raise ValidationError({"description": _("note what the customer says")})
    if invoice.status != InvoiceStatus.ISSUED or invoice.kind != InvoiceKind.INVOICE:
        raise ValidationError({"invoice": _("only an issued invoice can be disputed")})
    if line is not None and line.invoice_id != invoice.pk:
        raise ValidationError({"line": _("this line is not on the invoice")})
    resolve_by = resolve_by or today + timedelta(days=DEFAULT_RESOLVE_DAYS)
    if resolve_by < today:
        raise ValidationError({"resolve_by": _("the date to resolve by is before today")})
    if Dispute.objects.filter(invoice=invoice, status=DisputeStatus.OPEN).exists():
        raise ValidationError({"invoice": _("this invoice already has an open dispute")})
    hold = hold_add(
        customer=invoice.customer,
        invoice=invoice,
        kind=HoldKind.DISPUTE,
        actor=actor,
        starts_on=today,
        reason=f"{DisputeReason(reason).label}: {description.strip()}",
    )
    return _dispute_record(
        invoice=invoice,
        hold=hold,
        reason=reason,
        description=description.strip(),
        actor=actor,
        today=today,
        owner=owner,
        resolve_by=resolve_by,
        line=line,
    )


def _dispute_record(
    *,
    invoice: Invoice,
    hold: Hold,
    reason: str,
    description: str,
    actor: Any,
    today: date,
    owner: Any,
    resolve_by: date,
    line: InvoiceLine | None,
) -> Dispute:
    dispute = Dispute(
        organisation_id=invoice.organisation_id,
        customer_id=invoice.customer_id,
        invoice=invoice,
        line=line,
        hold=hold,
        reason=reason,
        description=description,
        owner=owner,
        opened_on=today,
        resolve_by=resolve_by,
        created_by=acting_user(actor),
    )
    dispute.full_clean()
    dispute.save()
    event_record(
        name="plans.dispute.opened",
        organisation=invoice.organisation,
        actor=actor,
        customer=invoice.customer,
        invoice=invoice,
        subject=dispute,
        after={
            "reason": reason,
            "line": line.pk if line else None,
            "resolve_by": resolve_by.isoformat(),
            "owner": getattr(owner, "pk", None),
        },
        message=description,
    )
    return dispute


@transaction.atomic
def disputes_adopt_holds(*, today: date, organisation: Organisation | None = None) -> int:
    """A dispute noted as a call outcome is a DISPUTE hold without a Dispute: record it (reason
    "other", the note as description) so it appears in the list and the report."""
    adopted = 0
    for hold in _unadopted(HoldKind.DISPUTE, organisation).select_related(
        "invoice", "invoice__organisation", "invoice__customer"
    ):
        assert hold.invoice is not None
        _dispute_record(
            invoice=hold.invoice,
            hold=hold,
            reason=DisputeReason.OTHER,
            description=hold.reason or _("Noted during a call."),
            actor=hold.created_by or SYSTEM,
            today=hold.starts_on,
            owner=hold.created_by,
            resolve_by=hold.starts_on + timedelta(days=DEFAULT_RESOLVE_DAYS),
            line=None,
        )
        adopted += 1
    return adopted


def _resolve(
    dispute: Dispute, status: str, actor: Any, today: date, note: str, credit: Invoice | None
) -> Dispute:
    dispute.status = status
    dispute.resolved_on = today
    dispute.resolution = note.strip()
    dispute.credit_note = credit
    dispute.save(update_fields=["status", "resolved_on", "resolution", "credit_note"])
    if dispute.hold is not None:
        hold_release(hold=dispute.hold, actor=actor, reason=note, today=today)
    event_record(
        name="plans.dispute.resolved",
        organisation=dispute.organisation,
        actor=actor,
        customer=dispute.customer,
        invoice=dispute.invoice,
        subject=dispute,
        before={"status": DisputeStatus.OPEN},
        after={
            "status": status,
            "credit_note": credit.number if credit else None,
            "days": (today - dispute.opened_on).days,
        },
        message=note,
    )
    return dispute


def _lock_open(dispute: Dispute) -> Dispute:
    locked = Dispute.objects.select_for_update().select_related("invoice").get(pk=dispute.pk)
    if locked.status != DisputeStatus.OPEN:
        raise ValidationError({"status": _("this dispute is already resolved")})
    return locked


@transaction.atomic
def dispute_resolve_credit(
    *,
    dispute: Dispute,
    actor: Any,
    today: date,
    note: str,
    lines: Sequence[LineInput] | None = None,
) -> Dispute:
    """Resolve in the customer's favour with a credit note: the whole invoice (no `lines`), or
    part of it (a partial credit; dunning resumes for what is left)."""
    dispute = _lock_open(dispute)
    if not note.strip():
        raise ValidationError({"note": _("explain the decision")})
    credit = credit_note_create(
        invoice=dispute.invoice, actor=actor, issued_on=today, reason=note, lines=lines
    )
    status = DisputeStatus.CREDITED if lines is None else DisputeStatus.PARTIALLY_CREDITED
    return _resolve(dispute, status, actor, today, note, credit)


@transaction.atomic
def dispute_reject(*, dispute: Dispute, actor: Any, today: date, note: str) -> Dispute:
    """Reject the dispute with an explanation; dunning of the invoice resumes. The explanation
    is kept with the dispute and in the audit trail (the evidence for a later dossier)."""
    dispute = _lock_open(dispute)
    if not note.strip():
        raise ValidationError({"note": _("explain the decision to the customer")})
    resolved = _resolve(dispute, DisputeStatus.REJECTED, actor, today, note, None)
    # Dunning resumes, so the customer first hears why (issue 8: "a message explaining it").
    with translation.override(dispute.customer.language):
        reason = str(dispute.get_reason_display())
    message_queue(
        organisation=dispute.organisation,
        customer=dispute.customer,
        kind=MessageKind.DISPUTE_DECISION,
        channel="email",
        fallback_channels=["letter"],
        context={
            "date": today.isoformat(),
            "dispute": {"reason": reason, "decision": note.strip()},
            "invoices": _invoice_context([dispute.invoice]),
        },
        unique_key=f"dispute:{dispute.pk}:decision",
        invoices=[dispute.invoice],
        actor=actor,
    )
    return resolved


# ------------------------------------------------------------------ credit, limits, terms


@transaction.atomic
def credit_limit_set(
    *, customer: Customer, credit_limit: Decimal | str | None, actor: Any
) -> Customer:
    """Set (or clear, with None) a customer's credit limit; below zero is refused."""
    limit: Decimal | None = None
    if credit_limit is not None and credit_limit != "":
        with domain_errors():
            limit = scoring.check_credit_limit(to_money(credit_limit, field="credit_limit"))
    return customer_update(customer=customer, actor=actor, credit_limit=limit)


def customer_problems(customer: Customer) -> list[str]:
    """What is wrong with a customer's details before credit is given: KvK, BTW-id, address."""
    problems: list[str] = []
    if customer.is_business and not customer.kvk_number:
        problems.append(_("the KvK number is missing"))
    for value, check in (
        (customer.kvk_number, normalise_kvk),
        (customer.vat_number, normalise_btw_id),
    ):
        if value:
            try:
                check(value)
            except DomainError as error:
                problems.append(error_text(error))
    if not (customer.street and customer.postal_code and customer.city):
        problems.append(_("the address is incomplete"))
    return problems


@transaction.atomic
def credit_check_run(
    *,
    customer: Customer,
    order_amount: Decimal | str,
    actor: Any,
    today: date,
    deposits: scoring.DepositPolicy | None = None,
) -> CreditAssessment:
    """Check a customer before an order: details, credit limit (open + order > limit warns),
    risk score and the deposit or prepayment that follows. Kept as a record; a prepayment or
    a deposit the rules ask for becomes a suggestion to review, never a silent change."""
    order = _amount(order_amount, "order_amount")
    terms = selectors.contract_terms_for(customer)
    history = selectors.customer_history(customer)
    has_history = bool(history.invoices)
    grade = scoring.score(history, today).grade if has_history else None
    open_amount = selectors.open_amount_of(customer)
    with domain_errors():
        assessment = scoring.risk_score(
            scoring.RiskInput(
                order_amount=order,
                open_amount=open_amount,
                credit_limit=customer.credit_limit,
                founded_on=terms.founded_on if terms else None,
                grade=grade,
                is_insolvent=selectors.is_insolvent(customer),
                is_blocked=customer.status == CustomerStatus.BLOCKED,
            ),
            today,
            deposits or selectors.deposit_policy_for(customer.organisation),
        )
    record = CreditAssessment(
        organisation_id=customer.organisation_id,
        customer=customer,
        checked_on=today,
        order_amount=order,
        open_amount=open_amount,
        credit_limit=customer.credit_limit,
        exceeds_limit=assessment.credit.exceeds_limit,
        points=assessment.points,
        risk_class=assessment.risk_class.value,
        grade=grade or "",
        deposit_percent=assessment.deposit_percent,
        deposit_amount=assessment.deposit_amount,
        prepayment_required=assessment.prepayment_required,
        reasons=as_stored(assessment.explained),
        problems=customer_problems(customer),
        checked_by=acting_user(actor),
    )
    record.full_clean()
    record.save()
    event_record(
        name="plans.credit.checked",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        subject=record,
        after={
            "order": str(order),
            "risk_class": record.risk_class,
            "exceeds_limit": record.exceeds_limit,
            "deposit": str(record.deposit_amount),
            "prepayment_required": record.prepayment_required,
        },
    )
    if assessment.prepayment_required and customer.status == CustomerStatus.ACTIVE:
        _suggest(
            customer=customer,
            rule="credit_check_prepayment",
            action=SuggestionAction.PREPAYMENT,
            grade=grade or "",
            reason=_("credit check: risk %(risk)s; ") % {"risk": record.risk_class}
            + "; ".join(assessment.reasons),
            details={"reasons": as_stored(assessment.explained)},
            today=today,
        )
    return record


@transaction.atomic
def deposit_invoice_create(
    *, assessment: CreditAssessment, actor: Any, vat_rate: str = "21"
) -> Invoice:
    """A draft invoice for the deposit (aanbetaling) or prepayment (vooruitbetaling) a credit
    check asked for, to be issued and paid before the work starts. Asking twice returns the
    same draft."""
    assessment = (
        CreditAssessment.objects.select_for_update()
        .select_related("customer", "customer__organisation")
        .get(pk=assessment.pk)
    )
    if assessment.deposit_invoice_id is not None:
        return Invoice.objects.get(pk=assessment.deposit_invoice_id)
    if assessment.deposit_amount <= 0:
        raise ValidationError({"deposit_amount": _("this check asks for no deposit")})
    customer = assessment.customer
    percent = format(assessment.deposit_percent.normalize(), "f")
    invoice = invoice_create_draft(
        organisation=customer.organisation,
        customer=customer,
        actor=actor,
        lines=[
            LineInput(
                _("Deposit of %(percent)s%% on an order of %(order)s")
                % {"percent": percent, "order": assessment.order_amount},
                Decimal("1"),
                assessment.deposit_amount,
                vat_rate,
            )
        ],
        notes=_("Prepayment: to be paid before the work starts."),
    )
    assessment.deposit_invoice = invoice
    assessment.save(update_fields=["deposit_invoice"])
    event_record(
        name="plans.credit.deposit_invoiced",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        invoice=invoice,
        subject=assessment,
        after={"amount": str(assessment.deposit_amount), "percent": percent},
    )
    return invoice


SETTINGS_PERCENTS = (
    "early_discount_percent",
    "deposit_low",
    "deposit_medium",
    "deposit_high",
    "deposit_very_high",
)


@transaction.atomic
def relationship_settings_save(
    *, organisation: Organisation, actor: Any, **fields: Any
) -> RelationshipSettings:
    """Save which term rules suggest what and the deposit per risk class."""
    chosen = selectors.relationship_settings_for(organisation)
    before = None if chosen._state.adding else _settings_snapshot(chosen)
    for name, value in fields.items():
        if not hasattr(chosen, name) or name in ("organisation", "updated_at"):
            raise ValidationError({"__all__": _("unknown fields: %(f)s") % {"f": name}})
        setattr(chosen, name, value)
    for name in SETTINGS_PERCENTS:
        value = getattr(chosen, name)
        if not 0 <= value <= 100:
            raise ValidationError({name: _("a percentage is 0 to 100")})
    if not 0 < chosen.longer_term_days <= scoring.MAX_TERM_DAYS:
        raise ValidationError(
            {
                "longer_term_days": _(
                    "1 to 60 days: a longer term between businesses must be expressly agreed "
                    "(art. 6:119a lid 5 BW)"
                )
            }
        )
    if chosen.early_discount_percent <= 0 or chosen.early_discount_percent >= 100:
        raise ValidationError({"early_discount_percent": _("a discount is more than 0%")})
    chosen.full_clean()
    chosen.save()
    event_record(
        name="plans.settings.saved",
        organisation=organisation,
        actor=actor,
        subject=chosen,
        before=before,
        after=_settings_snapshot(chosen),
    )
    return chosen


def _settings_snapshot(chosen: RelationshipSettings) -> dict[str, Any]:
    return {
        f.name: (str(v) if isinstance(v, Decimal) else v)
        for f in RelationshipSettings._meta.concrete_fields
        if f.name not in ("organisation", "updated_at")
        for v in [getattr(chosen, f.name)]
    }


TERM_FIELDS = {
    f.name
    for f in ContractTerms._meta.get_fields()
    if f.name not in ("customer", "organisation", "updated_at")
}


@transaction.atomic
def contract_terms_save(*, customer: Customer, actor: Any, **fields: Any) -> ContractTerms:
    """Record the terms agreed up front (the quote/contract checklist)."""
    unknown = set(fields) - TERM_FIELDS
    if unknown:
        raise ValidationError(
            {"__all__": _("unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))}}
        )
    terms = ContractTerms.objects.select_for_update().filter(customer=customer).first()
    before = _terms_snapshot(terms) if terms else None
    if terms is None:
        terms = ContractTerms(customer=customer, organisation_id=customer.organisation_id)
    for name, value in fields.items():
        setattr(terms, name, value)
    for name in ("late_fee_percent", "costs_percent", "deposit_percent", "early_discount_percent"):
        value = getattr(terms, name)
        if value is not None and not 0 <= value <= 100:
            raise ValidationError({name: _("a percentage is 0 to 100")})
    long_term = terms.payment_term_days is not None and terms.payment_term_days > 60
    if long_term and customer.is_business and not terms.document_reference:
        raise ValidationError(
            {
                "payment_term_days": _(
                    "more than 60 days between businesses must be expressly agreed: name the "
                    "quote or contract (art. 6:119a lid 5 BW)"
                )
            }
        )
    terms.full_clean()
    terms.save()
    event_record(
        name="plans.terms.saved",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        subject=terms,
        before=before,
        after=_terms_snapshot(terms),
    )
    return terms


def _terms_snapshot(terms: ContractTerms) -> dict[str, Any]:
    return {
        name: (str(value) if value is not None and not isinstance(value, bool) else value)
        for name in sorted(TERM_FIELDS)
        for value in [getattr(terms, name)]
    }


# ------------------------------------------------------------------- suggestions of terms


def _current_terms(customer: Customer, terms: ContractTerms | None) -> scoring.CurrentTerms:
    term = customer.payment_term_days
    if term is None:
        term = customer.organisation.default_payment_term_days
    return scoring.CurrentTerms(
        payment_term_days=term,
        status=customer.status,
        direct_debit_only=bool(terms and terms.direct_debit_only),
        has_direct_debit=bool(terms and terms.has_direct_debit_mandate),
        early_discount_percent=terms.early_discount_percent if terms else None,
        customer_since=timezone.localtime(customer.created_at).date()
        if customer.created_at
        else None,
    )


def _suggest(
    *,
    customer: Customer,
    rule: str,
    action: str,
    grade: str,
    reason: str,
    details: dict[str, Any],
    today: date,
) -> bool:
    if TermSuggestion.objects.filter(
        customer=customer, rule=rule, status=SuggestionStatus.PENDING
    ).exists():
        return False
    try:
        with transaction.atomic():  # a concurrent run may insert the same pending suggestion
            TermSuggestion.objects.create(
                organisation_id=customer.organisation_id,
                customer=customer,
                rule=rule,
                action=action,
                grade=grade,
                reason=reason,
                details=details,
                suggested_on=today,
            )
    except IntegrityError:
        return False
    return True


@transaction.atomic
def suggestions_refresh(
    *,
    organisation: Organisation,
    today: date,
    rules: Sequence[scoring.TermRule] | None = None,
) -> int:
    """Score every customer with a history and store what the rules suggest (one pending
    suggestion per customer and rule); pending ones that no longer apply become obsolete.
    Returns how many new suggestions were made."""
    if rules is None:
        rules = selectors.term_rules_for(organisation)
    found = selectors.histories(organisation)
    customers = Customer.objects.filter(
        organisation=organisation, pk__in=list(found)
    ).select_related("organisation")
    terms = selectors.contract_terms_for_customers(found)
    pending = {
        (s.customer_id, s.rule): s
        for s in TermSuggestion.objects.select_for_update().filter(
            organisation=organisation, status=SuggestionStatus.PENDING
        )
    }
    # Pending suggestions of any term rule (switched off ones too) that no longer apply
    # become obsolete; those of a credit check stay until decided.
    rule_codes = {rule.code for rule in rules} | {rule.code for rule in scoring.DEFAULT_RULES}
    wanted: set[tuple[int, str]] = set()
    created = 0
    for customer in customers.order_by("pk"):
        result = scoring.score(found[customer.pk], today)
        stored_reasons = as_stored(result.explained)
        current = _current_terms(customer, terms.get(customer.pk))
        for suggestion in scoring.suggest_terms(result, current, today, rules):
            wanted.add((customer.pk, suggestion.rule))
            details: dict[str, Any] = {"reasons": stored_reasons}
            if suggestion.payment_term_days is not None:
                details["payment_term_days"] = suggestion.payment_term_days
            if suggestion.discount_percent is not None:
                details["discount_percent"] = str(suggestion.discount_percent)
                details["discount_days"] = suggestion.discount_days
            created += _suggest(
                customer=customer,
                rule=suggestion.rule,
                action=suggestion.action.value,
                grade=suggestion.grade,
                reason=suggestion.reason,
                details=details,
                today=today,
            )
    for key, stale in pending.items():
        if key[1] in rule_codes and key not in wanted:
            stale.status = SuggestionStatus.OBSOLETE
            stale.decided_at = timezone.now()
            stale.save(update_fields=["status", "decided_at"])
    return created


def _apply(suggestion: TermSuggestion, actor: Any, reason: str) -> None:
    customer = suggestion.customer
    action = suggestion.action
    if action == SuggestionAction.PREPAYMENT:
        customer_set_status(
            customer=customer, status=CustomerStatus.PREPAYMENT, actor=actor, reason=reason
        )
    elif action == SuggestionAction.LIFT_PREPAYMENT:
        customer_set_status(
            customer=customer, status=CustomerStatus.ACTIVE, actor=actor, reason=reason
        )
    elif action == SuggestionAction.LONGER_TERM:
        days = int(suggestion.details["payment_term_days"])
        customer_update(customer=customer, actor=actor, payment_term_days=days)
        contract_terms_save(customer=customer, actor=actor, payment_term_days=days)
    elif action == SuggestionAction.EARLY_PAYMENT_DISCOUNT:
        contract_terms_save(
            customer=customer,
            actor=actor,
            early_discount_percent=Decimal(suggestion.details["discount_percent"]),
            early_discount_days=int(suggestion.details["discount_days"]),
        )
    elif action == SuggestionAction.DIRECT_DEBIT_ONLY:
        contract_terms_save(customer=customer, actor=actor, direct_debit_only=True)
    # OFFER_DIRECT_DEBIT: accepting means the controller makes the offer; nothing changes
    # until the customer signs a mandate (recorded in the contract terms).


@transaction.atomic
def suggestion_accept(
    *, suggestion: TermSuggestion, actor: Any, today: date, note: str = ""
) -> TermSuggestion:
    """Apply a suggested change of terms through the debtors' services, and audit it."""
    suggestion = (
        TermSuggestion.objects.select_for_update()
        .select_related("customer", "customer__organisation")
        .get(pk=suggestion.pk)
    )
    if suggestion.status != SuggestionStatus.PENDING:
        raise ValidationError({"status": _("this suggestion was already decided")})
    reason = note.strip() or _("Accepted suggestion: %(action)s (grade %(grade)s).") % {
        "action": suggestion.get_action_display(),
        "grade": suggestion.grade,
    }
    _apply(suggestion, actor, reason)
    return _decide(suggestion, SuggestionStatus.ACCEPTED, actor, note)


@transaction.atomic
def suggestion_reject(*, suggestion: TermSuggestion, actor: Any, note: str = "") -> TermSuggestion:
    suggestion = TermSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != SuggestionStatus.PENDING:
        raise ValidationError({"status": _("this suggestion was already decided")})
    return _decide(suggestion, SuggestionStatus.REJECTED, actor, note)


def _decide(suggestion: TermSuggestion, status: str, actor: Any, note: str) -> TermSuggestion:
    suggestion.status = status
    suggestion.decided_by = acting_user(actor)
    suggestion.decided_at = timezone.now()
    suggestion.decision_note = note.strip()
    suggestion.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    event_record(
        name=f"plans.suggestion.{status}",
        organisation=suggestion.customer.organisation,
        actor=actor,
        customer=suggestion.customer,
        subject=suggestion,
        before={"status": SuggestionStatus.PENDING},
        after={"status": status, "action": suggestion.action, "rule": suggestion.rule},
        message=note,
    )
    return suggestion
