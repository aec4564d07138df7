"""Payment behaviour (betaalgedrag): metrics, a score A–E with its reasons, a risk score for new
customers, a credit check, and rules that *suggest* terms adapted to how a customer pays.

The law is silent on all of this; every threshold is a convention of the project, written down
in docs/algorithms/scoring.md. What the law does bound is the suggested payment term: between
businesses at most 60 days unless expressly agreed (art. 6:119a lid 5 BW), so a rule may not
suggest more than 60.

Everything is a pure function of its arguments: the same history and the same `today` always
give the same score, in any input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from betaald.core.calendar import add_months
from betaald.core.errors import DomainError
from betaald.core.money import ZERO, round_cents, to_money

GRADES = ("A", "B", "C", "D", "E")
# Weighted days late (recent window) up to which a grade is given, before penalties.
GRADE_LIMITS: tuple[tuple[str, Decimal], ...] = (
    ("A", Decimal("2")),
    ("B", Decimal("10")),
    ("C", Decimal("30")),
    ("D", Decimal("60")),
)
TREND_DAYS = Decimal("5")
RECENT_MONTHS = 12
ONE_DECIMAL = Decimal("0.1")
MAX_TERM_DAYS = 60


class InvalidInput(DomainError):
    """Scoring input that makes no sense (a negative amount or limit)."""


class Trend(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    WORSENING = "worsening"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class InvoiceRecord:
    """One invoice of the history. `paid_on` is the day it was paid in full, or None while
    open; an open invoice past its due date counts as late up to `today`."""

    due_on: date
    amount: Decimal
    paid_on: date | None = None


@dataclass(frozen=True, slots=True)
class History:
    """What a customer did: invoices, and the dates of reminders sent, broken and kept
    promises, broken plans and returned direct debits."""

    invoices: tuple[InvoiceRecord, ...] = ()
    reminders: tuple[date, ...] = ()
    broken_promises: tuple[date, ...] = ()
    kept_promises: tuple[date, ...] = ()
    broken_plans: tuple[date, ...] = ()
    returned_debits: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class Metrics:
    invoices: int
    average_days_late: Decimal
    weighted_days_late: Decimal
    on_time_percent: Decimal
    reminders: int
    broken_promises: int
    broken_plans: int
    returned_debits: int


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason behind a score: a stable `code` with its `values` (for the shell to word it
    in the user's language) and the English `text`."""

    code: str
    text: str
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Score:
    grade: str
    reasons: tuple[str, ...]
    metrics: Metrics
    recent: Metrics
    trend: Trend
    trend_days: Decimal | None
    explained: tuple[Reason, ...] = ()


def _days_late(record: InvoiceRecord, today: date) -> int | None:
    """Days paid after the due date (0 if on time); None for an invoice open on `today` and
    not yet due. An invoice paid after `today` was open on `today`."""
    paid_on = record.paid_on if record.paid_on is not None and record.paid_on <= today else None
    if paid_on is None and today <= record.due_on:
        return None
    return max(((paid_on or today) - record.due_on).days, 0)


def _one_decimal(value: Decimal) -> Decimal:
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _count(days: Iterable[date], since: date | None, today: date) -> int:
    return sum(1 for day in days if day <= today and (since is None or day > since))


def metrics(history: History, today: date, *, since: date | None = None) -> Metrics:
    """Metrics over the invoices due in ``(since, today]`` (all up to today if `since` is None)
    and the events in the same window. Averages are rounded to one decimal, half up."""
    late: list[tuple[int, Decimal]] = []
    for record in history.invoices:
        if record.due_on > today or (since is not None and record.due_on <= since):
            continue
        days = _days_late(record, today)
        if days is not None:
            late.append((days, record.amount))
    count = len(late)
    if count:
        average = _one_decimal(Decimal(sum(d for d, _a in late)) / count)
        weight = sum((a for _d, a in late), ZERO)
        weighted = (
            _one_decimal(sum((d * a for d, a in late), ZERO) / weight) if weight > 0 else average
        )
        on_time = _one_decimal(Decimal(100 * sum(1 for d, _a in late if d == 0)) / count)
    else:
        average = weighted = on_time = Decimal("0.0")
    return Metrics(
        invoices=count,
        average_days_late=average,
        weighted_days_late=weighted,
        on_time_percent=on_time,
        reminders=_count(history.reminders, since, today),
        broken_promises=_count(history.broken_promises, since, today),
        broken_plans=_count(history.broken_plans, since, today),
        returned_debits=_count(history.returned_debits, since, today),
    )


