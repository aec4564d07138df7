"""Every write of the dunning engine: policies, holds, the daily run, approvals, tasks.

The daily run (`dunning_run`) selects the states with ``next_action_on <= today`` in chunks,
locked with ``select_for_update(skip_locked=True)`` in a stable order, asks the core
(`betaald.core.dunning.next_step`) what each claim needs, groups all invoices of one customer
reaching the same step into one message (costs on their summed principal, art. 6:96 lid 7 BW)
and writes steps, messages, tasks and states with bulk statements. The unique
(invoice, step) key of `StepExecution` and the outbox's unique message key make a second run,
a crash half way and two concurrent runs harmless. See docs/algorithms/dunning.md.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Mod
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from betaald.audit.models import Event
from betaald.audit.services import acting_user, event_build, event_record
from betaald.core import dunning as core
from betaald.core.errors import DomainError
from betaald.core.money import ZERO
from betaald.debtors.models import Contact, ContactRole, Customer
from betaald.dunning import bulk
from betaald.dunning import charges as charging
from betaald.dunning.models import (
    CallTask,
    CustomerDunning,
    DunningPolicy,
    DunningRun,
    DunningState,
    DunningStep,
    ExecutionStatus,
    Hold,
    HoldKind,
    RunStatus,
    StepExecution,
    TaskKind,
    TaskOutcome,
)
from betaald.dunning.policies import PolicyBook, PolicyEntry, step_fields_from_core
from betaald.i18n import error_text
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from betaald.invoices.selectors import with_balance
from betaald.organisations.models import Organisation
from betaald.payments.models import Allocation, Payment

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
ADVISORY_LOCK_SPACE = 696  # first key of the run's advisory locks (any constant not used elsewhere)
ONE_DAY = timedelta(days=1)
MISSED_DAYS = gettext_lazy("Missed days: only the step due now was carried out.")
MESSAGE_CHANNELS = frozenset({core.Channel.EMAIL, core.Channel.LETTER, core.Channel.SMS})
# A call step that falls back to a message (no phone number) sends a plain reminder.
MESSAGE_KIND_FOR_CALL = core.MessageKind.REMINDER.value


# ------------------------------------------------------------------------------------ policies


# The names of the default policies and steps (English in the core), in the organisation's
# language (Dutch first) when they are installed; the user can rename them afterwards.
DEFAULT_NAMES = {
    "Business": gettext_lazy("Business"),
    "Consumer": gettext_lazy("Consumer"),
    "Late fee": gettext_lazy("Late fee"),
    "Friendly reminder": gettext_lazy("Friendly reminder"),
    "Reminder": gettext_lazy("Reminder"),
    "Call": gettext_lazy("Call"),
    "Aanmaning / sommatie": gettext_lazy("Aanmaning / sommatie"),
    "Final notice and hand-over proposal": gettext_lazy("Final notice and hand-over proposal"),
    "Second reminder": gettext_lazy("Second reminder"),
    "14-dagenbrief": gettext_lazy("14-dagenbrief"),
    "Costs and interest charged": gettext_lazy("Costs and interest charged"),
    "Hand-over proposal": gettext_lazy("Hand-over proposal"),
    "Late fee warning": gettext_lazy("Late fee warning"),
    "Late fee charged": gettext_lazy("Late fee charged"),
    "Stop working together": gettext_lazy("Stop working together"),
}


def default_name(name: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(DEFAULT_NAMES.get(name, name))


@transaction.atomic
def dunning_policies_install_defaults(
    *, organisation: Organisation, actor: Any = None
) -> list[DunningPolicy]:
    """Give an organisation the default policies (business, consumer, late fee); idempotent.

    Business and consumer become the defaults for their kind unless one is already chosen.
    """
    installed: list[DunningPolicy] = []
    for default in core.default_policies():
        policy, created = DunningPolicy.objects.get_or_create(
            organisation=organisation,
            code=default.code,
            defaults={
                "name": default_name(default.name),
                "debtor_kind": default.debtor_kind.value,
                "minimum_amount": default.minimum_amount,
            },
        )
        if not created:
            continue
        DunningStep.objects.bulk_create(
            [
                DunningStep(
                    policy=policy,
                    position=index,
                    **{**step_fields_from_core(step), "name": default_name(step.name)},
                )
                for index, step in enumerate(default.steps)
            ]
        )
        if default.code == core.default_policy_code(default.debtor_kind) and not (
            DunningPolicy.objects.filter(
                organisation=organisation, debtor_kind=default.debtor_kind.value, is_default=True
            ).exists()
        ):
            policy.is_default = True
            policy.save(update_fields=["is_default"])
        installed.append(policy)
        event_record(
            name="dunning.policy.installed",
            organisation=organisation,
            actor=actor,
            subject=policy,
            after={"code": policy.code, "steps": len(default.steps)},
        )
    if installed:
        waiting = DunningState.objects.filter(organisation=organisation, pause="no_policy")
        dunning_refresh_invoices(invoice_ids=list(waiting.values_list("invoice_id", flat=True)))
    return installed


@dataclass
class StepInput:
    """One step as a form or API gives it; `pk` for an existing step."""

    fields: dict[str, Any]
    pk: int | None = None


@transaction.atomic
def dunning_policy_save(
    *,
    organisation: Organisation,
    actor: Any,
    policy: DunningPolicy | None,
    fields: dict[str, Any],
    steps: Sequence[StepInput],
) -> DunningPolicy:
    """Create or change a policy and its steps; the core validates the whole policy first.

    A bad policy is refused with a `ValidationError` naming the field (``steps[2].offset_days``).
    Steps that were carried out for an invoice cannot be removed (their history stays).
    """
    from betaald.dunning.policies import policy_to_core

    before = None
    if policy is None:
        policy = DunningPolicy(organisation=organisation)
    else:
        if policy.organisation_id != organisation.pk:
            raise ValidationError({"policy": _("unknown policy")})
        policy = DunningPolicy.objects.select_for_update().get(pk=policy.pk)
        before = {"name": policy.name, "steps": list(policy.steps.values_list("code", flat=True))}
    for name, value in fields.items():
        setattr(policy, name, value)
    existing = {s.pk: s for s in policy.steps.all()} if policy.pk else {}
    new_steps: list[DunningStep] = []
    for position, item in enumerate(steps):
        step = existing.get(item.pk) if item.pk else None
        if step is None:
            step = DunningStep()
        for name, value in item.fields.items():
            setattr(step, name, value)
        step.position = position
        new_steps.append(step)
    try:
        core.validate_policy(policy_to_core(policy, new_steps))
    except DomainError as error:
        raise ValidationError({error.field or "__all__": error_text(error)}) from error
    except ValueError as error:
        raise ValidationError({"__all__": str(error)}) from error
    policy.full_clean()
    if policy.is_default:
        DunningPolicy.objects.filter(
            organisation=organisation, debtor_kind=policy.debtor_kind, is_default=True
        ).exclude(pk=policy.pk).update(is_default=False)
    policy.save()
    kept = {s.pk for s in new_steps if s.pk}
    removed = [pk for pk in existing if pk not in kept]
    if StepExecution.objects.filter(step_id__in=removed).exists():
        raise ValidationError(
            {"steps": _("a step that was carried out for an invoice cannot be removed")}
        )
    DunningStep.objects.filter(pk__in=removed).delete()
    # Positions are free to change: park the kept steps first so codes never collide.
    for step in new_steps:
        step.policy = policy
        if step.pk:
            step.code = f"~{step.pk}"
            step.save(update_fields=["code"])
    for step, item in zip(new_steps, steps, strict=True):
        step.code = item.fields.get("code", step.code)
        step.full_clean(exclude=["policy"])
        step.save()
    event_record(
        name="dunning.policy.saved",
        organisation=organisation,
        actor=actor,
        subject=policy,
        before=before,
        after={"name": policy.name, "steps": [s.code for s in new_steps]},
    )
    transaction.on_commit(lambda: _refresh_policy_async(policy.pk))
    return policy


def _refresh_policy_async(policy_id: int) -> None:
    from betaald.dunning.tasks import dunning_refresh_policy

    dunning_refresh_policy.enqueue(policy_id)


@transaction.atomic
def customer_policy_set(*, customer: Customer, policy: DunningPolicy | None, actor: Any) -> None:
    """Give a customer its own policy (None: back to the default for its kind)."""
    if policy is not None and policy.organisation_id != customer.organisation_id:
        raise ValidationError({"policy": _("unknown policy")})
    before = CustomerDunning.objects.filter(customer=customer).values_list("policy_id", flat=True)
    old = before.first()
    if policy is None:
        CustomerDunning.objects.filter(customer=customer).delete()
    else:
        CustomerDunning.objects.update_or_create(customer=customer, defaults={"policy": policy})
    event_record(
        name="dunning.customer.policy_set",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        before={"policy": old},
        after={"policy": policy.pk if policy else None},
    )
    ids = list(DunningState.objects.filter(customer=customer).values_list("invoice_id", flat=True))
    dunning_refresh_invoices(invoice_ids=ids)


# --------------------------------------------------------------------------------- claim loading


@dataclass(slots=True)
class InvoiceRow:
    """The fields of an invoice the engine reads, loaded as a plain row (no model object)."""

    pk: int
    organisation_id: int
    customer_id: int
    status: str
    kind: str
    due_on: date | None
    number: str
    issued_on: date | None
    total: Decimal
    payment_reference: str
    organisation: Organisation
    customer: Customer


@dataclass(slots=True)
class StateRow:
    """A claim's `DunningState` as a plain row; `is_new` if it is not stored yet."""

    invoice_id: int
    organisation_id: int
    customer_id: int
    due_on: date
    policy_id: int | None = None
    open_amount: Decimal = ZERO
    level: int = 0
    last_step_id: int | None = None
    last_step_on: date | None = None
    next_action_on: date | None = None
    pause: str = ""
    fourteen_day_costs_due_from: date | None = None
    interest_from_on: date | None = None
    costs_claimed: Decimal = ZERO
    late_fee_charged: Decimal = ZERO
    is_new: bool = False


