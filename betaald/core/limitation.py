"""Limitation (verjaring) of a claim for payment, and its interruption (stuiting).

- The term starts the day after the claim became due (opeisbaar) and lasts 5 years
  (art. 3:307 lid 1 BW), or 2 years for the price in a consumer sale, including energy, heat
  and digital content (art. 7:28 BW with art. 7:5 lid 5 BW). The last day is the due date plus
  the term in years, the same calendar date; 29 February becomes 28 February (convention,
  `calendar.add_years`).
- Interruption (stuiting) by a written demand or an unambiguous written reservation of the right
  (art. 3:317 lid 1 BW), effective on the day it reaches the debtor (art. 3:37 lid 3 BW); by an
  acknowledgement (art. 3:318 BW: a part payment, a request for or agreement to a payment plan,
  a promise to pay); or by legal action (art. 3:316 BW).
- Acts are applied in date order; on one day demand, acknowledgement, legal action, then by
  note, so the result does not depend on the order they are given in. An act on or before the
  current last day interrupts: a new term of the original length, at most 5 years, starts the
  next day (art. 3:319 lid 1 BW) and the last day never moves earlier. A legal action stops the
  term while the proceedings are pending (art. 3:316 lid 1 BW): `last_day` is None and later
  acts are listed, not counted. An act after the last day does not revive the claim; it is
  listed with `counted=False`, since the debtor must invoke limitation (art. 3:322 BW).
- Out of scope: interest and periodic payments (art. 3:308, 3:312 BW), the end of proceedings
  (art. 3:316 lid 2, 3:324 BW), extension (verlenging, art. 3:320 BW) and waiver (art. 3:322
  lid 3 BW).
See docs/algorithms/limitation.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from betaald.core.calendar import add_years
from betaald.core.errors import InvalidPeriod

#: The longest new term after an interruption (art. 3:319 lid 1 BW).
MAX_NEW_TERM_YEARS = 5


class LimitationKind(StrEnum):
    """Which limitation term applies to the claim."""

    GENERAL = "general"  # 5 years, art. 3:307 BW
    CONSUMER_SALE = "consumer_sale"  # 2 years, art. 7:28 BW (incl. art. 7:5 lid 5 BW)


#: The term in years per kind (art. 3:307 lid 1, 7:28 BW).
TERM_YEARS: dict[LimitationKind, int] = {
    LimitationKind.GENERAL: 5,
    LimitationKind.CONSUMER_SALE: 2,
}


class InterruptionKind(StrEnum):
    """The act that interrupts (stuit) the limitation term."""

    WRITTEN_DEMAND = "written_demand"  # art. 3:317 lid 1 BW, effective on receipt (3:37 lid 3)
    ACKNOWLEDGEMENT = "acknowledgement"  # art. 3:318 BW
    LEGAL_ACTION = "legal_action"  # art. 3:316 BW


#: On one day the acts are applied in this order (a legal action last, so that a demand or
#: acknowledgement of the same day is still counted before the term stops).
_SAME_DAY_ORDER = {kind: position for position, kind in enumerate(InterruptionKind)}


@dataclass(frozen=True, slots=True)
class Interruption:
    """An act that interrupts the term, on the day it took effect.

    For a written demand `on` is the day it reached the debtor (art. 3:37 lid 3 BW), e.g. the
    presumed receipt of a posted letter (`calendar.presumed_receipt`).
    """

    on: date
    kind: InterruptionKind
    note: str = ""


@dataclass(frozen=True, slots=True)
class LimitationRow:
    """One act in the explanation a dossier prints.

    `last_day_before` is the last day in force before the act (while proceedings are pending:
    the last day that ran when they started); `last_day_after` is the last day after it, None
    while proceedings are pending. `counted` says whether the act interrupted the term.
    """

    on: date
    kind: InterruptionKind
    note: str
    last_day_before: date
    last_day_after: date | None
    counted: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Limitation:
    """The limitation of one claim: its term, the original and the current last day, the acts."""

    kind: LimitationKind
    term_years: int
    original_last_day: date
    last_day: date | None
    rows: tuple[LimitationRow, ...]
    due_on: date

    @property
    def is_pending(self) -> bool:
        """True while a legal action stops the term (art. 3:316 lid 1 BW)."""
        return self.last_day is None

    def is_barred(self, today: date) -> bool:
        """True when `today` is after the last day (never while proceedings are pending).

        A barred claim still exists: the debtor must invoke limitation (art. 3:322 lid 1 BW).
        """
        return self.last_day is not None and today > self.last_day

    def days_left(self, today: date) -> int | None:
        """Days from `today` to the last day (0 on the last day, negative when barred); None
        while proceedings are pending."""
        if self.last_day is None:
            return None
        return (self.last_day - today).days


_REASONS = {
    InterruptionKind.WRITTEN_DEMAND: (
        "written demand (art. 3:317 lid 1 BW): a new term starts the next day (art. 3:319 BW)"
    ),
    InterruptionKind.ACKNOWLEDGEMENT: (
        "acknowledgement (art. 3:318 BW): a new term starts the next day (art. 3:319 BW)"
    ),
    InterruptionKind.LEGAL_ACTION: (
        "legal action (art. 3:316 BW): the term does not run while proceedings are pending"
    ),
}
_REASON_PENDING = "not counted: proceedings are pending (art. 3:316 BW)"
_REASON_BARRED = (
    "not counted: after the last day the claim is time-barred; the debtor must invoke it "
    "(art. 3:322 BW)"
)


def _order(interruption: Interruption) -> tuple[date, int, str]:
    return interruption.on, _SAME_DAY_ORDER[interruption.kind], interruption.note


def limitation(
    *, due_on: date, kind: LimitationKind, interruptions: Iterable[Interruption] = ()
) -> Limitation:
    """The limitation of a claim due on `due_on`, with the interruptions (stuiting) applied.

    The term starts on `due_on` + 1 (art. 3:307 lid 1 BW); the last day is `due_on` plus 5
    years, 2 for a consumer sale (art. 7:28 BW). Each act on or before the current last day
    interrupts (art. 3:316-3:318 BW); a new term of the same length, at most 5 years, then runs
    from the next day (art. 3:319 lid 1 BW) and never ends before the current last day. A legal
    action makes `last_day` None (pending, art. 3:316 lid 1 BW). Acts after the last day are
    listed but do not revive the claim (art. 3:322 BW). Raises `InvalidPeriod` for an act
    before `due_on`: it does not interrupt this term.
    """
    kind = LimitationKind(kind)
    term_years = TERM_YEARS[kind]
    new_term_years = min(term_years, MAX_NEW_TERM_YEARS)
    acts = sorted(interruptions, key=_order)
    for act in acts:
        if act.on < due_on:
            raise InvalidPeriod(
                "an interruption on %(on)s is before the due date %(due_on)s",
                field="interruptions",
                params={"on": act.on, "due_on": due_on},
            )
    original_last_day = add_years(due_on, term_years)
    running = original_last_day  # the last day of the term that runs (or ran until a summons)
    pending = False
    rows: list[LimitationRow] = []
    for act in acts:
        before = running
        if pending:
            counted, after, reason = False, None, _REASON_PENDING
        elif act.on > running:
            counted, after, reason = False, running, _REASON_BARRED
        elif act.kind == InterruptionKind.LEGAL_ACTION:
            counted, after, reason = True, None, _REASONS[act.kind]
            pending = True
        else:
            running = max(running, add_years(act.on, new_term_years))
            counted, after, reason = True, running, _REASONS[act.kind]
        rows.append(
            LimitationRow(
                on=act.on,
                kind=act.kind,
                note=act.note,
                last_day_before=before,
                last_day_after=after,
                counted=counted,
                reason=reason,
            )
        )
    return Limitation(
        kind=kind,
        term_years=term_years,
        original_last_day=original_last_day,
        last_day=None if pending else running,
        rows=tuple(rows),
        due_on=due_on,
    )
