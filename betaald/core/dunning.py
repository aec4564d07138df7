"""The dunning engine's rules: policies, their validation and the next step of a claim.

Pure: stdlib only, no clock (``today`` is always an argument), Decimal amounts. The shell
(`betaald.dunning`) stores a `ClaimSnapshot` per open invoice, asks `next_step` what to do on a
run day and stores `next_action_on` (indexed) so the daily run only touches the claims that
need attention. See docs/algorithms/dunning.md for the rules and worked examples.

Dutch terms keep their Dutch names:

- *aanmaning* / *sommatie*: a firm demand for payment (kind ``demand``);
- *14-dagenbrief*: the letter of art. 6:96 lid 6 BW that a consumer must receive, with a term of
  14 days after the day of receipt, before extrajudicial collection costs (BIK) may be charged;
- *BIK*: buitengerechtelijke incassokosten, computed by `betaald.core.collection_costs`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from betaald.core.errors import DomainError
from betaald.core.money import ZERO, round_cents

ONE_DAY = timedelta(days=1)


class DebtorKind(StrEnum):
    """Consumer or business (art. 6:96 lid 5-6, 6:119 vs 6:119a BW)."""

    CONSUMER = "consumer"
    BUSINESS = "business"


class Channel(StrEnum):
    """How a step reaches the debtor. ``call`` creates a task for a credit controller."""

    EMAIL = "email"
    LETTER = "letter"
    SMS = "sms"
    CALL = "call"


class MessageKind(StrEnum):
    """The template a step uses (same values as `letters.MessageKind`), or a call script."""

    PRE_DUE_REMINDER = "pre_due_reminder"
    REMINDER = "reminder"
    SECOND_REMINDER = "second_reminder"
    DEMAND = "demand"  # aanmaning / sommatie
    FOURTEEN_DAY_LETTER = "final_notice_14_day"  # 14-dagenbrief, art. 6:96 lid 6 BW
    FINAL_NOTICE = "final_notice"
    HANDOVER_NOTICE = "handover_notice"
    CALL = "call"


class Anchor(StrEnum):
    """What a step's `offset_days` counts from."""

    DUE_DATE = "due_date"
    PREVIOUS_STEP = "previous_step"