# The stored fields of a state, in `StateRow` order (after invoice, organisation, customer).
STATE_COLUMNS = (
    "due_on",
    "policy_id",
    "open_amount",
    "level",
    "last_step_id",
    "last_step_on",
    "next_action_on",
    "pause",
    "fourteen_day_costs_due_from",
    "interest_from_on",
    "costs_claimed",
    "late_fee_charged",
)


@dataclass
class Claim:
    """One invoice as the engine sees it, loaded in bulk for a chunk."""

    invoice: InvoiceRow
    open_amount: Decimal
    state: StateRow
    entry: PolicyEntry | None
    snapshot: core.ClaimSnapshot | None = None
    awaiting: bool = False
    needs_fix: bool = False
    executed_codes: set[str] = field(default_factory=set)
    terms: charging.AgreedTerms | None = None  # the customer's agreed clauses, if any

    @property
    def is_open(self) -> bool:
        return (
            self.invoice.status == InvoiceStatus.ISSUED
            and self.invoice.kind == InvoiceKind.INVOICE
            and self.invoice.due_on is not None
            and self.open_amount > 0
        )


def customer_credits(customer_ids: Iterable[int]) -> dict[int, Decimal]:
    """Money of each customer not applied to any invoice: unallocated payments and credit
    notes (a credit balance that covers an invoice pauses its dunning)."""
    ids = bulk.id_filter(set(customer_ids))
    credit: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for customer_id, amount in (
        Payment.objects.filter(customer_id__in=ids)
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values_list("customer_id", "total")
    ):
        credit[customer_id] += amount or ZERO
    for customer_id, amount in (
        Allocation.objects.filter(payment__customer_id__in=ids)
        .values("payment__customer_id")
        .annotate(total=Sum("amount"))
        .values_list("payment__customer_id", "total")
    ):
        credit[customer_id] -= amount or ZERO
    notes = with_balance(
        Invoice.objects.filter(
            customer_id__in=ids, kind=InvoiceKind.CREDIT_NOTE, status=InvoiceStatus.ISSUED
        )
    ).values_list("customer_id", "open_amount")  # type: ignore[misc]
    for customer_id, open_amount in notes:
        if open_amount is not None and open_amount < 0:
            credit[customer_id] += -open_amount
    return dict(credit)


INVOICE_COLUMNS = (
    "pk",
    "organisation_id",
    "customer_id",
    "status",
    "kind",
    "due_on",
    "number",
    "issued_on",
    "total",
    "payment_reference",
    "open_amount",
    "dunning__invoice_id",
    *(f"dunning__{name}" for name in STATE_COLUMNS),
)


def _load_claims(
    invoice_ids: Sequence[int], book: PolicyBook, *, with_terms: bool = True
) -> list[Claim]:
    """The claims of these invoices: one query for the invoices with their open amount and
    state (plain rows, no model objects), one each for steps done, holds, fix tasks, customer
    credit, customers, policy overrides and agreed terms — a fixed number per chunk."""
    ids = bulk.id_filter(invoice_ids)
    rows = list(
        with_balance(Invoice.objects.filter(pk__in=ids))
        .order_by("pk")
        .values_list(*INVOICE_COLUMNS)
    )
    if not rows:
        return []
    customer_ids = {row[2] for row in rows}
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=bulk.id_filter(customer_ids))}
    book.load_overrides(customer_ids)
    executions: dict[int, list[tuple[int, str, date]]] = defaultdict(list)
    for invoice_id, step_id, status, executed_on in StepExecution.objects.filter(
        invoice_id__in=ids
    ).values_list("invoice_id", "step_id", "status", "executed_on"):
        executions[invoice_id].append((step_id, status, executed_on))
    holds: dict[int | None, list[Hold]] = defaultdict(list)
    customer_holds: dict[int, list[Hold]] = defaultdict(list)
    customer_filter = bulk.id_filter(customer_ids)
    for hold in Hold.objects.filter(released_at__isnull=True).filter(
        Q(invoice_id__in=ids) | Q(customer_id__in=customer_filter, invoice__isnull=True)
    ):
        if hold.invoice_id is None:
            customer_holds[hold.customer_id].append(hold)
        else:
            holds[hold.invoice_id].append(hold)
    fixes = set(
        CallTask.objects.filter(
            invoice_id__in=ids, kind=TaskKind.FIX, closed_at__isnull=True
        ).values_list("invoice_id", flat=True)
    )
    credits = customer_credits(customer_ids)
    terms = charging.terms_by_customer(customer_ids) if with_terms else {}
    states: dict[int, StateRow] = {}
    for row in rows:
        if row[11] is not None:
            states[row[0]] = StateRow(row[0], row[1], row[2], *row[12:])
    _fourteen_day_posted(states)
    hold_cache: dict[tuple[int, ...], tuple[core.Hold, ...]] = {}
    claims: list[Claim] = []
    for row in rows:
        invoice_id, organisation_id, customer_id, _status, _kind, due_on = row[:6]
        customer = customers[customer_id]
        invoice = InvoiceRow(
            pk=invoice_id,
            organisation_id=organisation_id,
            customer_id=customer_id,
            status=row[3],
            kind=row[4],
            due_on=due_on,
            number=row[6],
            issued_on=row[7],
            total=row[8],
            payment_reference=row[9],
            organisation=book.organisation(organisation_id),
            customer=customer,
        )
        entry = book.for_customer(customer_id, organisation_id, customer.kind)
        state = states.get(invoice_id) or StateRow(
            invoice_id, organisation_id, customer_id, due_on or date.min, is_new=True
        )
        open_amount = Decimal(row[10] if row[10] is not None else ZERO)
        claim = Claim(
            invoice=invoice,
            open_amount=open_amount,
            state=state,
            entry=entry,
            terms=terms.get(customer_id),
        )
        claim.needs_fix = invoice_id in fixes
        if entry is not None and due_on is not None:
            level = 0
            done: list[core.StepDone] = []
            for step_id, status, executed_on in executions.get(invoice_id, ()):
                index = entry.step_index(step_id)
                if index is None:
                    continue
                code = entry.steps[index].code
                claim.executed_codes.add(code)
                if status == ExecutionStatus.AWAITING_APPROVAL:
                    claim.awaiting = True
                    continue
                level = max(level, index + 1)
                if status == ExecutionStatus.DONE:
                    done.append(core.StepDone(code, executed_on))
            active = holds.get(invoice_id, []) + customer_holds.get(customer_id, [])
            core_holds: tuple[core.Hold, ...] = ()
            if active:
                key = tuple(h.pk for h in active)
                if key not in hold_cache:
                    hold_cache[key] = tuple(
                        core.Hold(core.HoldKind(h.kind), until=h.until, starts_on=h.starts_on)
                        for h in active
                    )
                core_holds = hold_cache[key]
            claim.snapshot = core.ClaimSnapshot(
                due_on=due_on,
                open_amount=open_amount,
                level=level,
                done=tuple(sorted(done, key=lambda d: d.on)) if len(done) > 1 else tuple(done),
                holds=core_holds,
                customer_credit=credits.get(customer_id, ZERO),
                fourteen_day_costs_due_from=state.fourteen_day_costs_due_from,
            )
        claims.append(claim)
    return claims


def _fourteen_day_posted(states: dict[int, StateRow]) -> None:
    """Move the 14-dagenbrief's term to the day the letter was really posted, when the outbox
    records a later posting day than the run day (a print batch posted the next day): costs
    are never charged before the term of the letter as posted (art. 6:96 lid 6 BW)."""
    from betaald.letters.models import Message

    waiting = [i for i, s in states.items() if s.fourteen_day_costs_due_from is not None]
    if not waiting:
        return
    posted: dict[int, date] = {}
    for invoice_id, posted_on in Message.objects.filter(
        invoices__in=waiting,
        kind=core.MessageKind.FOURTEEN_DAY_LETTER.value,
        channel=core.Channel.LETTER.value,
        posted_on__isnull=False,
    ).values_list("invoices", "posted_on"):
        if invoice_id in states and posted_on is not None:
            posted[invoice_id] = max(posted_on, posted.get(invoice_id, posted_on))
    for invoice_id, posted_on in posted.items():
        due_from = charging.fourteen_day_deadline(posted_on).costs_due_from
        state = states[invoice_id]
        if (
            state.fourteen_day_costs_due_from is None
            or due_from > state.fourteen_day_costs_due_from
        ):
            state.fourteen_day_costs_due_from = due_from


