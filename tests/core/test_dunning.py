"""The dunning rules of `betaald.core.dunning` (docs/algorithms/dunning.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betaald.core.dunning import (
    FOURTEEN_DAY_MINIMUM_SPAN,
    Action,
    Anchor,
    Channel,
    Charges,
    ClaimSnapshot,
    CostsBasis,
    DebtorKind,
    FeeKind,
    Hold,
    HoldKind,
    InterestFrom,
    InterestKind,
    LateFee,
    MessageKind,
    Pause,
    Policy,
    Step,
    StepDone,
    advance,
    default_policies,
    default_policy_code,
    next_action_on,
    next_step,
    pause_reason,
    resolve_channels,
    scheduled_dates,
    simulate,
    validate_policy,
    with_fourteen_day_term,
)
from betaald.core.errors import DomainError

BUSINESS, CONSUMER, LATE_FEE = default_policies()
DUE = date(2026, 3, 10)  # a Tuesday


def claim(**kwargs: object) -> ClaimSnapshot:
    values: dict[str, object] = {"due_on": DUE, "open_amount": Decimal("1000.00")}
    values.update(kwargs)
    return ClaimSnapshot(**values)  # type: ignore[arg-type]


def step(code: str = "s", offset: int = 3, **kwargs: object) -> Step:
    values: dict[str, object] = {
        "code": code,
        "name": code.title(),
        "offset_days": offset,
        "kind": MessageKind.REMINDER,
        "channels": (Channel.EMAIL,),
    }
    values.update(kwargs)
    return Step(**values)  # type: ignore[arg-type]


def day(offset: int) -> date:
    return DUE + timedelta(days=offset)


# ---------------------------------------------------------------------------- default policies


def test_default_policies_follow_issue_5():
    """Business: pre-due -3, reminder +3, call +10, aanmaning/sommatie +17, final +31."""
    assert [s.offset_days for s in BUSINESS.steps] == [-3, 3, 10, 17, 31]
    assert BUSINESS.steps[3].charges.costs is CostsBasis.BIK
    assert BUSINESS.steps[3].charges.interest_kind is InterestKind.COMMERCIAL
    assert Action.PROPOSE_HANDOVER in BUSINESS.steps[4].actions
    assert [s.offset_days for s in LATE_FEE.steps] == [5, 10, 20]
    assert Action.BLOCK_CUSTOMER in LATE_FEE.steps[2].actions


def test_consumer_default_sends_the_14_dagenbrief_at_21_and_charges_only_after_its_term():
    """Art. 6:96 lid 6 BW: costs only after the 14-day term that follows the letter."""
    path = simulate(claim(), CONSUMER, start=day(0), until=day(120))
    days = {s.code: d for d, s in path}
    assert days["fourteen_day"] == day(21)
    assert days["costs"] == day(21 + FOURTEEN_DAY_MINIMUM_SPAN)
    assert days["handover"] == days["costs"] + timedelta(days=14)


@pytest.mark.parametrize(
    ("kind", "code"), [(DebtorKind.CONSUMER, "consumer"), (DebtorKind.BUSINESS, "business")]
)
def test_default_policy_code_depends_on_debtor_kind(kind, code):
    assert default_policy_code(kind) == code


# ---------------------------------------------------------------------------------- validation


def policy(*steps: Step, kind: DebtorKind = DebtorKind.BUSINESS, minimum: str = "0") -> Policy:
    return Policy(
        code="p", name="P", debtor_kind=kind, steps=steps, minimum_amount=Decimal(minimum)
    )


LETTER_14 = step("letter", 21, kind=MessageKind.FOURTEEN_DAY_LETTER, channels=(Channel.LETTER,))
BIK = Charges(costs=CostsBasis.BIK)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (policy(), "steps"),
        (policy(step(), minimum="-1"), "minimum_amount"),
        (policy(step(code=" ")), "steps[0].code"),
        (policy(step(name="")), "steps[0].name"),
        (policy(step(channels=())), "steps[0].channels"),
        (policy(step(channels=(Channel.EMAIL, Channel.EMAIL))), "steps[0].channels"),
        (policy(step("a", 3), step("a", 5)), "steps[1].code"),
        (policy(step("a", 10), step("b", 5)), "steps[1].offset_days"),
        (policy(step("a", 10), step("b", 10)), "steps[1].offset_days"),
        (policy(step("a", 3, anchor=Anchor.PREVIOUS_STEP)), "steps[0].anchor"),
        (policy(step("a", 3), step("b", 0, anchor=Anchor.PREVIOUS_STEP)), "steps[1].offset_days"),
        (
            policy(step(charges=Charges(late_fee=LateFee(FeeKind.FIXED, Decimal("-5"))))),
            "steps[0].late_fee",
        ),
        (
            policy(
                step(
                    charges=Charges(
                        late_fee=LateFee(FeeKind.PERCENT, Decimal("2"), minimum=Decimal("-1"))
                    )
                )
            ),
            "steps[0].late_fee_min",
        ),
        (
            policy(
                step(
                    charges=Charges(
                        late_fee=LateFee(
                            FeeKind.PERCENT,
                            Decimal("2"),
                            minimum=Decimal("40"),
                            maximum=Decimal("10"),
                        )
                    )
                )
            ),
            "steps[0].late_fee_max",
        ),
        (
            policy(
                step(
                    charges=Charges(
                        interest_from=InterestFrom.DUE_DATE,
                        interest_kind=InterestKind.CONTRACTUAL,
                    )
                )
            ),
            "steps[0].contractual_rate",
        ),
        (
            policy(step(charges=Charges(costs=CostsBasis.CONTRACT))),
            "steps[0].contract_costs_percent",
        ),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(bad, field):
    with pytest.raises(DomainError) as caught:
        validate_policy(bad)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        # costs without any 14-dagenbrief (art. 6:96 lid 6 BW)
        ((step("costs", 30, charges=BIK),), "steps[0].charges"),
        # costs too soon after the letter: its term cannot have expired
        ((LETTER_14, step("costs", 30, charges=BIK)), "steps[1].offset_days"),
        # a consumer cannot be charged contractual costs
        (
            (
                LETTER_14,
                step(
                    "costs",
                    60,
                    charges=Charges(
                        costs=CostsBasis.CONTRACT, contract_costs_percent=Decimal("15")
                    ),
                ),
            ),
            "steps[1].costs",
        ),
        # the letter before the due date, by email only, or charging itself
        ((replace(LETTER_14, offset_days=-1),), "steps[0].offset_days"),
        ((replace(LETTER_14, channels=(Channel.EMAIL,)),), "steps[0].channels"),
        ((replace(LETTER_14, charges=BIK),), "steps[0].charges"),
    ],
)
def test_a_consumer_policy_never_charges_without_a_valid_14_dagenbrief(steps, field):
    """Art. 6:96 lid 5-6 BW."""
    with pytest.raises(DomainError) as caught:
        validate_policy(policy(*steps, kind=DebtorKind.CONSUMER))
    assert caught.value.field == field


def test_a_valid_consumer_policy_with_a_late_step_is_accepted():
    good = policy(
        step("reminder", 3),
        LETTER_14,
        step("costs", 21 + FOURTEEN_DAY_MINIMUM_SPAN, charges=BIK),
        kind=DebtorKind.CONSUMER,
    )
    assert validate_policy(good) is good


def test_contractual_interest_with_a_rate_is_accepted():
    charges = Charges(
        interest_from=InterestFrom.THIS_STEP,
        interest_kind=InterestKind.CONTRACTUAL,
        contractual_rate=Decimal("1.5"),
    )
    validate_policy(policy(step(charges=charges)))


def test_a_domain_error_names_its_field_in_str():
    with pytest.raises(DomainError, match=r"^steps: "):
        validate_policy(policy())


# --------------------------------------------------------------------------------- late fee


@pytest.mark.parametrize(
    ("fee", "principal", "expected"),
    [
        (LateFee(FeeKind.FIXED, Decimal("25")), Decimal("1000.00"), Decimal("25.00")),
        (LateFee(FeeKind.PERCENT, Decimal("2")), Decimal("1000.00"), Decimal("20.00")),
        (
            LateFee(FeeKind.PERCENT, Decimal("2"), minimum=Decimal("40")),
            Decimal("1000.00"),
            Decimal("40.00"),
        ),
        (
            LateFee(FeeKind.PERCENT, Decimal("2"), maximum=Decimal("100")),
            Decimal("10000.00"),
            Decimal("100.00"),
        ),
        (LateFee(FeeKind.PERCENT, Decimal("1.5")), Decimal("33.33"), Decimal("0.50")),
    ],
)
def test_late_fee_is_fixed_or_a_clamped_percentage(fee, principal, expected):
    assert fee.amount(principal) == expected


# --------------------------------------------------------------------------------- next step


def test_nothing_is_due_before_the_first_step():
    assert next_step(claim(), BUSINESS, day(-4)) is None
    assert next_action_on(claim(), BUSINESS) == day(-3)


def test_the_step_due_today_is_returned():
    chosen = next_step(claim(), BUSINESS, day(-3))
    assert chosen is not None
    assert (chosen.step.code, chosen.index, chosen.scheduled_on, chosen.skipped) == (
        "pre_due",
        0,
        day(-3),
        (),
    )


def test_after_missed_days_only_the_step_due_now_runs_and_the_others_are_skipped():
    chosen = next_step(claim(), BUSINESS, day(18))
    assert chosen is not None
    assert chosen.step.code == "demand"
    assert [s.code for s in chosen.skipped] == ["pre_due", "reminder", "call"]


def test_a_pre_due_reminder_is_not_sent_after_the_due_date():
    assert next_step(claim(), BUSINESS, day(1)) is None
    # the claim was looked at on day 1: next attention is the reminder at +3
    assert next_action_on(claim(), BUSINESS, processed_on=day(1)) == day(3)
    # without a run, a pre-due step that would fall after the due date is passed over
    late = claim(done=(StepDone("x", day(0)),))
    assert next_action_on(late, BUSINESS) == day(3)


def test_a_policy_of_only_a_pre_due_reminder_ends_after_the_due_date():
    only = policy(step("pre", -2))
    assert next_action_on(claim(), only) == day(-2)
    assert next_action_on(claim(), only, processed_on=day(0)) is None


def test_a_consumer_14_dagenbrief_is_never_skipped():
    """Art. 6:96 lid 6 BW: costs need the letter, so catching up sends the letter first."""
    chosen = next_step(claim(), CONSUMER, day(80))
    assert chosen is not None
    assert chosen.step.code == "fourteen_day"
    assert [s.code for s in chosen.skipped] == ["reminder", "second_reminder"]
    after = with_fourteen_day_term(advance(claim(), chosen, day(80)), day(98))
    assert next_step(after, CONSUMER, day(97)) is None
    assert next_action_on(after, CONSUMER) == day(98)
    costs = next_step(after, CONSUMER, day(98))
    assert costs is not None
    assert costs.step.code == "costs"


def test_consumer_charges_never_run_without_a_sent_letter():
    """A stale level past the letter (e.g. after a policy edit) never charges costs."""
    stale = claim(level=3)
    assert next_step(stale, CONSUMER, day(200)) is None
    # with a term but no letter recorded in this policy: still nothing
    assert (
        next_step(replace(stale, fourteen_day_costs_due_from=day(40)), CONSUMER, day(200)) is None
    )


def test_consumer_charges_wait_for_the_term_to_expire():
    letter_done = claim(level=3, done=(StepDone("fourteen_day", day(21)),))
    # the term's end is not known yet: the letter's record decides
    assert next_action_on(letter_done, CONSUMER) == day(21 + FOURTEEN_DAY_MINIMUM_SPAN)
    waiting = with_fourteen_day_term(letter_done, day(45))
    assert next_step(waiting, CONSUMER, day(44)) is None
    assert next_action_on(waiting, CONSUMER) == day(45)


def test_a_consumer_charging_step_due_in_catch_up_without_term_waits():
    """The letter was sent but its term was not recorded: the engine waits, never charges."""
    unknown_term = claim(level=3, done=(StepDone("fourteen_day", day(21)),))
    assert next_step(unknown_term, CONSUMER, day(60)) is None


def test_never_two_steps_on_one_day():
    done_today = claim(level=1, done=(StepDone("pre_due", day(3)),))
    assert next_step(done_today, BUSINESS, day(3)) is None
    assert next_action_on(done_today, BUSINESS) == day(4)


def test_previous_step_anchor_counts_from_the_day_the_step_was_done():
    late_letter = claim(level=3, done=(StepDone("fourteen_day", day(30)),))
    dates = scheduled_dates(late_letter, CONSUMER)
    assert dates[3] == day(30 + FOURTEEN_DAY_MINIMUM_SPAN)
    assert dates[4] == dates[3] + timedelta(days=14)


@pytest.mark.parametrize(
    ("changes", "pause"),
    [
        ({"open_amount": Decimal("0.00")}, Pause.SETTLED),
        ({"open_amount": Decimal("-5.00")}, Pause.SETTLED),
        ({"holds": (Hold(HoldKind.INSOLVENCY, until=day(-100)),)}, Pause.INSOLVENCY),
        ({"holds": (Hold(HoldKind.DECEASED),)}, Pause.DECEASED),
        ({"holds": (Hold(HoldKind.DISPUTE),)}, Pause.DISPUTE),
        ({"holds": (Hold(HoldKind.PROMISE, until=day(20)),)}, Pause.PROMISE),
        ({"holds": (Hold(HoldKind.PLAN),)}, Pause.PLAN),
        ({"holds": (Hold(HoldKind.MANUAL, until=day(10), starts_on=day(0)),)}, Pause.MANUAL),
        ({"open_amount": Decimal("4.99")}, Pause.BELOW_THRESHOLD),
        ({"customer_credit": Decimal("1000.00")}, Pause.CREDIT_BALANCE),
        ({"level": 5}, Pause.FINISHED),
    ],
)
def test_holds_and_derived_reasons_pause_dunning(changes, pause):
    paused = claim(**changes)
    guarded = replace(BUSINESS, minimum_amount=Decimal("5.00"))
    assert pause_reason(paused, guarded, day(5)) is pause
    assert next_step(paused, guarded, day(5)) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"open_amount": Decimal("0.00")}, None),
        ({"holds": (Hold(HoldKind.INSOLVENCY),)}, None),
        ({"holds": (Hold(HoldKind.DISPUTE),)}, None),
        ({"open_amount": Decimal("4.99")}, None),
        ({"customer_credit": Decimal("2000.00")}, None),
        ({"level": 5}, None),
        # a promise until day 20 resumes the day after (a broken promise resumes next day)
        ({"level": 1, "holds": (Hold(HoldKind.PROMISE, until=day(20)),)}, day(21)),
        # a hold that has not started yet does not move anything
        ({"level": 1, "holds": (Hold(HoldKind.MANUAL, until=day(9), starts_on=day(5)),)}, day(3)),
        # holds that follow each other are all passed
        (
            {
                "level": 1,
                "holds": (
                    Hold(HoldKind.MANUAL, until=day(9)),
                    Hold(HoldKind.PROMISE, until=day(15), starts_on=day(5)),
                ),
            },
            day(16),
        ),
    ],
)
def test_next_action_on_follows_holds(changes, expected):
    guarded = replace(BUSINESS, minimum_amount=Decimal("5.00"))
    assert next_action_on(claim(**changes), guarded) == expected


def test_a_started_hold_inactive_before_it_begins():
    hold = Hold(HoldKind.MANUAL, until=day(9), starts_on=day(5))
    assert not hold.active_on(day(4))
    assert hold.active_on(day(5))
    assert not hold.active_on(day(10))


def test_a_promise_that_ended_resumes_with_the_step_due_now():
    promised = claim(level=2, holds=(Hold(HoldKind.PROMISE, until=day(20)),))
    assert next_step(promised, BUSINESS, day(20)) is None
    resumed = next_step(promised, BUSINESS, day(21))
    assert resumed is not None
    assert resumed.step.code == "demand"
    assert [s.code for s in resumed.skipped] == ["call"]


def test_claim_lookups():
    c = claim(done=(StepDone("a", day(1)), StepDone("b", day(4))))
    assert c.done_on("b") == day(4)
    assert c.done_on("z") is None
    assert c.last_done_on == day(4)
    assert claim().last_done_on is None


# ----------------------------------------------------------------------------------- channels


@pytest.mark.parametrize(
    ("channels", "fallback", "reachable", "expected"),
    [
        ((Channel.EMAIL,), (Channel.LETTER,), {Channel.EMAIL, Channel.LETTER}, (Channel.EMAIL,)),
        ((Channel.EMAIL,), (Channel.LETTER,), {Channel.LETTER}, (Channel.LETTER,)),
        ((Channel.EMAIL,), (Channel.LETTER,), set(), ()),
        ((Channel.EMAIL,), (), {Channel.LETTER}, ()),
        (
            (Channel.EMAIL, Channel.LETTER),
            (Channel.LETTER,),
            {Channel.LETTER},
            (Channel.LETTER,),
        ),
        (
            (Channel.CALL,),
            (Channel.EMAIL, Channel.LETTER),
            {Channel.LETTER},
            (Channel.LETTER,),
        ),
        (
            (Channel.SMS, Channel.CALL),
            (Channel.EMAIL, Channel.LETTER),
            {Channel.EMAIL, Channel.LETTER},
            (Channel.EMAIL, Channel.LETTER),
        ),
        # a fallback already used as a primary channel is passed over for the next one
        (
            (Channel.EMAIL, Channel.SMS),
            (Channel.EMAIL, Channel.LETTER),
            {Channel.EMAIL, Channel.LETTER},
            (Channel.EMAIL, Channel.LETTER),
        ),
        # the fallback is already used as a primary channel: nothing is doubled
        (
            (Channel.SMS, Channel.EMAIL),
            (Channel.EMAIL,),
            {Channel.EMAIL},
            (Channel.EMAIL,),
        ),
        (
            (Channel.EMAIL, Channel.EMAIL),
            (),
            {Channel.EMAIL},
            (Channel.EMAIL,),
        ),
    ],
)
def test_unreachable_channels_fall_back(channels, fallback, reachable, expected):
    s = step(channels=channels, fallback=fallback)
    assert resolve_channels(s, frozenset(reachable)) == expected


# ---------------------------------------------------------------------------------- simulate


def test_simulate_walks_the_whole_business_path():
    path = simulate(claim(), BUSINESS, start=day(-10), until=day(60))
    assert [(d, s.code) for d, s in path] == [
        (day(-3), "pre_due"),
        (day(3), "reminder"),
        (day(10), "call"),
        (day(17), "demand"),
        (day(31), "final"),
    ]


def test_simulate_stops_when_nothing_will_happen():
    assert (
        simulate(claim(holds=(Hold(HoldKind.DISPUTE),)), BUSINESS, start=DUE, until=day(60)) == ()
    )


# --------------------------------------------------------------------------------- properties

policies = st.sampled_from([BUSINESS, CONSUMER, LATE_FEE])
offsets = st.integers(min_value=-10, max_value=120)


@st.composite
def claims(draw: st.DrawFn) -> tuple[Policy, ClaimSnapshot, list[int]]:
    chosen = draw(policies)
    run_days = sorted(draw(st.lists(offsets, min_size=1, max_size=25, unique=True)))
    holds = draw(
        st.lists(
            st.builds(
                Hold,
                kind=st.sampled_from([HoldKind.PROMISE, HoldKind.MANUAL]),
                until=offsets.map(day),
                starts_on=st.none() | offsets.map(day),
            ),
            max_size=2,
        )
    )
    amount = draw(st.decimals(min_value=1, max_value=100000, places=2))
    return chosen, claim(open_amount=amount, holds=tuple(holds)), run_days


@settings(max_examples=300, deadline=None)
@given(claims())
def test_dunning_never_goes_back_a_level_and_never_repeats_a_step(case):
    chosen_policy, current, run_days = case
    seen: set[str] = set()
    for offset in run_days:
        today = day(offset)
        chosen = next_step(current, chosen_policy, today)
        if chosen is None:
            continue
        assert chosen.index >= current.level
        assert chosen.step.code not in seen
        seen.add(chosen.step.code)
        before = current.level
        current = advance(current, chosen, today)
        if chosen.step.is_fourteen_day_letter:
            current = with_fourteen_day_term(current, today + timedelta(days=17))
        assert current.level > before
        following = next_action_on(current, chosen_policy, processed_on=today)
        assert following is None or following > today


@settings(max_examples=300, deadline=None)
@given(claims(), offsets)
def test_next_action_on_is_never_before_today_once_a_claim_was_processed(case, offset):
    chosen_policy, current, _ = case
    today = day(offset)
    following = next_action_on(current, chosen_policy, processed_on=today)
    assert following is None or following > today
    # and a step is never due before the day next_action_on names
    unprocessed = next_action_on(current, chosen_policy)
    if unprocessed is not None and today < unprocessed:
        assert next_step(current, chosen_policy, today) is None


@settings(max_examples=200, deadline=None)
@given(claims())
def test_a_consumer_is_never_charged_before_the_14_day_term_expired(case):
    """Art. 6:96 lid 6 BW, whatever days the run happens on."""
    _, current, run_days = case
    term_from: date | None = None
    for offset in run_days:
        today = day(offset)
        chosen = next_step(current, CONSUMER, today)
        if chosen is None:
            continue
        if chosen.step.charges.claims_anything:
            assert term_from is not None
            assert today >= term_from
        current = advance(current, chosen, today)
        if chosen.step.is_fourteen_day_letter:
            term_from = today + timedelta(days=19)
            current = with_fourteen_day_term(current, term_from)