def _trend(recent: Metrics, before: Metrics) -> tuple[Trend, Decimal | None]:
    if recent.invoices == 0 or before.invoices == 0:
        return Trend.UNKNOWN, None
    delta = recent.weighted_days_late - before.weighted_days_late
    if delta <= -TREND_DAYS:
        return Trend.IMPROVING, delta
    if delta >= TREND_DAYS:
        return Trend.WORSENING, delta
    return Trend.STABLE, delta


def score(history: History, today: date) -> Score:
    """The grade A (best) to E (worst) with the reasons, from the last 12 months.

    1. Base grade from the amount-weighted days late of the invoices due in the last 12 months
       (all invoices if none was due then): ≤ 2 A, ≤ 10 B, ≤ 30 C, ≤ 60 D, else E.
    2. One grade down for each of: any broken promise; three or more broken promises; any
       broken payment plan; two or more returned direct debits; on average two or more
       reminders per invoice; fewer than half of the invoices paid on time. Never below E.
    3. No invoice due yet: C, neutral (no reason to reward or to refuse).
    """
    window_start = add_months(today, -RECENT_MONTHS)
    everything = metrics(history, today)
    recent = metrics(history, today, since=window_start)
    before = metrics(history, window_start)
    trend, delta = _trend(recent, before)
    basis = recent if recent.invoices else everything
    reasons: list[Reason] = []
    if basis.invoices == 0:
        grade_index = GRADES.index("C")
        reasons.append(Reason("no_history", "no invoice due yet: neutral grade C"))
    else:
        grade_index = next(
            (i for i, (_g, limit) in enumerate(GRADE_LIMITS) if basis.weighted_days_late <= limit),
            len(GRADE_LIMITS),
        )
        recent_window = bool(recent.invoices)
        window = "in the last 12 months" if recent_window else "overall"
        reasons.append(
            Reason(
                "base_recent" if recent_window else "base_overall",
                f"paid on average {basis.weighted_days_late} days late (weighted by amount) "
                f"{window}: grade {GRADES[grade_index]}",
                (("days", str(basis.weighted_days_late)), ("grade", GRADES[grade_index])),
            )
        )
    penalties = [
        (
            recent.broken_promises >= 1,
            Reason(
                "broken_promises",
                f"{recent.broken_promises} broken promise(s) to pay",
                (("count", str(recent.broken_promises)),),
            ),
        ),
        (
            recent.broken_promises >= 3,
            Reason("many_broken_promises", "three or more broken promises"),
        ),
        (
            recent.broken_plans >= 1,
            Reason(
                "broken_plans",
                f"{recent.broken_plans} broken payment plan(s)",
                (("count", str(recent.broken_plans)),),
            ),
        ),
        (
            recent.returned_debits >= 2,
            Reason(
                "returned_debits",
                f"{recent.returned_debits} returned direct debits",
                (("count", str(recent.returned_debits)),),
            ),
        ),
        (
            basis.invoices > 0 and recent.reminders >= 2 * basis.invoices,
            Reason(
                "many_reminders",
                f"{recent.reminders} reminders for {basis.invoices} invoice(s)",
                (("reminders", str(recent.reminders)), ("invoices", str(basis.invoices))),
            ),
        ),
        (
            basis.invoices > 0 and basis.on_time_percent < 50,
            Reason(
                "few_on_time",
                f"only {basis.on_time_percent}% paid on time",
                (("percent", str(basis.on_time_percent)),),
            ),
        ),
    ]
    for applies, reason in penalties:
        if applies:
            grade_index = min(grade_index + 1, len(GRADES) - 1)
            reasons.append(Reason(reason.code, f"{reason.text}: one grade down", reason.values))
    if trend is not Trend.UNKNOWN:
        reasons.append(
            Reason(
                f"trend_{trend.value}",
                f"trend {trend.value} ({delta:+} days against the year before)",
                (("days", f"{delta:+}"),),
            )
        )
    return Score(
        grade=GRADES[grade_index],
        reasons=tuple(r.text for r in reasons),
        metrics=everything,
        recent=recent,
        trend=trend,
        trend_days=delta,
        explained=tuple(reasons),
    )