DECISIONS_KEPT = 100_000  # answers remembered per policy and run (a bound on memory)


def _decision(entry: PolicyEntry, snapshot: core.ClaimSnapshot, what: str, day: date | None) -> Any:
    """`core.next_step` (`what` = "step") or `core.next_action_on` ("next") for a claim.

    Without holds, with an open amount above the policy's threshold and not covered by a
    credit balance, both answers depend only on the due date, the level, the steps done and
    the 14-dagenbrief's term: claims alike share one answer per run (a backlog of a million
    claims has a few hundred distinct ones). Any other claim asks the core itself."""
    policy = entry.policy
    amount = snapshot.open_amount
    if (
        snapshot.holds
        or amount <= 0
        or amount < policy.minimum_amount
        or snapshot.customer_credit >= amount
    ):
        return _ask_core(snapshot, policy, what, day)
    key = (
        what,
        day,
        snapshot.due_on,
        snapshot.level,
        snapshot.done,
        snapshot.fourteen_day_costs_due_from,
    )
    cache = entry.decisions
    try:
        return cache[key]
    except KeyError:
        if len(cache) >= DECISIONS_KEPT:
            cache.clear()
        answer = cache[key] = _ask_core(snapshot, policy, what, day)
        return answer


def _ask_core(
    snapshot: core.ClaimSnapshot, policy: core.Policy, what: str, day: date | None
) -> Any:
    if what == "step":
        assert day is not None
        return core.next_step(snapshot, policy, day)
    return core.next_action_on(snapshot, policy, processed_on=day)


def _settle_state(claim: Claim, today: date | None, *, processed: bool = False) -> None:
    """Recompute `next_action_on` and the pause of a claim's state from its snapshot."""
    state = claim.state
    state.open_amount = claim.open_amount
    state.due_on = claim.invoice.due_on or state.due_on
    state.policy_id = claim.entry.model.pk if claim.entry else None
    if not claim.is_open:
        state.next_action_on = None
        state.pause = core.Pause.SETTLED.value
        return
    if claim.entry is None or claim.snapshot is None:
        state.next_action_on = None
        state.pause = "no_policy"
        return
    state.level = claim.snapshot.level
    if claim.awaiting:
        state.next_action_on = None
        state.pause = "awaiting_approval"
        return
    if claim.needs_fix:
        state.next_action_on = None
        state.pause = "needs_fix"
        return
    policy = claim.entry.policy
    state.next_action_on = _decision(
        claim.entry, claim.snapshot, "next", today if processed else None
    )
    reason = core.pause_reason(claim.snapshot, policy, today) if today else None
    state.pause = reason.value if reason else ""


def _state_values(state: StateRow) -> tuple[Any, ...]:
    return (
        state.due_on,
        state.policy_id,
        state.open_amount,
        state.level,
        state.last_step_id,
        state.last_step_on,
        state.next_action_on,
        state.pause,
        state.fourteen_day_costs_due_from,
        state.interest_from_on,
        state.costs_claimed,
        state.late_fee_charged,
    )


def _save_states(states: Iterable[StateRow]) -> None:
    """Write states as plain rows: new ones inserted (a concurrent insert wins), the others
    updated in one statement."""
    now = timezone.now()
    new: list[tuple[Any, ...]] = []
    old: list[tuple[Any, ...]] = []
    for state in states:
        if state.is_new:
            new.append(
                (
                    state.invoice_id,
                    state.organisation_id,
                    state.customer_id,
                    *_state_values(state),
                    now,
                )
            )
            state.is_new = False
        else:
            old.append((state.invoice_id, *_state_values(state), now))
    if new:
        bulk.insert_rows(
            DunningState,
            ["invoice_id", "organisation_id", "customer_id", *STATE_COLUMNS, "updated_at"],
            new,
            ignore_conflicts=True,
        )
    if old:
        bulk.update_rows(DunningState, [*STATE_COLUMNS, "updated_at"], old)


# ----------------------------------------------------------------------------------- refresh


@transaction.atomic
def dunning_refresh_invoices(*, invoice_ids: Iterable[int], today: date | None = None) -> int:
    """Recompute the dunning state of these invoices after a payment, credit note, dispute,
    hold, policy change or a newly issued invoice. Returns how many states were written.

    A partial payment keeps the level and updates the amounts; full payment or a credit
    note ends all follow-up: `next_action_on` becomes None and open tasks are closed.
    Invoices that are settled take a short path (on the bank booking's hot path): their
    states are closed with plain rows, without loading them as claims.
    """
    ids = sorted(set(invoice_ids))
    if not ids:
        return 0
    today = today or timezone.localdate()
    book: PolicyBook | None = None
    written = 0
    for start in range(0, len(ids), CHUNK_SIZE * 10):
        part = ids[start : start + CHUNK_SIZE * 10]
        settled, rest, organisation_ids = _settled_and_rest(part)
        if book is None or not organisation_ids <= book.organisation_ids:
            book = PolicyBook((book.organisation_ids if book else set()) | organisation_ids)
        written += _close_settled(settled, book)
        for at in range(0, len(rest), CHUNK_SIZE):
            claims = _load_claims(rest[at : at + CHUNK_SIZE], book, with_terms=False)
            relevant = [
                c
                for c in claims
                if c.invoice.kind == InvoiceKind.INVOICE
                and c.invoice.status == InvoiceStatus.ISSUED
                and c.invoice.due_on is not None
            ]
            for claim in relevant:
                _settle_state(claim, today)
            _save_states([c.state for c in relevant])
            _close_follow_up([c.invoice.pk for c in relevant if not c.is_open])
            written += len(relevant)
    return written


# (invoice, organisation, customer, customer kind, due date, open amount, has a state)
SettledRow = tuple[int, int, int, str, date, Decimal, int | None]


def _settled_and_rest(ids: list[int]) -> tuple[list[SettledRow], list[int], set[int]]:
    """Split invoices into the settled ones (issued, with a due date, nothing open: one
    query, plain rows) and the rest; with the organisations of all of them."""
    settled: list[SettledRow] = list(
        with_balance(
            Invoice.objects.filter(
                pk__in=bulk.id_filter(ids),
                status=InvoiceStatus.ISSUED,
                kind=InvoiceKind.INVOICE,
                due_on__isnull=False,
            )
        )
        .filter(open_amount__lte=0)  # type: ignore[misc]
        .values_list(
            "pk",
            "organisation_id",
            "customer_id",
            "customer__kind",
            "due_on",
            "open_amount",
            "dunning__invoice_id",
        )
    )
    done = {row[0] for row in settled}
    rest = [i for i in ids if i not in done]
    organisation_ids = {row[1] for row in settled}
    if rest:
        organisation_ids |= set(
            Invoice.objects.filter(pk__in=bulk.id_filter(rest))
            .values_list("organisation_id", flat=True)
            .distinct()
        )
    return settled, rest, organisation_ids


def _close_settled(rows: list[SettledRow], book: PolicyBook) -> int:
    """What `_settle_state` does to a settled claim, as plain rows: the amounts, the due date
    and the policy updated, no next action, paused as settled; open tasks closed and steps
    awaiting approval rejected."""
    if not rows:
        return 0
    book.load_overrides(row[2] for row in rows)
    states = []
    for invoice_id, organisation_id, customer_id, kind, due_on, open_amount, has_state in rows:
        entry = book.for_customer(customer_id, organisation_id, kind)
        states.append(
            StateRow(
                invoice_id,
                organisation_id,
                customer_id,
                due_on,
                policy_id=entry.model.pk if entry is not None else None,
                open_amount=open_amount,
                pause=core.Pause.SETTLED.value,
                is_new=has_state is None,
            )
        )
    now = timezone.now()
    stored = [
        (s.invoice_id, s.due_on, s.policy_id, s.open_amount, None, s.pause, now)
        for s in states
        if not s.is_new
    ]
    _save_states([s for s in states if s.is_new])
    bulk.update_rows(
        DunningState,
        ["due_on", "policy_id", "open_amount", "next_action_on", "pause", "updated_at"],
        stored,
    )
    _close_follow_up([s.invoice_id for s in states])
    return len(states)


def _close_follow_up(settled: list[int]) -> None:
    """A paid or credited invoice needs no call and no approval any more."""
    if not settled:
        return
    CallTask.objects.filter(invoice_id__in=bulk.id_filter(settled), closed_at__isnull=True).update(
        closed_at=timezone.now(), outcome=TaskOutcome.DONE, note=_("Paid or credited.")
    )
    StepExecution.objects.filter(
        invoice_id__in=bulk.id_filter(settled), status=ExecutionStatus.AWAITING_APPROVAL
    ).update(status=ExecutionStatus.REJECTED, reason=_("Paid or credited."))


# Invoices committed out of id order (two issuers at once) are still found: the scan starts
# this many ids below the highest id seen at the previous sync.
SYNC_ID_MARGIN = 10_000