class FeeKind(StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"


class InterestFrom(StrEnum):
    """From when a step claims interest: the day after the due date, the step's day, or never."""

    DUE_DATE = "due_date"
    THIS_STEP = "this_step"
    NEVER = "never"


class InterestKind(StrEnum):
    STATUTORY = "statutory"  # wettelijke rente, art. 6:119 BW
    COMMERCIAL = "commercial"  # wettelijke handelsrente, art. 6:119a BW
    CONTRACTUAL = "contractual"


class CostsBasis(StrEnum):
    """Which collection costs a step claims."""

    NONE = "none"
    BIK = "bik"  # the staffel of the Besluit vergoeding voor buitengerechtelijke incassokosten
    CONTRACT = "contract"  # a contractual percentage (business debtors only, art. 6:96 lid 4)


class Action(StrEnum):
    """What a step does besides sending a message."""

    BLOCK_CUSTOMER = "block_customer"
    PREPAYMENT_REQUIRED = "prepayment_required"
    PROPOSE_HANDOVER = "propose_handover"


class HoldKind(StrEnum):
    """Why dunning of a claim pauses. Insolvency and death stop everything for good."""

    DISPUTE = "dispute"
    PROMISE = "promise"
    PLAN = "plan"
    MANUAL = "manual"
    INSOLVENCY = "insolvency"
    DECEASED = "deceased"
    HANDOVER = "handover"  # handed over to an agency, bailiff or lawyer (betaald.handover)


class Pause(StrEnum):
    """Why no step is due, as reported to the user (holds plus derived reasons)."""

    DISPUTE = "dispute"
    PROMISE = "promise"
    PLAN = "plan"
    MANUAL = "manual"
    INSOLVENCY = "insolvency"
    DECEASED = "deceased"
    HANDOVER = "handover"
    SETTLED = "settled"
    BELOW_THRESHOLD = "below_threshold"
    CREDIT_BALANCE = "credit_balance"
    FINISHED = "finished"
    WAITING_FOR_TERM = "waiting_for_term"


STOPPING_HOLDS = frozenset({HoldKind.INSOLVENCY, HoldKind.DECEASED})


@dataclass(frozen=True, slots=True)
class LateFee:
    """A contractual late fee: a fixed amount, or a percentage of the principal clamped to
    [minimum, maximum]. Charged once per claim."""

    kind: FeeKind
    value: Decimal
    minimum: Decimal = ZERO
    maximum: Decimal | None = None

    def amount(self, principal: Decimal) -> Decimal:
        if self.kind is FeeKind.FIXED:
            return round_cents(self.value)
        fee = principal * self.value / 100
        fee = max(fee, self.minimum)
        if self.maximum is not None:
            fee = min(fee, self.maximum)
        return round_cents(fee)


@dataclass(frozen=True, slots=True)
class Charges:
    """What a step claims on top of the principal."""

    late_fee: LateFee | None = None
    interest_from: InterestFrom = InterestFrom.NEVER
    interest_kind: InterestKind = InterestKind.STATUTORY
    contractual_rate: Decimal | None = None
    costs: CostsBasis = CostsBasis.NONE
    contract_costs_percent: Decimal | None = None

    @property
    def claims_anything(self) -> bool:
        return (
            self.late_fee is not None
            or self.interest_from is not InterestFrom.NEVER
            or self.costs is not CostsBasis.NONE
        )


NO_CHARGES = Charges()


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a policy.

    `offset_days` counts from the due date (negative = before it) or, with
    ``anchor=PREVIOUS_STEP``, from the day the previous step was done. `channels` are all used;
    a channel the debtor cannot be reached on is replaced by the first reachable `fallback`.
    """

    code: str
    name: str
    offset_days: int
    kind: MessageKind
    channels: tuple[Channel, ...]
    anchor: Anchor = Anchor.DUE_DATE
    fallback: tuple[Channel, ...] = ()
    charges: Charges = NO_CHARGES
    actions: frozenset[Action] = frozenset()
    needs_approval: bool = False

    @property
    def is_pre_due(self) -> bool:
        return self.anchor is Anchor.DUE_DATE and self.offset_days < 0

    @property
    def is_fourteen_day_letter(self) -> bool:
        return self.kind is MessageKind.FOURTEEN_DAY_LETTER


@dataclass(frozen=True, slots=True)
class Policy:
    """An ordered list of steps, chosen per customer (default by debtor kind).

    Claims with an open amount below `minimum_amount` are not dunned.
    """

    code: str
    name: str
    debtor_kind: DebtorKind
    steps: tuple[Step, ...]
    minimum_amount: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Hold:
    """A pause. `until` is the last day of the pause (inclusive) or None for open-ended;
    dunning resumes the day after `until` (a broken promise resumes the next day)."""

    kind: HoldKind
    until: date | None = None
    starts_on: date | None = None

    def active_on(self, day: date) -> bool:
        if self.starts_on is not None and day < self.starts_on:
            return False
        return self.until is None or day <= self.until


@dataclass(frozen=True, slots=True)
class StepDone:
    code: str
    on: date


@dataclass(frozen=True, slots=True)
class ClaimSnapshot:
    """What the engine needs to know about one open claim.

    `level` is how many steps of the policy are behind the claim (done or skipped); it never
    decreases. `done` holds the days the steps were carried out. `fourteen_day_costs_due_from`
    is the day from which costs may be charged after the 14-dagenbrief, computed by the
    shell with `betaald.core.calendar.fourteen_day_term` from the day the letter was posted.
    """

    due_on: date
    open_amount: Decimal
    level: int = 0
    done: tuple[StepDone, ...] = ()
    holds: tuple[Hold, ...] = ()
    customer_credit: Decimal = ZERO
    fourteen_day_costs_due_from: date | None = None

    def done_on(self, code: str) -> date | None:
        for item in self.done:
            if item.code == code:
                return item.on
        return None

    @property
    def last_done_on(self) -> date | None:
        return max((item.on for item in self.done), default=None)


@dataclass(frozen=True, slots=True)
class NextStep:
    """The step due on a run day, its index in the policy and the steps it skips."""

    step: Step
    index: int
    scheduled_on: date
    skipped: tuple[Step, ...] = ()


# --------------------------------------------------------------------------------------------
# Validation


def validate_policy(policy: Policy) -> Policy:
    """Refuse a policy the engine cannot run lawfully; return it unchanged if it is fine.

    Raises `DomainError` with `field` set to the offending input (``steps[2].offset_days``).
    """
    if not policy.steps:
        raise DomainError("a policy needs at least one step", field="steps")
    if policy.minimum_amount < 0:
        raise DomainError("the threshold cannot be negative", field="minimum_amount")
    seen_codes: set[str] = set()
    nominal: int | None = None
    fourteen_day_at: int | None = None
    for index, step in enumerate(policy.steps):
        where = f"steps[{index}]"
        _validate_step(step, where)
        if step.code in seen_codes:
            raise DomainError(
                "step code %(code)s is used twice",
                field=f"{where}.code",
                params={"code": repr(step.code)},
            )
        seen_codes.add(step.code)
        if step.anchor is Anchor.PREVIOUS_STEP:
            if nominal is None:
                raise DomainError(
                    "the first step cannot be timed after a previous step",
                    field=f"{where}.anchor",
                )
            if step.offset_days <= 0:
                raise DomainError(
                    "a step after the previous one needs at least one day",
                    field=f"{where}.offset_days",
                )
            position = nominal + step.offset_days
        else:
            position = step.offset_days
            if nominal is not None and position <= nominal:
                raise DomainError(
                    "steps are out of order: day %(position)s comes after day %(nominal)s",
                    field=f"{where}.offset_days",
                    params={"position": position, "nominal": nominal},
                )
        nominal = position
        if policy.debtor_kind is DebtorKind.CONSUMER:
            fourteen_day_at = _validate_consumer_step(step, where, position, fourteen_day_at)
    return policy


def _validate_step(step: Step, where: str) -> None:
    if not step.code.strip():
        raise DomainError("a step needs a code", field=f"{where}.code")
    if not step.name.strip():
        raise DomainError("a step needs a name", field=f"{where}.name")
    if not step.channels:
        raise DomainError("a step needs at least one channel", field=f"{where}.channels")
    if len(set(step.channels)) != len(step.channels):
        raise DomainError("a channel is listed twice", field=f"{where}.channels")
    charges = step.charges
    fee = charges.late_fee
    if fee is not None:
        if fee.value <= 0:
            raise DomainError("a late fee must be positive", field=f"{where}.late_fee")
        if fee.minimum < 0:
            raise DomainError("a minimum fee cannot be negative", field=f"{where}.late_fee_min")
        if fee.maximum is not None and fee.maximum < fee.minimum:
            raise DomainError("the maximum fee is below the minimum", field=f"{where}.late_fee_max")
    if (
        charges.interest_kind is InterestKind.CONTRACTUAL
        and (charges.interest_from is not InterestFrom.NEVER)
        and (charges.contractual_rate is None or charges.contractual_rate <= 0)
    ):
        raise DomainError(
            "contractual interest needs a positive rate", field=f"{where}.contractual_rate"
        )
    if charges.costs is CostsBasis.CONTRACT and (
        charges.contract_costs_percent is None or charges.contract_costs_percent <= 0
    ):
        raise DomainError(
            "contractual costs need a positive percentage",
            field=f"{where}.contract_costs_percent",
        )


# The fastest a posted 14-dagenbrief can make costs due: received on the second day after
# posting at the earliest, then 14 full days, costs from the day after (art. 6:96 lid 6 BW).
FOURTEEN_DAY_MINIMUM_SPAN = 2 + 14 + 1


def _validate_consumer_step(
    step: Step, where: str, position: int, fourteen_day_at: int | None
) -> int | None:
    """Consumer rules (art. 6:96 lid 5-6 BW): the 14-dagenbrief comes after the due date, is
    posted, claims nothing itself; costs only per the BIK staffel and only after its term."""
    charges = step.charges
    if step.is_fourteen_day_letter:
        if position <= 0:
            raise DomainError(
                "the 14-dagenbrief can only be sent after the due date (verzuim)",
                field=f"{where}.offset_days",
            )
        if Channel.LETTER not in step.channels:
            raise DomainError(
                "the 14-dagenbrief must be posted (channel letter) to prove receipt",
                field=f"{where}.channels",
            )
        if charges.claims_anything:
            raise DomainError(
                "the 14-dagenbrief itself must be free of charge", field=f"{where}.charges"
            )
        return position
    if charges.costs is CostsBasis.CONTRACT:
        raise DomainError(
            "consumers can only be charged the BIK staffel (art. 6:96 lid 5 BW)",
            field=f"{where}.costs",
        )
    if charges.claims_anything:
        if fourteen_day_at is None:
            raise DomainError(
                "a consumer policy cannot charge costs, interest or fees before a "
                "14-dagenbrief (art. 6:96 lid 6 BW)",
                field=f"{where}.charges",
            )
        if position - fourteen_day_at < FOURTEEN_DAY_MINIMUM_SPAN:
            raise DomainError(
                "charges come at least %(days)s days after the 14-dagenbrief, when its term "
                "can have expired",
                field=f"{where}.offset_days",
                params={"days": FOURTEEN_DAY_MINIMUM_SPAN},
            )
    return fourteen_day_at


# --------------------------------------------------------------------------------------------
# Scheduling


def scheduled_dates(claim: ClaimSnapshot, policy: Policy) -> tuple[date, ...]:
    """The day each step is planned, given what was done (a done step anchors the next one)."""
    dates: list[date] = []
    previous: date | None = None
    for step in policy.steps:
        if step.anchor is Anchor.PREVIOUS_STEP and previous is not None:
            planned = previous + timedelta(days=step.offset_days)
        else:
            planned = claim.due_on + timedelta(days=step.offset_days)
        dates.append(planned)
        previous = claim.done_on(step.code) or planned
    return tuple(dates)


def pause_reason(claim: ClaimSnapshot, policy: Policy, today: date) -> Pause | None:
    """Why the claim gets no step on `today`, if it is paused for a reason other than timing."""
    if claim.open_amount <= 0:
        return Pause.SETTLED
    for hold in claim.holds:
        if hold.kind in STOPPING_HOLDS:
            return Pause(hold.kind.value)
    for hold in claim.holds:
        if hold.active_on(today):
            return Pause(hold.kind.value)
    if claim.open_amount < policy.minimum_amount:
        return Pause.BELOW_THRESHOLD
    if claim.customer_credit >= claim.open_amount:
        return Pause.CREDIT_BALANCE
    if claim.level >= len(policy.steps):
        return Pause.FINISHED
    return None


def _earliest_day(claim: ClaimSnapshot, policy: Policy, index: int, planned: date) -> date:
    """The first day step `index` may run: its plan, never two steps on one day, and for
    consumer charges never before the 14-dagenbrief's term has expired."""
    day = planned
    last = claim.last_done_on
    if last is not None:
        day = max(day, last + ONE_DAY)
    step = policy.steps[index]
    if policy.debtor_kind is DebtorKind.CONSUMER and step.charges.claims_anything:
        due_from = claim.fourteen_day_costs_due_from
        if due_from is not None:
            day = max(day, due_from)
    return day


def _must_not_skip(step: Step, policy: Policy) -> bool:
    """A consumer's 14-dagenbrief is never skipped: later charges depend on it."""
    return policy.debtor_kind is DebtorKind.CONSUMER and step.is_fourteen_day_letter


def next_step(claim: ClaimSnapshot, policy: Policy, today: date) -> NextStep | None:
    """The step to carry out on `today`, or None.

    After missed days only the latest step that is due runs; the earlier ones are reported as
    skipped (a pre-due reminder is also skipped once the due date has passed). A consumer's
    14-dagenbrief is never skipped: if it is due it runs first, and a charging step waits until
    its term has expired (art. 6:96 lid 6 BW).
    """
    if pause_reason(claim, policy, today) is not None:
        return None
    planned = scheduled_dates(claim, policy)
    chosen: int | None = None
    for index in range(claim.level, len(policy.steps)):
        step = policy.steps[index]
        if _earliest_day(claim, policy, index, planned[index]) > today:
            break
        if step.is_pre_due and today > claim.due_on:
            continue
        chosen = index
        if _must_not_skip(step, policy):
            break
    if chosen is None:
        return None
    step = policy.steps[chosen]
    if (
        policy.debtor_kind is DebtorKind.CONSUMER
        and step.charges.claims_anything
        and not _fourteen_day_term_expired(claim, policy, chosen, today)
    ):
        return None
    return NextStep(
        step=step,
        index=chosen,
        scheduled_on=planned[chosen],
        skipped=policy.steps[claim.level : chosen],
    )


def _fourteen_day_term_expired(
    claim: ClaimSnapshot, policy: Policy, index: int, today: date
) -> bool:
    """True if a 14-dagenbrief before step `index` was sent and its term has expired."""
    letters = [s for s in policy.steps[:index] if s.is_fourteen_day_letter]
    sent = any(claim.done_on(s.code) is not None for s in letters)
    due_from = claim.fourteen_day_costs_due_from
    return sent and due_from is not None and due_from <= today


def next_action_on(
    claim: ClaimSnapshot, policy: Policy, *, processed_on: date | None = None
) -> date | None:
    """The day the claim next needs the engine's attention, or None if nothing will happen
    until its state changes (paid, dispute or plan without an end, finished, stopped).

    A hold with an end date moves the day to the day after it. `processed_on` is the day the
    run last looked at the claim: nothing was due then that is still undone, so the answer is
    at least the day after. The shell stores this value (indexed) and the daily run selects
    ``next_action_on <= today``.
    """
    if claim.open_amount <= 0:
        return None
    if any(hold.kind in STOPPING_HOLDS for hold in claim.holds):
        return None
    if claim.open_amount < policy.minimum_amount or claim.customer_credit >= claim.open_amount:
        return None
    planned = scheduled_dates(claim, policy)
    for index in range(claim.level, len(policy.steps)):
        step = policy.steps[index]
        day = _earliest_day(claim, policy, index, planned[index])
        if processed_on is not None:
            day = max(day, processed_on + ONE_DAY)
        if step.is_pre_due and day > claim.due_on:
            continue  # a pre-due reminder that can no longer be sent in time
        return _after_holds(day, claim.holds)
    return None


def _after_holds(day: date, holds: Iterable[Hold]) -> date | None:
    """Move `day` past every hold active on it (holds may overlap or follow each other)."""
    holds = tuple(holds)
    moved = True
    while moved:
        moved = False
        for hold in holds:
            if hold.active_on(day):
                if hold.until is None:
                    return None
                day = hold.until + ONE_DAY
                moved = True
    return day


def advance(claim: ClaimSnapshot, chosen: NextStep, today: date) -> ClaimSnapshot:
    """The claim after `chosen` was carried out on `today`: the level moves past it."""
    level = max(claim.level, chosen.index + 1)
    done = (*claim.done, StepDone(chosen.step.code, today))
    return replace(claim, level=level, done=done)


def with_fourteen_day_term(claim: ClaimSnapshot, costs_due_from: date) -> ClaimSnapshot:
    return replace(claim, fourteen_day_costs_due_from=costs_due_from)


def resolve_channels(step: Step, reachable: frozenset[Channel]) -> tuple[Channel, ...]:
    """The channels to use: each unreachable channel is replaced by the first reachable
    fallback not used yet. Empty if the debtor cannot be reached at all (the shell then
    creates a "fix before reminding" task instead of a message)."""
    chosen: list[Channel] = []
    spare = [c for c in step.fallback if c in reachable]
    for channel in step.channels:
        if channel in reachable:
            if channel not in chosen:
                chosen.append(channel)
            continue
        while spare:
            candidate = spare.pop(0)
            if candidate not in chosen:
                chosen.append(candidate)
                break
    return tuple(chosen)


def simulate(
    claim: ClaimSnapshot, policy: Policy, *, until: date, start: date
) -> tuple[tuple[date, Step], ...]:
    """The path of one claim under a policy if nothing changes: (day, step) for every step
    from `start` to `until`. A 14-dagenbrief is assumed to make costs due 17 days after it was
    sent, the earliest its term can expire; the shell passes the real term when it has one."""
    path: list[tuple[date, Step]] = []
    day: date | None = start
    while day is not None and day <= until:
        chosen = next_step(claim, policy, day)
        if chosen is not None:
            path.append((day, chosen.step))
            claim = advance(claim, chosen, day)
            if chosen.step.is_fourteen_day_letter:
                claim = with_fourteen_day_term(
                    claim, day + timedelta(days=FOURTEEN_DAY_MINIMUM_SPAN)
                )
        following = next_action_on(claim, policy)
        day = None if following is None else max(following, day + ONE_DAY)
    return tuple(path)


# --------------------------------------------------------------------------------------------
# Default policies (data)


BUSINESS_CHARGES = Charges(
    interest_from=InterestFrom.DUE_DATE,
    interest_kind=InterestKind.COMMERCIAL,
    costs=CostsBasis.BIK,
)
CONSUMER_CHARGES = Charges(
    interest_from=InterestFrom.THIS_STEP,
    interest_kind=InterestKind.STATUTORY,
    costs=CostsBasis.BIK,
)
LETTER_FALLBACK = (Channel.LETTER,)


def default_policies() -> tuple[Policy, ...]:
    """The policies every organisation starts with (issue 5); names in English, the shell
    translates them. Codes are stable: `business`, `consumer`, `late_fee`."""
    business = Policy(
        code="business",
        name="Business",
        debtor_kind=DebtorKind.BUSINESS,
        steps=(
            Step(
                code="pre_due",
                name="Friendly reminder",
                offset_days=-3,
                kind=MessageKind.PRE_DUE_REMINDER,
                channels=(Channel.EMAIL,),
            ),
            Step(
                code="reminder",
                name="Reminder",
                offset_days=3,
                kind=MessageKind.REMINDER,
                channels=(Channel.EMAIL,),
                fallback=LETTER_FALLBACK,
            ),
            Step(
                code="call",
                name="Call",
                offset_days=10,
                kind=MessageKind.CALL,
                channels=(Channel.CALL,),
                fallback=(Channel.EMAIL, Channel.LETTER),
            ),
            Step(
                code="demand",
                name="Aanmaning / sommatie",
                offset_days=17,
                kind=MessageKind.DEMAND,
                channels=(Channel.EMAIL, Channel.LETTER),
                charges=BUSINESS_CHARGES,
            ),
            Step(
                code="final",
                name="Final notice and hand-over proposal",
                offset_days=31,
                kind=MessageKind.FINAL_NOTICE,
                channels=(Channel.EMAIL, Channel.LETTER),
                charges=BUSINESS_CHARGES,
                actions=frozenset({Action.PROPOSE_HANDOVER}),
                needs_approval=True,
            ),
        ),
    )
    consumer = Policy(
        code="consumer",
        name="Consumer",
        debtor_kind=DebtorKind.CONSUMER,
        steps=(
            Step(
                code="reminder",
                name="Reminder",
                offset_days=3,
                kind=MessageKind.REMINDER,
                channels=(Channel.EMAIL,),
                fallback=LETTER_FALLBACK,
            ),
            Step(
                code="second_reminder",
                name="Second reminder",
                offset_days=14,
                kind=MessageKind.SECOND_REMINDER,
                channels=(Channel.EMAIL,),
                fallback=LETTER_FALLBACK,
            ),
            Step(
                code="fourteen_day",
                name="14-dagenbrief",
                offset_days=21,
                kind=MessageKind.FOURTEEN_DAY_LETTER,
                channels=(Channel.LETTER, Channel.EMAIL),
            ),
            Step(
                code="costs",
                name="Costs and interest charged",
                offset_days=FOURTEEN_DAY_MINIMUM_SPAN,
                anchor=Anchor.PREVIOUS_STEP,
                kind=MessageKind.FINAL_NOTICE,
                channels=(Channel.EMAIL, Channel.LETTER),
                charges=CONSUMER_CHARGES,
            ),
            Step(
                code="handover",
                name="Hand-over proposal",
                offset_days=14,
                anchor=Anchor.PREVIOUS_STEP,
                kind=MessageKind.HANDOVER_NOTICE,
                channels=(Channel.LETTER,),
                charges=CONSUMER_CHARGES,
                actions=frozenset({Action.PROPOSE_HANDOVER}),
                needs_approval=True,
            ),
        ),
    )
    late_fee = Policy(
        code="late_fee",
        name="Late fee",
        debtor_kind=DebtorKind.BUSINESS,
        steps=(
            Step(
                code="warning",
                name="Late fee warning",
                offset_days=5,
                kind=MessageKind.REMINDER,
                channels=(Channel.EMAIL,),
                fallback=LETTER_FALLBACK,
            ),
            Step(
                code="fee",
                name="Late fee charged",
                offset_days=10,
                kind=MessageKind.DEMAND,
                channels=(Channel.EMAIL,),
                fallback=LETTER_FALLBACK,
                charges=Charges(
                    late_fee=LateFee(FeeKind.PERCENT, Decimal("2"), minimum=Decimal("40.00"))
                ),
            ),
            Step(
                code="stop",
                name="Stop working together",
                offset_days=20,
                kind=MessageKind.FINAL_NOTICE,
                channels=(Channel.EMAIL, Channel.LETTER),
                actions=frozenset({Action.BLOCK_CUSTOMER}),
                needs_approval=True,
            ),
        ),
    )
    return tuple(validate_policy(policy) for policy in (business, consumer, late_fee))


def default_policy_code(debtor_kind: DebtorKind) -> str:
    return "consumer" if debtor_kind is DebtorKind.CONSUMER else "business"


__all__ = [
    "Action",
    "Anchor",
    "Channel",
    "Charges",
    "ClaimSnapshot",
    "CostsBasis",
    "DebtorKind",
    "FeeKind",
    "Hold",
    "HoldKind",
    "InterestFrom",
    "InterestKind",
    "LateFee",
    "MessageKind",
    "NextStep",
    "Pause",
    "Policy",
    "Step",
    "StepDone",
    "advance",
    "default_policies",
    "default_policy_code",
    "next_action_on",
    "next_step",
    "pause_reason",
    "resolve_channels",
    "scheduled_dates",
    "simulate",
    "validate_policy",
    "with_fourteen_day_term",
]