# ------------------------------------------------------------------------- credit and risk


@dataclass(frozen=True, slots=True)
class CreditCheck:
    open_amount: Decimal
    order_amount: Decimal
    credit_limit: Decimal | None
    exposure: Decimal
    headroom: Decimal | None
    exceeds_limit: bool


def check_credit_limit(limit: Decimal | None) -> Decimal | None:
    """A credit limit is an amount of zero or more (zero: nothing on credit), or None: no limit."""
    if limit is None:
        return None
    value = to_money(limit, field="credit_limit")
    if value < 0:
        raise InvalidInput("a credit limit cannot be below zero", field="credit_limit")
    return value


def credit_check(
    open_amount: Decimal, order_amount: Decimal, credit_limit: Decimal | None
) -> CreditCheck:
    """Would the new order bring the customer's open amount over the limit (open + order >
    limit)? Without a limit nothing is exceeded."""
    limit = check_credit_limit(credit_limit)
    order = to_money(order_amount, field="order_amount")
    if order < 0:
        raise InvalidInput("an order amount cannot be negative", field="order_amount")
    exposure = to_money(open_amount, field="open_amount") + order
    headroom = None if limit is None else limit - exposure
    return CreditCheck(
        open_amount=exposure - order,
        order_amount=order,
        credit_limit=limit,
        exposure=exposure,
        headroom=headroom,
        exceeds_limit=headroom is not None and headroom < 0,
    )