def dunning_states_create_missing(
    *,
    organisation: Organisation | None = None,
    today: date | None = None,
    from_id: int | None = None,
) -> tuple[int, int | None]:
    """Create the state of every issued invoice that has none yet.

    With `from_id` only invoices with an id from there on are looked at (a range scan on the
    primary key), which is what the daily run passes: the lowest id that can have been issued
    since the previous run (its oldest draft, or its highest id minus a margin). Without it,
    one anti-join over all invoices. Returns (states created, the `from_id` for the next run).
    """
    missing = Invoice.objects.filter(
        status=InvoiceStatus.ISSUED,
        kind=InvoiceKind.INVOICE,
        due_on__isnull=False,
        dunning__isnull=True,
    )
    invoices = Invoice.objects.all()
    if organisation is not None:
        missing = missing.filter(organisation=organisation)
        invoices = invoices.filter(organisation=organisation)
    if from_id is not None:
        missing = missing.filter(pk__gte=from_id)
    highest = invoices.order_by("-pk").values_list("pk", flat=True).first()
    oldest_draft = (
        invoices.filter(status=InvoiceStatus.DRAFT, pk__gte=from_id or 0)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    candidates = [c for c in (oldest_draft, (highest or 0) - SYNC_ID_MARGIN) if c is not None]
    next_from = max(min(candidates), 0) if highest is not None else from_id
    ids = list(missing.values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK_SIZE * 10):
        dunning_refresh_invoices(invoice_ids=ids[start : start + CHUNK_SIZE * 10], today=today)
    return len(ids), next_from


# ---------------------------------------------------------------------------------- the run


@dataclass
class RunReport:
    """Counters of one run, written to `DunningRun` as JSON."""

    processed: int = 0
    executed: int = 0
    messages: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    totals: dict[str, Decimal] = field(
        default_factory=lambda: {"late_fees": ZERO, "interest": ZERO, "costs": ZERO, "vat": ZERO}
    )
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, step: str, what: str, n: int = 1) -> None:
        self.counts.setdefault(step, {}).setdefault(what, 0)
        self.counts[step][what] += n

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def merge(self, other: RunReport) -> None:
        """Add the counters of another worker's part of the same run."""
        self.processed += other.processed
        self.executed += other.executed
        self.messages += other.messages
        for step, counts in other.counts.items():
            for what, n in counts.items():
                self.count(step, what, n)
        for code, n in other.skipped.items():
            self.skipped[code] = self.skipped.get(code, 0) + n
        for key, amount in other.totals.items():
            self.totals[key] = self.totals.get(key, ZERO) + amount
        self.errors += other.errors
        for text in other.warnings:
            self.warn(text)

    def store(self, run: DunningRun) -> None:
        run.processed = self.processed
        run.executed = self.executed
        run.messages = self.messages
        run.counts = self.counts
        run.skipped = self.skipped
        run.totals = {key: str(value) for key, value in self.totals.items()}
        run.errors = self.errors[:1000]
        run.warnings = self.warnings


@dataclass
class Group:
    """The invoices of one customer reaching one step on one day: one message."""

    customer: Customer
    entry: PolicyEntry
    index: int
    claims: list[Claim]

    @property
    def step(self) -> core.Step:
        return self.entry.policy.steps[self.index]

    @property
    def step_model(self) -> DunningStep:
        return self.entry.steps[self.index]


@dataclass(slots=True)
class ExecutionRow:
    """A new `StepExecution` as a plain row (written with COPY, no model object)."""

    organisation_id: int
    invoice_id: int
    customer_id: int
    step_id: int
    run_id: int | None
    status: str
    executed_on: date
    principal: Decimal
    channels: list[str] = field(default_factory=list)
    group_key: str = ""
    interest: Decimal = ZERO
    costs: Decimal = ZERO
    costs_vat: Decimal = ZERO
    late_fee: Decimal = ZERO
    reason: str = ""

    pk = None  # not stored yet (an approved `StepExecution` has one)


EXECUTION_COLUMNS = (
    "organisation_id",
    "invoice_id",
    "customer_id",
    "step_id",
    "run_id",
    "status",
    "executed_on",
    "principal",
    "channels",
    "group_key",
    "interest",
    "costs",
    "costs_vat",
    "late_fee",
    "reason",
    "created_at",
)


@dataclass(slots=True)
class StepEvent:
    """The audit event `dunning.step.executed` of one message, written as a plain row."""

    organisation: Organisation
    actor: Any
    customer_id: int
    invoice_id: int
    step: DunningStep
    after: dict[str, Any]


def _event_rows(events: list[StepEvent]) -> tuple[list[str], list[list[Any]]]:
    """The rows of `events`: every field as `audit.services.event_build` sets it (built once
    per organisation and actor), then the customer, invoice, step and details of each."""
    names = bulk.concrete_names(Event)
    attnames = [Event._meta.get_field(n).attname for n in names]  # type: ignore[union-attr]
    at = {name: attnames.index(name) for name in ("customer_id", "invoice_id", "subject_id")}
    after_at = attnames.index("after")
    stamp_at = attnames.index("occurred_at")
    now = timezone.now()
    templates: dict[tuple[int, int], list[Any]] = {}
    rows = []
    for event in events:
        key = (event.organisation.pk, id(event.actor))
        template = templates.get(key)
        if template is None:
            built = event_build(
                name="dunning.step.executed",
                organisation=event.organisation,
                actor=event.actor,
                subject=event.step,
            )
            template = templates[key] = [getattr(built, name) for name in attnames]
            template[stamp_at] = now
        row = list(template)
        row[at["customer_id"]] = event.customer_id
        row[at["invoice_id"]] = event.invoice_id
        row[at["subject_id"]] = str(event.step.pk)
        row[after_at] = event.after
        rows.append(row)
    return attnames, rows


@dataclass
class Plan:
    """The writes of one chunk, made in bulk after the decisions."""

    executions: list[ExecutionRow | StepExecution] = field(default_factory=list)
    drafts: list[Any] = field(default_factory=list)
    tasks: list[CallTask] = field(default_factory=list)
    events: list[StepEvent] = field(default_factory=list)
    statuses: list[tuple[Customer, str, str]] = field(default_factory=list)
    states: list[StateRow] = field(default_factory=list)

    def merge(self, other: Plan) -> None:
        self.executions += other.executions
        self.drafts += other.drafts
        self.tasks += other.tasks
        self.events += other.events
        self.statuses += other.statuses
        self.states += other.states


class RunRolledBack(Exception):
    """Raised at the end of a dry run to undo its writes."""


def reachable_channels(
    customer: Customer, ap_email: str, has_phone_contact: bool
) -> frozenset[core.Channel]:
    """The channels a customer can be reached on (missing email -> a letter, per fallback)."""
    found: set[core.Channel] = set()
    if ap_email or customer.email:
        found.add(core.Channel.EMAIL)
    if (customer.postal_street or customer.street) and (customer.postal_city or customer.city):
        found.add(core.Channel.LETTER)
    if customer.phone:
        found.add(core.Channel.SMS)
    if customer.phone or has_phone_contact:
        found.add(core.Channel.CALL)
    return frozenset(found)


def _contacts(customer_ids: Iterable[int]) -> tuple[dict[int, str], set[int]]:
    emails: dict[int, str] = {}
    phones: set[int] = set()
    for customer_id, role, email, phone in (
        Contact.objects.filter(customer_id__in=bulk.id_filter(set(customer_ids)))
        .order_by("customer_id", "name", "id")
        .values_list("customer_id", "role", "email", "phone")
    ):
        if role == ContactRole.ACCOUNTS_PAYABLE and email:
            emails.setdefault(customer_id, email)
        if phone:
            phones.add(customer_id)
    return emails, phones


def invoice_problems(
    claim: Claim, draft_credit_ids: set[int], channels: Sequence[Any]
) -> list[str]:
    """The checks before the first reminder: the amount is right (no credit note pending),
    the customer can be reached, the payment instructions are complete."""
    problems = []
    if claim.invoice.pk in draft_credit_ids:
        problems.append(_("A credit note for this invoice is still a draft."))
    if not channels:
        problems.append(_("The customer has no reachable email or postal address."))
    if not claim.invoice.payment_reference:
        problems.append(_("The invoice has no payment reference (betalingskenmerk)."))
    if not claim.invoice.organisation.iban:
        problems.append(_("The organisation has no IBAN to pay to."))
    return problems


def dunning_run(
    *,
    today: date,
    organisation: Organisation | None = None,
    dry_run: bool = False,
    actor: Any = None,
    run: DunningRun | None = None,
    chunk_size: int = CHUNK_SIZE,
    workers: int = 1,
) -> DunningRun:
    """The daily run: carry out every step that is due on `today`; returns the run report.

    Safe to run twice and concurrently. With `dry_run` everything is computed and counted,
    then rolled back; only the report is kept. With `workers` > 1 (PostgreSQL, outside a
    transaction, not a dry run) the due claims are split by customer over that many worker
    processes (customer id modulo `workers`), each with its own connection; their reports are
    added up into this run's (see `_run_parallel`).
    """
    if run is None:
        run = DunningRun.objects.create(
            organisation=organisation,
            run_on=today,
            is_dry_run=dry_run,
            started_by=acting_user(actor),
        )
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    charging.reload_calendar_data()  # rates and holidays as the administrator keeps them now
    report = RunReport()
    try:
        if dry_run:
            try:
                with transaction.atomic():
                    _run_all(run, report, today, organisation, actor, chunk_size, 1, dry_run=True)
                    raise RunRolledBack
            except RunRolledBack:
                pass
        else:
            _run_all(run, report, today, organisation, actor, chunk_size, workers, dry_run=False)
    except Exception as error:
        logger.exception("dunning run %s failed", run.pk)
        report.errors.append({"invoice": "", "error": f"run failed: {error}"})
        run.status = RunStatus.FAILED
    else:
        run.status = RunStatus.DONE
    report.store(run)
    run.finished_at = timezone.now()
    run.save()
    return run


