"""Reads of the dunning engine: what happens next to an invoice, the forecast, the simulator,
the approval queue and the call worklist. Every read is scoped to one organisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from betaald.core import dunning as core
from betaald.core.money import ZERO
from betaald.debtors.models import CustomerKind
from betaald.dunning import charges as charging
from betaald.dunning.models import (
    CallTask,
    DunningPolicy,
    DunningRun,
    DunningState,
    ExecutionStatus,
    Hold,
    StepExecution,
)
from betaald.dunning.policies import PolicyBook, PolicyEntry
from betaald.invoices.models import Invoice
from betaald.organisations.models import Organisation

FORECAST_DAYS = 14
SIMULATION_DAYS = 180


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a step will claim from the debtor (for this invoice alone)."""

    interest: Decimal = ZERO
    late_fee: Decimal = ZERO
    costs: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.interest + self.late_fee + self.costs


@dataclass(frozen=True, slots=True)
class NextStepView:
    """The next step of one invoice, for the include template `dunning/_next_step.html`."""

    policy: str | None
    step: str | None
    kind: str | None
    on: date | None
    channels: tuple[str, ...] = ()
    estimate: Estimate = Estimate()
    pause: str = ""
    needs_approval: bool = False
    holds: tuple[Hold, ...] = ()
    level: int = 0
    steps_total: int = 0
    history: tuple[StepExecution, ...] = ()


def _claim_for(invoice: Invoice, today: date) -> tuple[Any, PolicyBook]:
    from betaald.dunning.services import _load_claims, _settle_state

    book = PolicyBook([invoice.organisation_id])
    claims = _load_claims([invoice.pk], book)
    claim = claims[0]
    _settle_state(claim, today)
    return claim, book


def charges_on(invoices: Sequence[Invoice], today: date) -> charging.GroupCharge:
    """What the debtor owes on `today` for these open invoices of one customer, as a hand-over
    to collection claims it: the open principal, interest from the day after the due date
    (wettelijke handelsrente between businesses, art. 6:119a BW; wettelijke rente for a
    consumer, art. 6:119 BW; or the agreed contractual rate) and the collection costs on the
    summed principal (art. 6:96 lid 7 BW, or the agreed clause).

    A consumer owes collection costs only for an invoice whose 14-dagenbrief's term has passed
    (art. 6:96 lid 6 BW); by this project's convention interest too starts only then
    (`charging.interest_first_day`). Each invoice is judged on its own: the costs run on the
    principals of the invoices that qualify, the others are claimed at their principal and
    the result says which in its warnings."""
    from betaald.dunning.services import _claim_input, _load_claims, _settle_state

    if not invoices:
        return charging.GroupCharge(invoices=())
    organisation = invoices[0].organisation
    customer = invoices[0].customer
    book = PolicyBook([organisation.pk])
    claims = _load_claims([invoice.pk for invoice in invoices], book)
    for claim in claims:
        _settle_state(claim, today)
    consumer = customer.kind == CustomerKind.CONSUMER
    debtor_kind = core.DebtorKind.CONSUMER if consumer else core.DebtorKind.BUSINESS
    charges = core.Charges(
        interest_from=core.InterestFrom.DUE_DATE,
        interest_kind=charging.statutory_kind(debtor_kind),
        costs=core.CostsBasis.BIK,
    )
    charged, bare = list(claims), []
    if consumer:
        charged = [
            c
            for c in claims
            if c.state.fourteen_day_costs_due_from is not None
            and c.state.fourteen_day_costs_due_from <= today
        ]
        bare = [c for c in claims if c not in charged]

    def group(part: list[Any], step_charges: core.Charges) -> charging.GroupCharge:
        step = core.Step(
            code="handover",
            name="Hand-over to collection",
            offset_days=0,
            kind=core.MessageKind.HANDOVER_NOTICE,
            channels=(core.Channel.LETTER,),
            charges=step_charges,
        )
        return charging.group_charges(
            step,
            [_claim_input(claim) for claim in part],
            today=today,
            debtor_kind=debtor_kind,
            vat_applies=not organisation.can_deduct_vat,
            terms=claims[0].terms,
        )

    if not bare:
        return group(charged, charges)
    without = group(bare, core.NO_CHARGES)
    numbers = ", ".join(c.invoice.number for c in bare)
    warning = _(
        "No collection costs for invoices %(numbers)s: a consumer owes them only after the "
        "term of a 14-dagenbrief has passed (art. 6:96 lid 6 BW), and by this project's "
        "convention interest only from then on."
    ) % {"numbers": numbers}
    if not charged:
        return replace(without, warnings=(*without.warnings, warning))
    with_charges = group(charged, charges)
    order = {claim.invoice.pk: index for index, claim in enumerate(claims)}
    items = sorted(
        (*with_charges.invoices, *without.invoices), key=lambda item: order[item.invoice_id]
    )
    return replace(
        with_charges,
        invoices=tuple(items),
        warnings=(*with_charges.warnings, *without.warnings, warning),
    )