class RiskClass(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


@dataclass(frozen=True, slots=True)
class DepositPolicy:
    """Deposit (aanbetaling) percentage per risk class; 100 means prepayment (vooruitbetaling)."""

    low: Decimal = Decimal("0")
    medium: Decimal = Decimal("0")
    high: Decimal = Decimal("30")
    very_high: Decimal = Decimal("100")

    def percent(self, risk: RiskClass) -> Decimal:
        return {
            RiskClass.LOW: self.low,
            RiskClass.MEDIUM: self.medium,
            RiskClass.HIGH: self.high,
            RiskClass.VERY_HIGH: self.very_high,
        }[risk]


@dataclass(frozen=True, slots=True)
class RiskInput:
    order_amount: Decimal
    open_amount: Decimal = ZERO
    credit_limit: Decimal | None = None
    founded_on: date | None = None
    grade: str | None = None
    is_insolvent: bool = False
    is_blocked: bool = False


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    points: int
    risk_class: RiskClass
    reasons: tuple[str, ...]
    deposit_percent: Decimal
    deposit_amount: Decimal
    prepayment_required: bool
    credit: CreditCheck
    explained: tuple[Reason, ...] = ()


GRADE_POINTS = {"A": -1, "B": 0, "C": 1, "D": 2, "E": 3}


def risk_score(
    data: RiskInput, today: date, deposits: DepositPolicy | None = None
) -> RiskAssessment:
    """An internal risk score before a (first) order; points add up, the class follows.

    company age: unknown +1, under 1 year +2, under 3 years +1; no credit limit set +1;
    open + order over the limit +3, over 80 % of it +1; payment grade A −1, B 0, C +1, D +2,
    E +3, no history +1. Class: ≤ 0 low, 1–2 medium, 3–4 high, ≥ 5 very high. Insolvency or a
    block makes it very high whatever the points.
    """
    deposits = deposits or DepositPolicy()
    credit = credit_check(data.open_amount, data.order_amount, data.credit_limit)
    points = 0
    reasons: list[Reason] = []

    def add(value: int, code: str, text: str, **values: str) -> None:
        nonlocal points
        points += value
        reasons.append(
            Reason(code, f"{text} ({value:+})", (*values.items(), ("points", f"{value:+}")))
        )

    if data.founded_on is None:
        add(1, "age_unknown", "age of the company unknown")
    elif data.founded_on > add_months(today, -12):
        add(2, "younger_than_1", "company younger than one year")
    elif data.founded_on > add_months(today, -36):
        add(1, "younger_than_3", "company younger than three years")
    else:
        add(0, "established", "company three years or older")
    if credit.credit_limit is None:
        add(1, "no_limit", "no credit limit set")
    elif credit.exceeds_limit:
        add(
            3,
            "over_limit",
            f"open plus this order ({credit.exposure}) exceeds the limit {credit.credit_limit}",
            exposure=str(credit.exposure),
            limit=str(credit.credit_limit),
        )
    elif credit.exposure * 5 > credit.credit_limit * 4:
        add(1, "near_limit", "open plus this order uses more than 80% of the limit")
    if data.grade is None:
        add(1, "no_history_here", "no payment history at this organisation")
    else:
        if data.grade not in GRADE_POINTS:
            raise InvalidInput(
                "unknown grade %(grade)s", field="grade", params={"grade": repr(data.grade)}
            )
        add(GRADE_POINTS[data.grade], "grade", f"payment grade {data.grade}", grade=data.grade)
    if points <= 0:
        risk = RiskClass.LOW
    elif points <= 2:
        risk = RiskClass.MEDIUM
    elif points <= 4:
        risk = RiskClass.HIGH
    else:
        risk = RiskClass.VERY_HIGH
    if data.is_insolvent:
        risk = RiskClass.VERY_HIGH
        reasons.append(Reason("insolvent", "insolvency registered: very high"))
    if data.is_blocked:
        risk = RiskClass.VERY_HIGH
        reasons.append(Reason("blocked", "customer blocked for new work: very high"))
    percent = deposits.percent(risk)
    return RiskAssessment(
        points=points,
        risk_class=risk,
        reasons=tuple(r.text for r in reasons),
        deposit_percent=percent,
        deposit_amount=round_cents(credit.order_amount * percent / 100),
        prepayment_required=percent >= 100,
        credit=credit,
        explained=tuple(reasons),
    )


# ------------------------------------------------------------------------ adaptive terms


class TermAction(StrEnum):
    LONGER_TERM = "longer_term"
    EARLY_PAYMENT_DISCOUNT = "early_payment_discount"
    PREPAYMENT = "prepayment"
    DIRECT_DEBIT_ONLY = "direct_debit_only"
    OFFER_DIRECT_DEBIT = "offer_direct_debit"
    LIFT_PREPAYMENT = "lift_prepayment"


@dataclass(frozen=True, slots=True)
class TermRule:
    """If the grade is one of `grades` (and the customer has been one for at least
    `min_customer_days`), suggest `action`. `payment_term_days` for LONGER_TERM,
    `discount_percent`/`discount_days` for EARLY_PAYMENT_DISCOUNT."""

    code: str
    grades: frozenset[str]
    action: TermAction
    min_customer_days: int = 0
    payment_term_days: int | None = None
    discount_percent: Decimal | None = None
    discount_days: int | None = None

    def __post_init__(self) -> None:
        if not self.grades or not self.grades <= set(GRADES):
            raise InvalidInput("a rule needs grades from A to E", field="grades")
        if self.action is TermAction.LONGER_TERM and not (
            self.payment_term_days and 0 < self.payment_term_days <= MAX_TERM_DAYS
        ):
            raise InvalidInput(
                "a longer term needs 1 to %(max)s days (art. 6:119a lid 5 BW)",
                field="payment_term_days",
                params={"max": MAX_TERM_DAYS},
            )
        if self.action is TermAction.EARLY_PAYMENT_DISCOUNT and not (
            self.discount_percent is not None
            and 0 < self.discount_percent < 100
            and self.discount_days
        ):
            raise InvalidInput(
                "an early-payment discount needs a percentage and a number of days",
                field="discount_percent",
            )


DEFAULT_RULES: tuple[TermRule, ...] = (
    TermRule("a_longer_term", frozenset({"A"}), TermAction.LONGER_TERM, payment_term_days=45),
    TermRule(
        "a_early_discount",
        frozenset({"A"}),
        TermAction.EARLY_PAYMENT_DISCOUNT,
        discount_percent=Decimal("2"),
        discount_days=10,
    ),
    TermRule("de_prepayment", frozenset({"D", "E"}), TermAction.PREPAYMENT),
    TermRule("de_direct_debit_only", frozenset({"D", "E"}), TermAction.DIRECT_DEBIT_ONLY),
    TermRule(
        "loyal_offer_direct_debit",
        frozenset({"A", "B"}),
        TermAction.OFFER_DIRECT_DEBIT,
        min_customer_days=730,
    ),
    TermRule("recovered_lift_prepayment", frozenset({"A", "B"}), TermAction.LIFT_PREPAYMENT),
)


@dataclass(frozen=True, slots=True)
class CurrentTerms:
    """What applies now, so a rule suggests only a change."""

    payment_term_days: int
    status: str = "active"  # active | blocked | prepayment (debtors.CustomerStatus)
    direct_debit_only: bool = False
    has_direct_debit: bool = False
    early_discount_percent: Decimal | None = None
    customer_since: date | None = None


@dataclass(frozen=True, slots=True)
class TermSuggestion:
    rule: str
    action: TermAction
    grade: str
    reason: str
    payment_term_days: int | None = None
    discount_percent: Decimal | None = None
    discount_days: int | None = None


def _changes_something(rule: TermRule, current: CurrentTerms) -> bool:
    action = rule.action
    if action is TermAction.LONGER_TERM:
        return current.status == "active" and (rule.payment_term_days or 0) > (
            current.payment_term_days
        )
    if action is TermAction.EARLY_PAYMENT_DISCOUNT:
        return current.status == "active" and current.early_discount_percent is None
    if action is TermAction.PREPAYMENT:
        return current.status == "active"
    if action is TermAction.DIRECT_DEBIT_ONLY:
        return not current.direct_debit_only and not current.has_direct_debit
    if action is TermAction.OFFER_DIRECT_DEBIT:
        return not current.has_direct_debit
    return current.status == "prepayment"  # LIFT_PREPAYMENT


def suggest_terms(
    result: Score,
    current: CurrentTerms,
    today: date,
    rules: Sequence[TermRule] = DEFAULT_RULES,
) -> tuple[TermSuggestion, ...]:
    """The changes of terms the rules suggest for a customer with this score. Nothing is
    applied here: the shell shows them in a review list and a person accepts or rejects."""
    suggestions: list[TermSuggestion] = []
    for rule in rules:
        if result.grade not in rule.grades:
            continue
        if rule.min_customer_days:
            since = current.customer_since
            if since is None or (today - since).days < rule.min_customer_days:
                continue
        if not _changes_something(rule, current):
            continue
        suggestions.append(
            TermSuggestion(
                rule=rule.code,
                action=rule.action,
                grade=result.grade,
                reason=f"grade {result.grade}: " + "; ".join(result.reasons),
                payment_term_days=rule.payment_term_days,
                discount_percent=rule.discount_percent,
                discount_days=rule.discount_days,
            )
        )
    return tuple(suggestions)