def _due(
    today: date, organisation: Organisation | None, part: tuple[int, int] | None = None
) -> Any:
    due = DunningState.objects.filter(next_action_on__lte=today)
    if organisation is not None:
        due = due.filter(organisation=organisation)
    if part is not None:
        index, parts = part
        due = due.alias(part=Mod("customer_id", parts)).filter(part=index)
    return due


def _run_all(
    run: DunningRun,
    report: RunReport,
    today: date,
    organisation: Organisation | None,
    actor: Any,
    chunk_size: int,
    workers: int,
    *,
    dry_run: bool,
) -> None:
    previous = (
        DunningRun.objects.filter(
            organisation=organisation,
            status=RunStatus.DONE,
            is_dry_run=False,
            synced_from_id__isnull=False,
        )
        .order_by("-pk")
        .values_list("synced_from_id", flat=True)
        .first()
    )
    _created, run.synced_from_id = dunning_states_create_missing(
        organisation=organisation, today=today, from_id=previous
    )
    run.total = _due(today, organisation).count()
    DunningRun.objects.filter(pk=run.pk).update(total=run.total)
    if (
        workers > 1
        and not dry_run
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    ):
        _run_parallel(run, report, today, organisation, actor, chunk_size, workers)
        return
    _run_part(run, report, today, organisation, actor, chunk_size, dry_run=dry_run)


def _run_part(
    run: DunningRun,
    report: RunReport,
    today: date,
    organisation: Organisation | None,
    actor: Any,
    chunk_size: int,
    *,
    dry_run: bool,
    part: tuple[int, int] | None = None,
) -> None:
    """Work through the due claims chunk by chunk (one transaction each); with `part`
    (index, parts) only those of the customers whose id modulo `parts` is `index`."""
    book = PolicyBook([organisation.pk] if organisation is not None else None)
    last: tuple[date, int] = (date.min, 0)
    while True:
        with transaction.atomic():
            due = _due(today, organisation, part).filter(
                Q(next_action_on__gt=last[0]) | Q(next_action_on=last[0], invoice_id__gt=last[1])
            )
            rows = list(
                due.order_by("next_action_on", "invoice_id").values_list(
                    "next_action_on", "invoice_id", "customer_id"
                )[:chunk_size]
            )
            if not rows:
                break
            last = (rows[-1][0], rows[-1][1])
            customers = _lock_customers(sorted({row[2] for row in rows}), dry_run=dry_run)
            # All due invoices of these customers, so that they share one message per step.
            mine = _due(today, organisation).filter(customer_id__in=bulk.id_filter(customers))
            if not dry_run:
                mine = mine.select_for_update(skip_locked=True)
            ids = list(mine.order_by("invoice_id").values_list("invoice_id", flat=True))
            if ids:
                _run_chunk(ids, today, run, book, report, actor)
        report.processed += len(ids)
        if dry_run:
            continue
        if part is None:
            DunningRun.objects.filter(pk=run.pk).update(processed=report.processed)
        else:
            DunningRun.objects.filter(pk=run.pk).update(processed=F("processed") + len(ids))


def _run_parallel(
    run: DunningRun,
    report: RunReport,
    today: date,
    organisation: Organisation | None,
    actor: Any,
    chunk_size: int,
    workers: int,
) -> None:
    """Run `workers` forked processes, each on the customers whose id modulo `workers` is its
    index, and add their reports up. Parts never share a customer, so every customer's
    invoices of the day still go into one message; the advisory locks and unique keys keep
    two whole runs at once safe as before. A worker that fails fails the run (its committed
    chunks stay, as after a crash; the next run finishes the rest)."""
    import multiprocessing

    from django.db import connections

    context = multiprocessing.get_context("fork")
    connections.close_all()  # every process opens its own connection
    started = []
    for index in range(workers):
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(
            target=_run_worker,
            args=(writer, run, today, organisation, actor, chunk_size, (index, workers)),
            name=f"dunning-run-{run.pk}-{index}",
        )
        process.start()
        writer.close()
        started.append((reader, process))
    failures = []
    for reader, process in started:
        try:
            outcome, value = reader.recv()
        except EOFError:
            outcome, value = "error", "the worker stopped without a report"
        reader.close()
        process.join()
        if outcome == "ok":
            report.merge(value)
        else:
            failures.append(f"{process.name}: {value} (exit code {process.exitcode})")
    DunningRun.objects.filter(pk=run.pk).update(processed=report.processed)
    if failures:
        raise RuntimeError("; ".join(failures))


def _run_worker(
    writer: Any,
    run: DunningRun,
    today: date,
    organisation: Organisation | None,
    actor: Any,
    chunk_size: int,
    part: tuple[int, int],
) -> None:
    """One forked worker of `_run_parallel`: its part of the run, its report to the parent."""
    from django.db import connections

    try:
        report = RunReport()
        _run_part(run, report, today, organisation, actor, chunk_size, dry_run=False, part=part)
        writer.send(("ok", report))
    except BaseException as error:  # reported to the parent, which fails the run
        logger.exception("dunning run %s: worker %s failed", run.pk, part[0])
        writer.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connections.close_all()
        writer.close()


def _lock_customers(customer_ids: list[int], *, dry_run: bool) -> list[int]:
    """The customers this run may work on now: on PostgreSQL a transaction-scoped advisory
    lock per customer, so two concurrent runs never split one customer's invoices of a day
    over two messages; a customer locked by the other run is left to it."""
    if dry_run or connection.vendor != "postgresql" or not customer_ids:
        return customer_ids
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c FROM unnest(%s::bigint[]) AS c "
            "WHERE pg_try_advisory_xact_lock(%s, (c %% 2147483647)::int)",
            [customer_ids, ADVISORY_LOCK_SPACE],
        )
        return [row[0] for row in cursor.fetchall()]


def _run_chunk(
    ids: list[int],
    today: date,
    run: DunningRun,
    book: PolicyBook,
    report: RunReport,
    actor: Any,
) -> None:
    """Decide, plan and write one chunk. Planning is per claim and per group, so one broken
    claim is reported and skipped; if the bulk write fails, the groups are written one by one
    to find the broken one."""
    claims = _load_claims(ids, book, with_terms=False)
    groups: dict[tuple[int, int], Group] = {}
    plan = Plan()
    broken: dict[int, str] = {}
    draft_credits = set(
        Invoice.objects.filter(
            credited_invoice_id__in=bulk.id_filter(ids),
            kind=InvoiceKind.CREDIT_NOTE,
            status=InvoiceStatus.DRAFT,
        ).values_list("credited_invoice_id", flat=True)
    )
    ap_emails, phone_contacts = _contacts(c.invoice.customer_id for c in claims)
    for claim in claims:
        own = Plan()
        try:
            decided = _decide(claim, today, run, report, own)
        except Exception as error:  # one broken claim is reported and skipped
            _broken([claim], error, report, broken)
            continue
        plan.merge(own)
        if decided is None:
            continue
        entry, chosen = decided
        key = (claim.invoice.customer_id, entry.steps[chosen.index].pk)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(claim.invoice.customer, entry, chosen.index, [])
        group.claims.append(claim)
    # The agreed terms matter only where a step charges something or a 14-dagenbrief announces
    # the costs: read them once per chunk for those customers alone.
    charging_customers = {
        g.customer.pk
        for g in groups.values()
        if g.step.charges.claims_anything or g.step.is_fourteen_day_letter
    }
    if charging_customers:
        terms = charging.terms_by_customer(charging_customers)
        for group in groups.values():
            for claim in group.claims:
                claim.terms = terms.get(group.customer.pk)
    group_plans: list[tuple[Group, Plan]] = []
    for group in groups.values():
        own = Plan()
        try:
            _plan_group(
                group, today, run, report, own, actor, draft_credits, ap_emails, phone_contacts
            )
        except Exception as error:
            _broken(group.claims, error, report, broken)
            continue
        group_plans.append((group, own))
    whole = Plan()
    whole.merge(plan)
    for _group, own in group_plans:
        whole.merge(own)
    try:
        with transaction.atomic():
            _write(whole, run, report, today)
    except Exception:
        logger.warning("dunning: bulk write failed, writing group by group", exc_info=True)
        _write(plan, run, report, today)
        for group, own in group_plans:
            try:
                with transaction.atomic():
                    _write(own, run, report, today)
            except Exception as error:
                _broken(group.claims, error, report, broken)
    if broken:
        DunningState.objects.filter(invoice_id__in=list(broken)).update(
            next_action_on=today + ONE_DAY, pause="error"
        )