def estimate(
    step: core.Step,
    claim: charging.ClaimInput,
    on: date,
    debtor_kind: core.DebtorKind,
    *,
    vat_applies: bool,
    terms: charging.AgreedTerms | None = None,
) -> Estimate:
    """The charges of `step` for one invoice on day `on` (alone in its message), after the
    customer's agreed terms."""
    try:
        result = charging.group_charges(
            step,
            [claim],
            today=on,
            debtor_kind=debtor_kind,
            vat_applies=vat_applies,
            terms=terms,
        )
    except Exception:  # an estimate never breaks a page
        return Estimate()
    item = result.invoices[0]
    return Estimate(
        interest=item.interest, late_fee=item.late_fee, costs=item.costs + item.costs_vat
    )


def next_step_for_invoice(invoice: Invoice, today: date) -> NextStepView:
    """The next step of an invoice, its day and what it will cost the debtor; or why none."""
    claim, _book = _claim_for(invoice, today)
    holds = tuple(
        Hold.objects.filter(released_at__isnull=True, customer_id=invoice.customer_id).filter(
            Q(invoice__isnull=True) | Q(invoice_id=invoice.pk)
        )
    )
    history = tuple(
        StepExecution.objects.filter(invoice=invoice).select_related("step").order_by("pk")
    )
    entry: PolicyEntry | None = claim.entry
    state = claim.state
    if entry is None or claim.snapshot is None:
        return NextStepView(
            policy=None,
            step=None,
            kind=None,
            on=None,
            pause=state.pause,
            holds=holds,
            history=history,
        )
    snapshot = claim.snapshot
    path: tuple[tuple[date, core.Step], ...] = ()
    if not claim.awaiting and not claim.needs_fix and claim.is_open:
        path = core.simulate(snapshot, entry.policy, start=today, until=today + timedelta(days=400))
    if not path:
        return NextStepView(
            policy=entry.model.name,
            step=None,
            kind=None,
            on=None,
            pause=state.pause,
            holds=holds,
            level=snapshot.level,
            steps_total=len(entry.policy.steps),
            history=history,
        )
    day, step = path[0]
    return NextStepView(
        policy=entry.model.name,
        step=step.name,
        kind=step.kind.value,
        on=day,
        channels=tuple(c.value for c in step.channels),
        estimate=estimate(
            step,
            _input(claim),
            day,
            entry.policy.debtor_kind,
            vat_applies=not invoice.organisation.can_deduct_vat,
            terms=claim.terms,
        ),
        pause=state.pause,
        needs_approval=step.needs_approval,
        holds=holds,
        level=snapshot.level,
        steps_total=len(entry.policy.steps),
        history=history,
    )


def _input(claim: Any) -> charging.ClaimInput:
    from betaald.dunning.services import _claim_input

    return _claim_input(claim)


@dataclass(frozen=True, slots=True)
class SimulatedStep:
    on: date
    step: core.Step
    estimate: Estimate


def simulate_invoice(
    invoice: Invoice, policy: DunningPolicy, today: date, *, days: int = SIMULATION_DAYS
) -> list[SimulatedStep]:
    """The whole path of one invoice under `policy` if nothing changes (not paid, no hold):
    each step with its day and what it would claim. Starts from what was done already."""
    claim, book = _claim_for(invoice, today)
    entry = book.entries.get(policy.pk)
    if entry is None or invoice.due_on is None:
        return []
    start = (
        claim.snapshot if claim.entry is not None and claim.entry.model.pk == policy.pk else None
    )
    snapshot = start or core.ClaimSnapshot(due_on=invoice.due_on, open_amount=claim.open_amount)
    snapshot = core.ClaimSnapshot(
        due_on=snapshot.due_on,
        open_amount=claim.open_amount if claim.open_amount > 0 else Decimal(invoice.total),
        level=snapshot.level,
        done=snapshot.done,
        fourteen_day_costs_due_from=snapshot.fourteen_day_costs_due_from,
    )
    first = min(today, invoice.due_on - timedelta(days=60))
    path = core.simulate(snapshot, entry.policy, start=first, until=today + timedelta(days=days))
    results = []
    interest_from: date | None = claim.state.interest_from_on
    letter_due: date | None = snapshot.fourteen_day_costs_due_from
    for day, step in path:
        if day < today and start is not None:
            continue
        if step.is_fourteen_day_letter:
            letter_due = charging.fourteen_day_deadline(day).costs_due_from
        item = charging.ClaimInput(
            invoice_id=invoice.pk,
            due_on=invoice.due_on,
            principal=snapshot.open_amount,
            interest_from_on=interest_from,
            fourteen_day_costs_due_from=letter_due,
        )
        guess = estimate(
            step,
            item,
            day,
            entry.policy.debtor_kind,
            vat_applies=not invoice.organisation.can_deduct_vat,
            terms=claim.terms,
        )
        if interest_from is None and step.charges.interest_from is core.InterestFrom.THIS_STEP:
            interest_from = day
        results.append(SimulatedStep(on=day, step=step, estimate=guess))
    return results


