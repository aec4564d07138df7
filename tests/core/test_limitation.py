"""betaald.core.limitation: the limitation term (art. 3:307, 7:28 BW) and its interruption
(stuiting, art. 3:316-3:319 BW). See docs/algorithms/limitation.md."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from betaald.core.calendar import add_years
from betaald.core.errors import InvalidPeriod
from betaald.core.limitation import (
    TERM_YEARS,
    Interruption,
    InterruptionKind,
    LimitationKind,
    limitation,
)

GENERAL = LimitationKind.GENERAL
CONSUMER_SALE = LimitationKind.CONSUMER_SALE
DEMAND = InterruptionKind.WRITTEN_DEMAND
ACKNOWLEDGEMENT = InterruptionKind.ACKNOWLEDGEMENT
LEGAL_ACTION = InterruptionKind.LEGAL_ACTION


@pytest.mark.parametrize(
    ("due_on", "kind", "last_day"),
    [
        (date(2021, 3, 15), GENERAL, date(2026, 3, 15)),
        (date(2021, 12, 31), GENERAL, date(2026, 12, 31)),
        (date(2024, 2, 29), GENERAL, date(2029, 2, 28)),  # 29 Feb -> 28 Feb
        (date(2020, 2, 29), GENERAL, date(2025, 2, 28)),
        (date(2021, 3, 15), CONSUMER_SALE, date(2023, 3, 15)),
        (date(2024, 2, 29), CONSUMER_SALE, date(2026, 2, 28)),
        (date(2026, 2, 28), CONSUMER_SALE, date(2028, 2, 28)),  # 28 Feb stays 28 Feb
    ],
)
def test_the_term_ends_on_the_same_calendar_date_years_after_the_due_date(due_on, kind, last_day):
    """Art. 3:307 lid 1 BW (5 years) and art. 7:28 BW (2 years, consumer sale): the term starts
    the day after the claim became due; the last day is the due date's calendar date, 29
    February becoming 28 February (convention)."""
    result = limitation(due_on=due_on, kind=kind)
    assert result.original_last_day == last_day
    assert result.last_day == last_day
    assert result.term_years == TERM_YEARS[kind]
    assert result.rows == ()
    assert result.due_on == due_on
    assert not result.is_pending


def test_the_claim_is_barred_only_after_the_last_day():
    """Art. 3:307 lid 1 BW: the last day still belongs to the term; art. 3:322 BW: a barred
    claim is not extinguished, the debtor must invoke limitation (the core only reports it)."""
    result = limitation(due_on=date(2020, 1, 31), kind=GENERAL)
    assert result.last_day == date(2025, 1, 31)
    assert not result.is_barred(date(2025, 1, 30))
    assert not result.is_barred(date(2025, 1, 31))
    assert result.is_barred(date(2025, 2, 1))
    assert result.days_left(date(2025, 1, 30)) == 1
    assert result.days_left(date(2025, 1, 31)) == 0
    assert result.days_left(date(2025, 2, 1)) == -1
    assert result.days_left(date(2020, 1, 31)) == 1827


@pytest.mark.parametrize(
    ("kind", "act", "last_day"),
    [
        (GENERAL, DEMAND, date(2028, 6, 7)),
        (GENERAL, ACKNOWLEDGEMENT, date(2028, 6, 7)),
        (CONSUMER_SALE, DEMAND, date(2025, 6, 7)),  # the new term is 2 years, not 5
        (CONSUMER_SALE, ACKNOWLEDGEMENT, date(2025, 6, 7)),
    ],
)
def test_an_interruption_starts_a_new_term_of_the_original_length(kind, act, last_day):
    """Art. 3:317 lid 1 BW (written demand) and art. 3:318 BW (acknowledgement) interrupt; art.
    3:319 lid 1 BW: a new term of the original length, at most 5 years, starts the next day."""
    result = limitation(
        due_on=date(2021, 12, 15),
        kind=kind,
        interruptions=[Interruption(on=date(2023, 6, 7), kind=act, note="aanmaning")],
    )
    assert result.last_day == last_day
    (row,) = result.rows
    assert (row.on, row.kind, row.note) == (date(2023, 6, 7), act, "aanmaning")
    assert row.last_day_before == result.original_last_day
    assert row.last_day_after == last_day
    assert row.counted
    assert "3:319" in row.reason


def test_the_worked_example_of_the_documentation():
    """docs/algorithms/limitation.md: invoice due 2021-03-15, written demand received
    2023-06-07 (art. 3:317 lid 1, 3:37 lid 3 BW), part payment 2025-01-10 (art. 3:318 BW);
    each starts a new 5-year term (art. 3:319 lid 1 BW) -> last day 2030-01-10."""
    acts = [
        Interruption(date(2023, 6, 7), DEMAND, "aanmaning, presumed received 2023-06-07"),
        Interruption(date(2025, 1, 10), ACKNOWLEDGEMENT, "part payment EUR 100.00"),
    ]
    result = limitation(due_on=date(2021, 3, 15), kind=GENERAL, interruptions=acts)
    assert result.original_last_day == date(2026, 3, 15)
    assert [(r.last_day_before, r.last_day_after, r.counted) for r in result.rows] == [
        (date(2026, 3, 15), date(2028, 6, 7), True),
        (date(2028, 6, 7), date(2030, 1, 10), True),
    ]
    assert result.last_day == date(2030, 1, 10)
    assert result.days_left(date(2026, 11, 30)) == 1137


def test_the_worked_example_as_a_consumer_sale_is_barred_before_the_demand():
    """docs/algorithms/limitation.md, art. 7:28 BW: 2 years from 2021-03-15 end on 2023-03-15;
    the later demand and part payment do not revive the claim, they are listed as not counted
    (art. 3:322 BW: the debtor must invoke limitation)."""
    acts = [
        Interruption(date(2023, 6, 7), DEMAND),
        Interruption(date(2025, 1, 10), ACKNOWLEDGEMENT),
    ]
    result = limitation(due_on=date(2021, 3, 15), kind=CONSUMER_SALE, interruptions=acts)
    assert result.last_day == date(2023, 3, 15)
    assert [(r.last_day_before, r.last_day_after, r.counted) for r in result.rows] == [
        (date(2023, 3, 15), date(2023, 3, 15), False),
        (date(2023, 3, 15), date(2023, 3, 15), False),
    ]
    assert all("3:322" in row.reason for row in result.rows)
    assert result.is_barred(date(2026, 11, 30))


@pytest.mark.parametrize(
    ("act_on", "counted", "last_day"),
    [
        (date(2025, 1, 30), True, date(2030, 1, 30)),
        (date(2025, 1, 31), True, date(2030, 1, 31)),  # on the very last day: still in time
        (date(2025, 2, 1), False, date(2025, 1, 31)),  # the day after: too late
        (date(2026, 7, 1), False, date(2025, 1, 31)),
    ],
)
def test_an_interruption_counts_up_to_and_including_the_last_day(act_on, counted, last_day):
    """Art. 3:317 lid 1 BW with art. 3:319 lid 1 BW: a demand that reaches the debtor on the
    last day interrupts; one the day after does not revive the claim (art. 3:322 BW)."""
    result = limitation(
        due_on=date(2020, 1, 31),
        kind=GENERAL,
        interruptions=[Interruption(act_on, DEMAND)],
    )
    (row,) = result.rows
    assert row.counted is counted
    assert row.last_day_after == last_day
    assert result.last_day == last_day
    assert ("3:322" in row.reason) is not counted


@pytest.mark.parametrize(
    ("due_on", "act_on", "kind", "last_day"),
    [
        (date(2023, 2, 28), date(2024, 2, 29), GENERAL, date(2029, 2, 28)),
        (date(2023, 2, 28), date(2024, 2, 29), CONSUMER_SALE, date(2026, 2, 28)),
        (date(2024, 2, 29), date(2028, 2, 29), GENERAL, date(2033, 2, 28)),
        (date(2024, 2, 29), date(2026, 2, 28), CONSUMER_SALE, date(2028, 2, 28)),
        (date(2024, 2, 29), date(2024, 2, 29), GENERAL, date(2029, 2, 28)),  # on the due date
    ],
)
def test_an_interruption_on_29_february_ends_on_28_february(due_on, act_on, kind, last_day):
    """Art. 3:319 lid 1 BW: the new term ends on the calendar date of the interruption; 29
    February becomes 28 February in a year without it (convention)."""
    result = limitation(due_on=due_on, kind=kind, interruptions=[Interruption(act_on, DEMAND)])
    assert result.rows[0].counted
    assert result.last_day == last_day


def test_several_interruptions_are_applied_in_date_order():
    """Art. 3:319 lid 1 BW: every act within the running term starts a new term; the acts are
    applied in date order whatever order they are given in; one after a gap too long is too
    late even if an earlier act was in time (art. 3:322 BW)."""
    acts = [
        Interruption(date(2031, 1, 1), DEMAND, "too late"),
        Interruption(date(2022, 5, 1), ACKNOWLEDGEMENT, "payment plan requested"),
        Interruption(date(2019, 9, 1), DEMAND, "aanmaning"),
    ]
    result = limitation(due_on=date(2018, 6, 30), kind=GENERAL, interruptions=acts)
    assert [(r.note, r.last_day_before, r.last_day_after, r.counted) for r in result.rows] == [
        ("aanmaning", date(2023, 6, 30), date(2024, 9, 1), True),
        ("payment plan requested", date(2024, 9, 1), date(2027, 5, 1), True),
        ("too late", date(2027, 5, 1), date(2027, 5, 1), False),
    ]
    assert result.last_day == date(2027, 5, 1)


def test_an_early_interruption_never_shortens_the_term():
    """Art. 3:319 lid 1 BW: the new term never ends before the original one; an acknowledgement
    on the due date itself restarts a term with the same last day."""
    result = limitation(
        due_on=date(2021, 3, 15),
        kind=GENERAL,
        interruptions=[Interruption(date(2021, 3, 15), ACKNOWLEDGEMENT)],
    )
    assert result.last_day == result.original_last_day == date(2026, 3, 15)
    assert result.rows[0].counted


def test_a_legal_action_stops_the_term_while_proceedings_are_pending():
    """Art. 3:316 lid 1 BW: legal action interrupts and the term does not run while the
    proceedings are pending (last day None); later acts are listed but not counted."""
    acts = [
        Interruption(date(2022, 1, 10), DEMAND),
        Interruption(date(2024, 4, 2), LEGAL_ACTION, "dagvaarding"),
        Interruption(date(2025, 5, 1), ACKNOWLEDGEMENT, "part payment"),
    ]
    result = limitation(due_on=date(2021, 3, 15), kind=GENERAL, interruptions=acts)
    assert result.last_day is None
    assert result.is_pending
    assert not result.is_barred(date(2040, 1, 1))
    assert result.days_left(date(2040, 1, 1)) is None
    assert [(r.last_day_before, r.last_day_after, r.counted) for r in result.rows] == [
        (date(2026, 3, 15), date(2027, 1, 10), True),
        (date(2027, 1, 10), None, True),
        (date(2027, 1, 10), None, False),
    ]
    assert "3:316" in result.rows[1].reason
    assert "pending" in result.rows[2].reason


def test_a_legal_action_after_the_last_day_does_not_revive_the_claim():
    """Art. 3:316 BW interrupts only a running term; after the last day the claim stays barred
    and the debtor must invoke it (art. 3:322 BW)."""
    result = limitation(
        due_on=date(2021, 3, 15),
        kind=CONSUMER_SALE,
        interruptions=[Interruption(date(2023, 3, 16), LEGAL_ACTION)],
    )
    assert result.last_day == date(2023, 3, 15)
    assert not result.rows[0].counted
    assert result.is_barred(date(2023, 3, 16))


def test_a_demand_and_a_summons_on_one_day_both_count():
    """Art. 3:317 lid 1 and 3:316 BW: on one day the demand is applied before the legal action,
    whatever order they are given in, so both are counted."""
    demand = Interruption(date(2024, 4, 2), DEMAND)
    summons = Interruption(date(2024, 4, 2), LEGAL_ACTION)
    for acts in ([summons, demand], [demand, summons]):
        result = limitation(due_on=date(2021, 3, 15), kind=GENERAL, interruptions=acts)
        assert [(r.kind, r.counted) for r in result.rows] == [
            (DEMAND, True),
            (LEGAL_ACTION, True),
        ]
        assert result.last_day is None


def test_an_interruption_before_the_due_date_is_refused():
    """Art. 3:307 lid 1 BW: the term starts after the claim became due; an act before that does
    not interrupt this term, so it is an input error, not a row."""
    with pytest.raises(InvalidPeriod) as raised:
        limitation(
            due_on=date(2021, 3, 15),
            kind=GENERAL,
            interruptions=[
                Interruption(date(2022, 1, 1), DEMAND),
                Interruption(date(2021, 3, 14), DEMAND),
            ],
        )
    error = raised.value
    assert error.field == "interruptions"
    assert error.template == "an interruption on %(on)s is before the due date %(due_on)s"
    assert error.message == "an interruption on 2021-03-14 is before the due date 2021-03-15"


def test_the_kind_may_be_given_as_its_stored_value():
    """Art. 7:28 BW: the shell stores the kind as text; the value selects the same term."""
    result = limitation(due_on=date(2021, 3, 15), kind="consumer_sale")  # type: ignore[arg-type]
    assert result.kind is CONSUMER_SALE
    assert result.last_day == date(2023, 3, 15)


# -- properties ---------------------------------------------------------------------------

DUE_DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
KINDS = st.sampled_from(list(LimitationKind))


@st.composite
def claims(draw, *, legal_actions=True):
    """A due date, a kind and up to 6 acts within 12 years after the due date."""
    due_on = draw(DUE_DATES)
    act_kinds = list(InterruptionKind) if legal_actions else [DEMAND, ACKNOWLEDGEMENT]
    acts = draw(
        st.lists(
            st.builds(
                Interruption,
                on=st.integers(0, 12 * 366).map(lambda n: date.fromordinal(due_on.toordinal() + n)),
                kind=st.sampled_from(act_kinds),
                note=st.sampled_from(["", "a", "b"]),
            ),
            max_size=6,
        )
    )
    return due_on, draw(KINDS), acts


def _later_or_equal(after, before):
    """None (pending) is later than every date."""
    return after is None or (before is not None and after >= before)


@settings(deadline=None)
@given(claims())
def test_the_last_day_is_never_before_the_original_last_day(claim):
    """Art. 3:319 lid 1 BW: an interruption never makes the term end before the original."""
    due_on, kind, acts = claim
    result = limitation(due_on=due_on, kind=kind, interruptions=acts)
    assert _later_or_equal(result.last_day, result.original_last_day)
    for row in result.rows:
        assert _later_or_equal(row.last_day_after, row.last_day_before)


@settings(deadline=None)
@given(claims(), st.integers(0, 12 * 366), st.sampled_from(list(InterruptionKind)))
def test_adding_an_interruption_never_makes_the_last_day_earlier(claim, offset, act_kind):
    """Art. 3:316-3:319 BW: one more act can only keep or extend the term."""
    due_on, kind, acts = claim
    extra = Interruption(date.fromordinal(due_on.toordinal() + offset), act_kind)
    before = limitation(due_on=due_on, kind=kind, interruptions=acts)
    after = limitation(due_on=due_on, kind=kind, interruptions=[*acts, extra])
    assert _later_or_equal(after.last_day, before.last_day)


@settings(deadline=None)
@given(claims(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_order_of_the_interruptions(claim, random):
    """Art. 3:319 lid 1 BW: the acts are applied in date order, whatever the input order."""
    due_on, kind, acts = claim
    shuffled = list(acts)
    random.shuffle(shuffled)
    assert limitation(due_on=due_on, kind=kind, interruptions=shuffled) == limitation(
        due_on=due_on, kind=kind, interruptions=acts
    )


@settings(deadline=None)
@given(claims(legal_actions=False))
def test_without_a_summons_the_last_day_follows_the_last_act_in_time(claim):
    """Art. 3:317-3:319 BW: the last day is the latest of the original last day and the date of
    each counted act plus the term; uncounted acts lie after the last day then in force."""
    due_on, kind, acts = claim
    result = limitation(due_on=due_on, kind=kind, interruptions=acts)
    years = result.term_years
    counted = [row.on for row in result.rows if row.counted]
    assert result.last_day == max(
        [result.original_last_day, *(add_years(d, years) for d in counted)]
    )
    for row in result.rows:
        assert row.counted is (row.on <= row.last_day_before)