def _broken(
    claims: list[Claim], error: Exception, report: RunReport, broken: dict[int, str]
) -> None:
    """Report claims that could not be processed; they are retried the next day."""
    for claim in claims:
        logger.warning("dunning: invoice %s skipped: %s", claim.invoice.pk, error)
        broken[claim.invoice.pk] = str(error)
        report.errors.append(
            {
                "invoice": str(claim.invoice.pk),
                "number": claim.invoice.number,
                "error": f"{type(error).__name__}: {error}",
            }
        )


def _decide(
    claim: Claim, today: date, run: DunningRun, report: RunReport, plan: Plan
) -> tuple[PolicyEntry, core.NextStep] | None:
    """Ask the core for the claim's step today; record skipped and awaiting steps."""
    if not claim.is_open or claim.entry is None or claim.snapshot is None:
        _settle_state(claim, today, processed=True)
        plan.states.append(claim.state)
        return None
    if claim.awaiting or claim.needs_fix:
        _settle_state(claim, today, processed=True)
        plan.states.append(claim.state)
        return None
    entry = claim.entry
    chosen: core.NextStep | None = _decision(entry, claim.snapshot, "step", today)
    if chosen is None:
        _settle_state(claim, today, processed=True)
        plan.states.append(claim.state)
        return None
    missed = str(MISSED_DAYS)
    for skipped in chosen.skipped:
        model = entry.steps[entry.policy.steps.index(skipped)]
        if skipped.code in claim.executed_codes:
            continue
        plan.executions.append(
            ExecutionRow(
                organisation_id=claim.invoice.organisation_id,
                invoice_id=claim.invoice.pk,
                customer_id=claim.invoice.customer_id,
                step_id=model.pk,
                run_id=run.pk,
                status=ExecutionStatus.SKIPPED,
                executed_on=today,
                principal=claim.open_amount,
                reason=missed,
            )
        )
        report.skipped[skipped.code] = report.skipped.get(skipped.code, 0) + 1
    if chosen.step.needs_approval:
        plan.executions.append(
            ExecutionRow(
                organisation_id=claim.invoice.organisation_id,
                invoice_id=claim.invoice.pk,
                customer_id=claim.invoice.customer_id,
                step_id=entry.steps[chosen.index].pk,
                run_id=run.pk,
                status=ExecutionStatus.AWAITING_APPROVAL,
                executed_on=today,
                principal=claim.open_amount,
            )
        )
        report.count(chosen.step.code, "awaiting_approval")
        claim.snapshot = replace(claim.snapshot, level=chosen.index)
        claim.awaiting = True
        _settle_state(claim, today, processed=True)
        plan.states.append(claim.state)
        return None
    return entry, chosen


def _claim_input(claim: Claim) -> charging.ClaimInput:
    return charging.ClaimInput(
        invoice_id=claim.invoice.pk,
        due_on=claim.invoice.due_on or date.min,
        principal=claim.open_amount,
        interest_from_on=claim.state.interest_from_on,
        fourteen_day_costs_due_from=claim.state.fourteen_day_costs_due_from,
        late_fee_charged=claim.state.late_fee_charged,
    )


def _plan_group(
    group: Group,
    today: date,
    run: DunningRun | None,
    report: RunReport,
    plan: Plan,
    actor: Any,
    draft_credits: set[int],
    ap_emails: dict[int, str],
    phone_contacts: set[int],
    *,
    approved: dict[int, StepExecution] | None = None,
) -> None:
    """Plan one message (and its steps, tasks, state changes) for a customer's invoices."""
    customer = group.customer
    step = group.step
    step_model = group.step_model
    organisation = group.claims[0].invoice.organisation
    reachable = reachable_channels(
        customer, ap_emails.get(customer.pk, ""), customer.pk in phone_contacts
    )
    channels = core.resolve_channels(step, reachable)
    ready: list[Claim] = []
    for claim in group.claims:
        assert claim.snapshot is not None
        first_message = not claim.snapshot.done and step.kind is not core.MessageKind.CALL
        problems = invoice_problems(claim, draft_credits, channels) if first_message else []
        if not channels and not problems:
            problems = [_("The customer cannot be reached on any channel of this step.")]
        if problems:
            plan.tasks.append(_fix_task(claim, problems, today))
            claim.needs_fix = True
            _settle_state(claim, today, processed=True)
            plan.states.append(claim.state)
            report.count(step.code, "needs_fix")
            continue
        ready.append(claim)
    if not ready:
        return
    debtor_kind = core.DebtorKind(group.entry.policy.debtor_kind)
    vat_applies = not organisation.can_deduct_vat
    charge = charging.group_charges(
        step,
        [_claim_input(c) for c in ready],
        today=today,
        debtor_kind=debtor_kind,
        vat_applies=vat_applies,
        terms=ready[0].terms,
    )
    for warning in charge.warnings:
        report.warn(warning)
    deadline = None
    if step.is_fourteen_day_letter:
        deadline = charging.fourteen_day_deadline(today)
    context = _context(group, ready, charge, channels, today, deadline, vat_applies, debtor_kind)
    group_key = f"dunning:{customer.pk}:{step_model.pk}:{today.isoformat()}"
    by_invoice = {item.invoice_id: item for item in charge.invoices}
    for claim in ready:
        item = by_invoice[claim.invoice.pk]
        fields: dict[str, Any] = {
            "status": ExecutionStatus.DONE,
            "executed_on": today,
            "channels": [c.value for c in channels],
            "group_key": group_key,
            "principal": item.principal,
            "interest": item.interest,
            "costs": item.costs,
            "costs_vat": item.costs_vat,
            "late_fee": item.late_fee,
        }
        execution: ExecutionRow | StepExecution
        if approved is not None:
            execution = approved[claim.invoice.pk]
            for name, value in fields.items():
                setattr(execution, name, value)
        else:
            execution = ExecutionRow(
                organisation_id=claim.invoice.organisation_id,
                invoice_id=claim.invoice.pk,
                customer_id=customer.pk,
                step_id=step_model.pk,
                run_id=run.pk if run is not None else None,
                **fields,
            )
        plan.executions.append(execution)
        new_costs = max(item.costs - claim.state.costs_claimed, ZERO)
        report.totals["costs"] += new_costs
        report.totals["vat"] += item.costs_vat if new_costs else ZERO
        report.totals["interest"] += item.interest
        report.totals["late_fees"] += item.late_fee
        state = claim.state
        state.costs_claimed = max(state.costs_claimed, item.costs)
        state.late_fee_charged += item.late_fee
        if item.interest_from is not None and state.interest_from_on is None:
            state.interest_from_on = item.interest_from
        if deadline is not None:
            state.fourteen_day_costs_due_from = deadline.costs_due_from
        state.last_step_id = step_model.pk
        state.last_step_on = today
        assert claim.snapshot is not None
        chosen = core.NextStep(step=step, index=group.index, scheduled_on=today)
        claim.snapshot = core.advance(claim.snapshot, chosen, today)
        if deadline is not None:
            claim.snapshot = core.with_fourteen_day_term(claim.snapshot, deadline.costs_due_from)
        _settle_state(claim, today, processed=True)
        plan.states.append(state)
        report.executed += 1
        report.count(step.code, "invoices")
    _plan_outputs(group, ready, channels, context, group_key, today, report, plan, actor, charge)


def _plan_outputs(
    group: Group,
    ready: list[Claim],
    channels: Sequence[core.Channel],
    context: dict[str, Any],
    group_key: str,
    today: date,
    report: RunReport,
    plan: Plan,
    actor: Any,
    charge: charging.GroupCharge,
) -> None:
    from betaald.letters.services import MessageDraft

    customer = group.customer
    step = group.step
    organisation = ready[0].invoice.organisation
    invoices = [c.invoice for c in ready]
    unused = [c.value for c in group.step.fallback if c not in channels and c in MESSAGE_CHANNELS]
    for channel in channels:
        if channel in MESSAGE_CHANNELS:
            plan.drafts.append(
                MessageDraft(
                    organisation=organisation,
                    customer=customer,
                    kind=MESSAGE_KIND_FOR_CALL
                    if step.kind is core.MessageKind.CALL
                    else step.kind.value,
                    channel=channel.value,
                    context=context,
                    unique_key=f"{group_key}:{channel.value}",
                    invoices=invoices,
                    fallback_channels=unused,
                    actor=actor,
                )
            )
        else:
            main = max(ready, key=lambda c: c.open_amount)
            plan.tasks.append(
                CallTask(
                    organisation_id=organisation.pk,
                    customer=customer,
                    invoice_id=main.invoice.pk,
                    kind=TaskKind.CALL,
                    unique_key=f"call:{customer.pk}:{group.step_model.pk}:{today.isoformat()}",
                    due_on=today,
                    amount=charge.principal,
                    overdue_since=min(c.invoice.due_on or today for c in ready),
                    details={"invoices": [c.invoice.number for c in ready], "step": step.name},
                )
            )
        report.count(step.code, channel.value)
    for action in sorted(step.actions):
        if action is core.Action.PROPOSE_HANDOVER:
            main = max(ready, key=lambda c: c.open_amount)
            plan.tasks.append(
                CallTask(
                    organisation_id=organisation.pk,
                    customer=customer,
                    invoice_id=main.invoice.pk,
                    kind=TaskKind.HANDOVER,
                    unique_key=f"handover:{customer.pk}:{group.step_model.pk}:{today.isoformat()}",
                    due_on=today,
                    amount=charge.total,
                    overdue_since=min(c.invoice.due_on or today for c in ready),
                    details={"invoices": [c.invoice.number for c in ready], "step": step.name},
                )
            )
        elif action is core.Action.BLOCK_CUSTOMER:
            plan.statuses.append((customer, "blocked", step.name))
        else:
            plan.statuses.append((customer, "prepayment", step.name))
        report.count(step.code, action.value)
    plan.events.append(
        StepEvent(
            organisation=organisation,
            actor=actor,
            customer_id=customer.pk,
            invoice_id=ready[0].invoice.pk,
            step=group.step_model,
            after={
                "step": step.code,
                "on": today.isoformat(),
                "channels": [c.value for c in channels],
                "invoices": [c.invoice.number for c in ready],
                "key": group_key,
                "principal": str(charge.principal),
                "interest": str(charge.interest),
                "late_fee": str(charge.late_fee),
                "costs": str(charge.costs_total),
            },
        )
    )