@dataclass
class ForecastDay:
    on: date
    counts: dict[str, int] = field(default_factory=dict)
    invoices: int = 0
    fees: Decimal = ZERO
    interest: Decimal = ZERO
    costs: Decimal = ZERO


def forecast(
    organisation: Organisation, today: date, *, days: int = FORECAST_DAYS
) -> list[ForecastDay]:
    """Per day of the coming `days`: how many reminders, letters and calls, and how much in
    fees, interest and costs, if nobody pays. Reads only the claims due in the window
    (`next_action_on`, indexed)."""
    from betaald.dunning.services import _load_claims

    until = today + timedelta(days=days - 1)
    ids = list(
        DunningState.objects.filter(organisation=organisation, next_action_on__lte=until)
        .order_by("next_action_on", "invoice_id")
        .values_list("invoice_id", flat=True)[:20000]
    )
    book = PolicyBook([organisation.pk])
    per_day = {
        today + timedelta(days=n): ForecastDay(today + timedelta(days=n)) for n in range(days)
    }
    vat_applies = not organisation.can_deduct_vat
    for start in range(0, len(ids), 1000):
        for claim in _load_claims(ids[start : start + 1000], book):
            if claim.entry is None or claim.snapshot is None or not claim.is_open:
                continue
            if claim.awaiting or claim.needs_fix:
                continue
            path = core.simulate(claim.snapshot, claim.entry.policy, start=today, until=until)
            for day, step in path:
                bucket = per_day[day]
                for channel in step.channels:
                    bucket.counts[channel.value] = bucket.counts.get(channel.value, 0) + 1
                bucket.invoices += 1
                guess = estimate(
                    step,
                    _input(claim),
                    day,
                    claim.entry.policy.debtor_kind,
                    vat_applies=vat_applies,
                    terms=claim.terms,
                )
                bucket.fees += guess.late_fee
                bucket.interest += guess.interest
                bucket.costs += guess.costs
    return list(per_day.values())


def approval_queue(organisation: Organisation) -> QuerySet[StepExecution]:
    return (
        StepExecution.objects.filter(
            organisation=organisation, status=ExecutionStatus.AWAITING_APPROVAL
        )
        .select_related("invoice", "customer", "step")
        .order_by("executed_on", "customer__name", "pk")
    )


def worklist(
    organisation: Organisation, today: date, *, user: Any = None, limit: int = 200
) -> list[CallTask]:
    """Open tasks due today or earlier, for `user` (and unassigned ones), ordered by amount ×
    days overdue, largest first."""
    tasks = CallTask.objects.filter(
        organisation=organisation, closed_at__isnull=True, due_on__lte=today
    ).select_related("customer", "invoice", "assigned_to")
    if user is not None:
        tasks = tasks.filter(assigned_to__in=[user]) | tasks.filter(assigned_to__isnull=True)
    rows = list(tasks[: limit * 5])
    rows.sort(key=lambda t: (-(t.amount * max((today - t.overdue_since).days, 1)), t.due_on, t.pk))
    return rows[:limit]


def task_history(task: CallTask) -> dict[str, Any]:
    """A customer's history for the call screen: steps, holds and earlier tasks."""
    return {
        "steps": list(
            StepExecution.objects.filter(customer=task.customer)
            .select_related("step", "invoice")
            .order_by("-executed_on", "-pk")[:20]
        ),
        "holds": list(Hold.objects.filter(customer=task.customer).order_by("-starts_on")[:10]),
        "tasks": list(
            CallTask.objects.filter(customer=task.customer, closed_at__isnull=False).order_by(
                "-closed_at"
            )[:10]
        ),
    }


def runs_recent(organisation: Organisation) -> QuerySet[DunningRun]:
    return DunningRun.objects.filter(organisation=organisation).order_by("-pk")[:20]


def pauses_summary(organisation: Organisation) -> dict[str, int]:
    """How many invoices are paused, per reason (one grouped query)."""
    rows = (
        DunningState.objects.filter(organisation=organisation)
        .exclude(pause="")
        .values("pause")
        .annotate(n=Count("pk"))
        .values_list("pause", "n")
    )
    return dict(rows)