def _fix_task(claim: Claim, problems: list[str], today: date) -> CallTask:
    return CallTask(
        organisation_id=claim.invoice.organisation_id,
        customer_id=claim.invoice.customer_id,
        invoice_id=claim.invoice.pk,
        kind=TaskKind.FIX,
        unique_key=f"fix:{claim.invoice.pk}:{today.isoformat()}",
        due_on=today,
        amount=claim.open_amount,
        overdue_since=claim.invoice.due_on or today,
        details={"problems": problems},
    )


def _context(
    group: Group,
    ready: list[Claim],
    charge: charging.GroupCharge,
    channels: Sequence[core.Channel],
    today: date,
    deadline: Any,
    vat_applies: bool,
    debtor_kind: core.DebtorKind,
) -> dict[str, Any]:
    """The frozen context of the message: amounts as strings, dates ISO. With agreed terms,
    `contract` states the contractual basis of the interest, fee and costs claimed."""
    organisation = ready[0].invoice.organisation
    customer = group.customer
    by_invoice = {item.invoice_id: item for item in charge.invoices}
    rows = []
    for claim in ready:
        invoice = claim.invoice
        item = by_invoice[invoice.pk]
        rows.append(
            {
                "number": invoice.number,
                "issued_on": invoice.issued_on.isoformat() if invoice.issued_on else None,
                "due_on": invoice.due_on.isoformat() if invoice.due_on else None,
                "days_overdue": (today - invoice.due_on).days if invoice.due_on else 0,
                "total": str(invoice.total),
                "principal": str(item.principal),
                "interest": str(item.interest),
                "interest_from": item.interest_from.isoformat() if item.interest_from else None,
                "late_fee": str(item.late_fee),
                "costs": str(item.costs),
                "payment_reference": invoice.payment_reference,
            }
        )
    context: dict[str, Any] = {
        "source": "dunning",
        "step": {"code": group.step.code, "name": group.step.name, "kind": group.step.kind.value},
        "date": today.isoformat(),
        "channels": [c.value for c in channels],
        "organisation": {
            "name": organisation.display_name,
            "iban": organisation.iban,
            "bic": organisation.bic,
        },
        "customer": {"number": customer.number, "name": customer.name, "kind": customer.kind},
        "invoices": rows,
        "principal": str(charge.principal),
        "interest": str(charge.interest),
        "interest_kind": charge.interest_kind,
        "late_fee": str(charge.late_fee),
        "costs": charging.costs_context(charge.costs),
        "total": str(charge.total),
        "payment_reference": ready[0].invoice.payment_reference,
        "actions": sorted(a.value for a in group.step.actions),
    }
    if charge.terms is not None:
        context["contract"] = charge.terms.context()
    if deadline is not None:
        context["term"] = {
            "sent_on": deadline.sent_on.isoformat(),
            "presumed_receipt": deadline.presumed_receipt.isoformat(),
            "term_first_day": deadline.term_first_day.isoformat(),
            "term_last_day": deadline.term_last_day.isoformat(),
            "costs_due_from": deadline.costs_due_from.isoformat(),
        }
        context["costs_if_unpaid"] = charging.costs_context(
            charging.costs_if_unpaid(
                [item.principal for item in charge.invoices],
                vat_applies=vat_applies,
                debtor_kind=debtor_kind,
                terms=charge.terms,
            )
        )
    return context


def _write(plan: Plan, run: DunningRun | None, report: RunReport, today: date) -> None:
    """The bulk writes of a chunk. Steps first: a step already carried out (an earlier or a
    concurrent run) keeps its row, and its message is not queued again."""
    from betaald.letters.services import messages_queue_bulk

    new_rows = [e for e in plan.executions if isinstance(e, ExecutionRow)]
    for execution in plan.executions:
        if isinstance(execution, StepExecution):
            execution.save()
    lost: set[str] = set()
    if new_rows:
        now = timezone.now()
        inserted = bulk.insert_rows(
            StepExecution,
            EXECUTION_COLUMNS,
            [
                (
                    e.organisation_id,
                    e.invoice_id,
                    e.customer_id,
                    e.step_id,
                    e.run_id,
                    e.status,
                    e.executed_on,
                    e.principal,
                    e.channels,
                    e.group_key,
                    e.interest,
                    e.costs,
                    e.costs_vat,
                    e.late_fee,
                    e.reason,
                    now,
                )
                for e in new_rows
            ],
            ignore_conflicts=True,
            returning=("invoice_id", "step_id"),
        )
        if connection.vendor == "postgresql":
            ours = set(inserted)
        elif run is not None:
            ours = set(
                StepExecution.objects.filter(
                    run=run, invoice_id__in={e.invoice_id for e in new_rows}
                ).values_list("invoice_id", "step_id")
            )
        else:
            ours = {(e.invoice_id, e.step_id) for e in new_rows}
        lost = {
            e.group_key for e in new_rows if e.group_key and (e.invoice_id, e.step_id) not in ours
        }
    drafts = [d for d in plan.drafts if d.unique_key.rsplit(":", 1)[0] not in lost]
    if lost:
        report.warn(_("Some steps were already carried out by another run; not repeated."))
    if drafts:
        report.messages += messages_queue_bulk(drafts)
    tasks = [
        t for t in plan.tasks if t.unique_key.split(":")[0] == "fix" or not _lost_task(t, lost)
    ]
    if tasks:
        bulk.insert(CallTask, tasks, bulk.concrete_names(CallTask), ignore_conflicts=True)
    if lost:
        lost_invoices = {e.invoice_id for e in new_rows if e.group_key in lost}
        plan.states = [s for s in plan.states if s.invoice_id not in lost_invoices]
        dunning_refresh_invoices(invoice_ids=lost_invoices, today=today)
    _save_states(plan.states)
    events = [e for e in plan.events if e.after.get("key") not in lost]
    if events:
        names, rows = _event_rows(events)
        bulk.insert_rows(Event, names, rows)
    done_statuses: set[tuple[int, str]] = set()
    for customer, status, step_name in plan.statuses:
        if (customer.pk, status) in done_statuses or customer.status == status:
            continue
        done_statuses.add((customer.pk, status))
        _customer_status(customer, status, step_name)


def _lost_task(task: CallTask, lost: set[str]) -> bool:
    _kind, customer_id, step_id, on = task.unique_key.split(":")
    return f"dunning:{customer_id}:{step_id}:{on}" in lost


def _customer_status(customer: Customer, status: str, step_name: str) -> None:
    from betaald.debtors.services import customer_set_status

    customer_set_status(
        customer=customer,
        status=status,
        actor="dunning",
        reason=_("Dunning step: %(step)s") % {"step": step_name},
    )


# ------------------------------------------------------------------------------- approvals


@transaction.atomic
def executions_approve(
    *, organisation: Organisation, execution_ids: Iterable[int], actor: Any, today: date
) -> int:
    """Carry out steps that waited for approval, one message per customer and step."""
    executions = list(
        StepExecution.objects.select_for_update()
        .filter(
            organisation=organisation,
            pk__in=list(execution_ids),
            status=ExecutionStatus.AWAITING_APPROVAL,
        )
        .order_by("pk")
    )
    if not executions:
        return 0
    book = PolicyBook([organisation.pk])
    claims = {c.invoice.pk: c for c in _load_claims([e.invoice_id for e in executions], book)}
    by_invoice = {e.invoice_id: e for e in executions}
    groups: dict[tuple[int, int], Group] = {}
    report = RunReport()
    plan = Plan()
    for execution in executions:
        claim = claims[execution.invoice_id]
        if not claim.is_open or claim.entry is None or claim.snapshot is None:
            execution.status = ExecutionStatus.REJECTED
            execution.reason = _("Paid or credited before approval.")
            execution.decided_by = actor
            execution.decided_at = timezone.now()
            execution.save()
            continue
        index = claim.entry.step_index(execution.step_id)
        if index is None:
            continue
        key = (claim.invoice.customer_id, execution.step_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(claim.invoice.customer, claim.entry, index, [])
        group.claims.append(claim)
        claim.awaiting = False
        execution.decided_by = actor
        execution.decided_at = timezone.now()
    ap_emails, phones = _contacts(key[0] for key in groups)
    for group in groups.values():
        _plan_group(
            group, today, None, report, plan, actor, set(), ap_emails, phones, approved=by_invoice
        )
    _write(plan, None, report, today)
    for execution in executions:
        if execution.status == ExecutionStatus.AWAITING_APPROVAL:
            execution.status = ExecutionStatus.REJECTED
            execution.reason = _("The customer could not be reached; a task was created.")
            execution.save()
    event_record(
        name="dunning.step.approved",
        organisation=organisation,
        actor=actor,
        after={"executions": [e.pk for e in executions], "on": today.isoformat()},
    )
    return report.executed


@transaction.atomic
def executions_skip(
    *, organisation: Organisation, execution_ids: Iterable[int], actor: Any, reason: str
) -> int:
    """Skip steps that waited for approval, with a reason; dunning goes on after them."""
    if not reason.strip():
        raise ValidationError({"reason": _("say why these steps are skipped")})
    executions = list(
        StepExecution.objects.select_for_update()
        .filter(
            organisation=organisation,
            pk__in=list(execution_ids),
            status=ExecutionStatus.AWAITING_APPROVAL,
        )
        .select_related("invoice", "customer")
    )
    now = timezone.now()
    for execution in executions:
        execution.status = ExecutionStatus.REJECTED
        execution.reason = reason.strip()
        execution.decided_by = actor
        execution.decided_at = now
    StepExecution.objects.bulk_update(executions, ["status", "reason", "decided_by", "decided_at"])
    for execution in executions:
        event_record(
            name="dunning.step.skipped",
            organisation=organisation,
            actor=actor,
            invoice=execution.invoice,
            customer=execution.customer,
            subject=execution,
            after={"step": execution.step_id},
            message=reason.strip(),
        )
    dunning_refresh_invoices(invoice_ids=[e.invoice_id for e in executions])
    return len(executions)


# ----------------------------------------------------------------------------------- holds


@transaction.atomic
def hold_add(
    *,
    customer: Customer,
    kind: str,
    actor: Any,
    starts_on: date,
    invoice: Invoice | None = None,
    until: date | None = None,
    reason: str = "",
) -> Hold:
    """Pause dunning of one invoice or of all of a customer's invoices."""
    if kind not in HoldKind.values:
        raise ValidationError({"kind": _("unknown kind of hold")})
    if invoice is not None and invoice.customer_id != customer.pk:
        raise ValidationError({"invoice": _("this invoice is not the customer's")})
    if until is not None and until < starts_on:
        raise ValidationError({"until": _("the end is before the start")})
    if kind in (HoldKind.DISPUTE, HoldKind.MANUAL) and not reason.strip():
        raise ValidationError({"reason": _("give a reason")})
    if kind == HoldKind.PROMISE and until is None:
        raise ValidationError({"until": _("a promise needs a date")})
    hold = Hold(
        organisation_id=customer.organisation_id,
        customer=customer,
        invoice=invoice,
        kind=kind,
        reason=reason.strip(),
        starts_on=starts_on,
        until=until,
        created_by=acting_user(actor),
    )
    hold.full_clean()
    hold.save()
    event_record(
        name="dunning.hold.added",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        invoice=invoice,
        subject=hold,
        after={
            "kind": kind,
            "from": starts_on.isoformat(),
            "until": until.isoformat() if until else None,
        },
        message=reason,
    )
    _refresh_customer_or_invoice(customer, invoice, starts_on)
    return hold


@transaction.atomic
def hold_release(
    *, hold: Hold, actor: Any, reason: str, today: date, handover_withdrawn: bool = False
) -> Hold:
    """Resume dunning. The hold of a hand-over is released only by withdrawing the hand-over
    (`betaald.handover.services.handover_withdraw`): releasing it alone would remind a debtor
    whose claim the agency, bailiff or lawyer is collecting."""
    hold = Hold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is not None:
        return hold
    if hold.kind == HoldKind.HANDOVER and not handover_withdrawn:
        raise ValidationError(
            {"hold": _("This invoice is handed over for collection: withdraw the hand-over.")}
        )
    hold.released_at = timezone.now()
    hold.released_reason = reason.strip()
    hold.save(update_fields=["released_at", "released_reason"])
    event_record(
        name="dunning.hold.released",
        organisation=hold.customer.organisation,
        actor=actor,
        customer=hold.customer,
        invoice=hold.invoice,
        subject=hold,
        after={"kind": hold.kind},
        message=reason,
    )
    _refresh_customer_or_invoice(hold.customer, hold.invoice, today)
    return hold


def _refresh_customer_or_invoice(customer: Customer, invoice: Invoice | None, today: date) -> None:
    if invoice is not None:
        ids = [invoice.pk]
    else:
        ids = list(
            Invoice.objects.filter(
                customer=customer, status=InvoiceStatus.ISSUED, kind=InvoiceKind.INVOICE
            ).values_list("pk", flat=True)
        )
    dunning_refresh_invoices(invoice_ids=ids, today=today)


# ------------------------------------------------------------------------------------ tasks


@transaction.atomic
def call_task_complete(
    *,
    task: CallTask,
    outcome: str,
    actor: Any,
    today: date,
    note: str = "",
    promised_on: date | None = None,
    contact_email: str = "",
    contact_phone: str = "",
) -> CallTask:
    """Record the outcome of a task: a promise becomes a promise hold (dunning resumes the day
    after the date), a dispute a dispute hold, no answer a retry the next business day."""
    from betaald.core.calendar import next_business_day

    task = CallTask.objects.select_for_update().select_related("customer").get(pk=task.pk)
    if task.closed_at is not None:
        raise ValidationError({"outcome": _("this task is already closed")})
    if outcome not in TaskOutcome.values or outcome == TaskOutcome.OPEN:
        raise ValidationError({"outcome": _("choose an outcome")})
    customer = task.customer
    if outcome == TaskOutcome.PROMISED:
        if promised_on is None or promised_on < today:
            raise ValidationError({"promised_on": _("give the promised date (today or later)")})
        hold_add(
            customer=customer,
            invoice=task.invoice,
            kind=HoldKind.PROMISE,
            actor=actor,
            starts_on=today,
            until=promised_on,
            reason=note or _("Promised by phone."),
        )
    elif outcome == TaskOutcome.DISPUTE:
        if not note.strip():
            raise ValidationError({"note": _("note what the dispute is about")})
        hold_add(
            customer=customer,
            invoice=task.invoice,
            kind=HoldKind.DISPUTE,
            actor=actor,
            starts_on=today,
            reason=note,
        )
    elif outcome == TaskOutcome.WRONG_CONTACT and (contact_email or contact_phone):
        from betaald.debtors.services import contact_add

        contact_add(
            customer=customer,
            actor=actor,
            name=_("Accounts payable"),
            role=ContactRole.ACCOUNTS_PAYABLE,
            email=contact_email,
            phone=contact_phone,
        )
    elif outcome == TaskOutcome.NO_ANSWER:
        retry_on = next_business_day(today + ONE_DAY)
        CallTask.objects.create(
            organisation_id=task.organisation_id,
            customer=customer,
            invoice=task.invoice,
            kind=task.kind,
            unique_key=f"{task.unique_key}:retry:{retry_on.isoformat()}",
            assigned_to=task.assigned_to,
            due_on=retry_on,
            amount=task.amount,
            overdue_since=task.overdue_since,
            details=task.details,
        )
    task.outcome = outcome
    task.note = note.strip()
    task.closed_at = timezone.now()
    task.save(update_fields=["outcome", "note", "closed_at"])
    event_record(
        name="dunning.task.completed",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        invoice=task.invoice,
        subject=task,
        after={
            "kind": task.kind,
            "outcome": outcome,
            "promised_on": promised_on.isoformat() if promised_on else None,
        },
        message=note,
    )
    if task.kind == TaskKind.FIX:
        dunning_refresh_invoices(invoice_ids=[task.invoice_id], today=today)
    return task


@transaction.atomic
def call_task_assign(*, task: CallTask, user: Any, actor: Any) -> CallTask:
    task.assigned_to = user
    task.save(update_fields=["assigned_to"])
    event_record(
        name="dunning.task.assigned",
        organisation=task.customer.organisation,
        actor=actor,
        customer=task.customer,
        subject=task,
        after={"assigned_to": getattr(user, "pk", None)},
    )
    return task


def run_request(*, organisation: Organisation, actor: Any, today: date) -> DunningRun:
    """Queue a run for one organisation ("run now"); the worker carries it out."""
    from betaald.dunning.tasks import dunning_run_task

    with transaction.atomic():
        run = DunningRun.objects.create(
            organisation=organisation,
            run_on=today,
            started_by=acting_user(actor),
        )
        event_record(
            name="dunning.run.requested",
            organisation=organisation,
            actor=actor,
            subject=run,
            after={"run_on": today.isoformat()},
        )
        run_id = run.pk
        transaction.on_commit(lambda: dunning_run_task.enqueue(run_id))
    return run
