"""The calculator's calculations: raw input in, the JSON contract of issue 4 out.

Shared by the `betaald calc` command, the API (`POST /api/v1/calc/...`) and the web page.
Every function validates its raw input (strings, or a decoded JSON object) and raises a
`DomainError` whose `field` names the offending input; the results are plain dicts with
amounts as strings with two decimals and dates in ISO form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from betaald import identifiers
from betaald.core.allocation import Claim, allocate_payment
from betaald.core.calendar import fourteen_day_term
from betaald.core.collection_costs import collection_costs
from betaald.core.errors import DomainError, InvalidAmount, InvalidPeriod, RateNotFound
from betaald.core.interest import statutory_interest
from betaald.core.money import to_money
from betaald.core.rates import RateTable, StaleRate, rate_on
from betaald.core.statement import CapitalisationEvent, Payment, claim_statement
from betaald.rates.selectors import atw_holidays, rate_table

KINDS = ("statutory", "commercial")
CHECK_KINDS = ("kvk", "btw-id", "rsin", "iban", "sepa-creditor-id")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_AMOUNT = re.compile(r"\s*-?\d+(\.\d+)?\s*", re.ASCII)
_PERCENT = re.compile(r"\d+(\.\d+)?", re.ASCII)
PERCENT = Decimal("0.01")


class InvalidInput(DomainError):
    """Input the calculator cannot read (a malformed date, amount, kind or JSON document)."""


# --- parsing ------------------------------------------------------------------------------


def parse_date(value: object, *, field: str) -> date:
    """A date in ISO form YYYY-MM-DD (nothing else)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise InvalidInput(
            "%(value)s is not a date in the form YYYY-MM-DD",
            field=field,
            params={"value": repr(value)},
        )
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            "%(value)s is not an existing date", field=field, params={"value": repr(value)}
        ) from None


def parse_amount(value: object, *, field: str, allow_zero: bool = True) -> Decimal:
    """An amount with at most two decimals, not negative ("1000.00", "1000", 12)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidInput('must be an amount as a string, e.g. "1000.00"', field=field)
    if isinstance(value, str) and not _AMOUNT.fullmatch(value):
        raise InvalidInput(
            "%(value)s is not an amount like 1000.00", field=field, params={"value": repr(value)}
        )
    text = str(value).strip()
    amount = to_money(text, field=field)
    if amount < 0:
        raise InvalidAmount("%(value)s is negative", field=field, params={"value": repr(text)})
    if not allow_zero and amount == 0:
        raise InvalidAmount("must be more than 0.00", field=field)
    return amount


def parse_percent(value: object, *, field: str) -> Decimal:
    """A yearly interest percentage ("12.50"), not negative."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidInput('must be a percentage as a string, e.g. "8.00"', field=field)
    text = str(value).strip()
    if not _PERCENT.fullmatch(text):
        raise InvalidInput(
            "%(value)s is not a percentage like 8.00", field=field, params={"value": repr(value)}
        )
    return Decimal(text)


def parse_kind(value: object, *, field: str = "kind") -> str:
    if value not in KINDS:
        raise InvalidInput(
            "%(value)s is not one of %(kinds)s",
            field=field,
            params={"value": repr(value), "kinds": ", ".join(KINDS)},
        )
    return str(value)


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def _table(kind: str, *, allow_stale: bool) -> RateTable:
    table = rate_table(kind)
    return table.unbounded() if allow_stale else table


def _rates_checked(
    table: RateTable, first: date, last: date, *, first_field: str, last_field: str
) -> None:
    """Name the right input when a day has no (confirmed) rate."""
    try:
        rate_on(table, first)
    except StaleRate as error:
        raise StaleRate(error.template, field=first_field, params=error.params) from None
    except RateNotFound as error:
        raise RateNotFound(error.template, field=first_field, params=error.params) from None
    try:
        rate_on(table, last)
    except RateNotFound as error:
        raise type(error)(error.template, field=last_field, params=error.params) from None


def _object(value: object, *, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("must be a JSON object", field=field)
    return value


def _required(data: dict[str, Any], key: str, *, prefix: str = "") -> Any:
    if key not in data or data[key] is None:
        raise InvalidInput("is missing", field=f"{prefix}{key}")
    return data[key]


# --- the calculations ---------------------------------------------------------------------


def interest(
    *,
    kind: object,
    principal: object,
    first_day: object,
    last_day: object,
    simple: bool = False,
    allow_stale: bool = False,
    fields: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Statutory (art. 6:119 BW) or commercial (art. 6:119a BW) interest, both days inclusive."""
    names = {"kind": "kind", "principal": "principal", "from": "from", "to": "to"} | (fields or {})
    kind_value = parse_kind(kind, field=names["kind"])
    amount = parse_amount(principal, field=names["principal"])
    first = parse_date(first_day, field=names["from"])
    last = parse_date(last_day, field=names["to"])
    if last < first:
        raise InvalidPeriod("is before the first day of interest", field=names["to"])
    table = _table(kind_value, allow_stale=allow_stale)
    _rates_checked(table, first, last, first_field=names["from"], last_field=names["to"])
    result = statutory_interest(amount, first, last, table, compound=not simple)
    return {
        "days": result.days,
        "interest": money(result.interest),
        "total": money(result.total),
        "years": [
            {
                "from": row.first_day.isoformat(),
                "to": row.last_day.isoformat(),
                "interest": money(row.interest),
                "capitalised": row.capitalised,
            }
            for row in result.years
        ],
    }


def rate(
    *, kind: object, on: object, allow_stale: bool = False, fields: dict[str, str] | None = None
) -> dict[str, Any]:
    """The statutory or commercial yearly percentage on a day (art. 6:120 BW)."""
    names = {"kind": "kind", "on": "on"} | (fields or {})
    kind_value = parse_kind(kind, field=names["kind"])
    day = parse_date(on, field=names["on"])
    table = _table(kind_value, allow_stale=allow_stale)
    _rates_checked(table, day, day, first_field=names["on"], last_field=names["on"])
    percent = rate_on(table, day)
    return {"percent": f"{percent.quantize(PERCENT, rounding=ROUND_HALF_UP)}"}


def costs(
    *, principals: Iterable[object], vat: bool = False, field: str = "principal"
) -> dict[str, Any]:
    """BIK per the staffel on the sum of the principals (art. 6:96 lid 7 BW)."""
    amounts = [parse_amount(value, field=field) for value in principals]
    try:
        result = collection_costs(amounts, vat_applies=vat)
    except DomainError as error:
        raise InvalidAmount(error.template, field=field, params=error.params) from None
    return {
        "principal": money(result.principal),
        "costs": money(result.costs),
        "vat": money(result.vat),
        "total": money(result.total),
    }


def deadline(
    *, sent: object, delivered: object = None, fields: dict[str, str] | None = None
) -> dict[str, Any]:
    """Presumed receipt and the 14-day term of art. 6:96 lid 6 BW."""
    names = {"sent": "sent", "delivered": "delivered"} | (fields or {})
    sent_on = parse_date(sent, field=names["sent"])
    delivered_on = None if delivered is None else parse_date(delivered, field=names["delivered"])
    if delivered_on is not None and delivered_on < sent_on:
        raise InvalidPeriod("is before the day the letter was sent", field=names["delivered"])
    term = fourteen_day_term(sent_on, holidays=atw_holidays(), delivered_on=delivered_on)
    return {
        "presumed_receipt": term.presumed_receipt.isoformat(),
        "term_first_day": term.term_first_day.isoformat(),
        "term_last_day": term.term_last_day.isoformat(),
        "costs_due_from": term.costs_due_from.isoformat(),
    }


def allocate(data: object) -> dict[str, Any]:
    """A payment over claims (art. 6:43, 6:44 BW) from the JSON input of `calc allocate`."""
    document = _object(data, field="input")
    payment = parse_amount(_required(document, "payment"), field="payment")
    on = parse_date(_required(document, "on"), field="on")
    designation = document.get("designation")
    if designation is not None and not isinstance(designation, str):
        raise InvalidInput("must be a claim id (a string) or null", field="designation")
    raw_claims = _required(document, "claims")
    if not isinstance(raw_claims, list):
        raise InvalidInput("must be a list of claims", field="claims")
    claims: list[Claim] = []
    for index, raw in enumerate(raw_claims):
        prefix = f"claims[{index}]."
        item = _object(raw, field=f"claims[{index}]")
        claim_id = _required(item, "id", prefix=prefix)
        if not isinstance(claim_id, str) or not claim_id:
            raise InvalidInput("must be a non-empty string", field=f"{prefix}id")
        claims.append(
            Claim(
                id=claim_id,
                due_on=parse_date(
                    _required(item, "due_on", prefix=prefix), field=f"{prefix}due_on"
                ),
                costs=parse_amount(item.get("costs", "0.00"), field=f"{prefix}costs"),
                interest=parse_amount(item.get("interest", "0.00"), field=f"{prefix}interest"),
                principal=parse_amount(item.get("principal", "0.00"), field=f"{prefix}principal"),
                rate=parse_percent(item.get("rate", "0"), field=f"{prefix}rate"),
            )
        )
    result = allocate_payment(payment, claims, on=on, designation=designation)
    return {
        "claims": {
            part.claim_id: {
                "costs": money(part.costs),
                "interest": money(part.interest),
                "principal": money(part.principal),
            }
            for part in result.parts
        },
        "unapplied": money(result.unapplied),
    }


def statement(data: object, *, allow_stale: bool = False) -> dict[str, Any]:
    """The claim statement (rentenota) from the JSON input of `calc statement`."""
    document = _object(data, field="input")
    kind = parse_kind(_required(document, "kind"))
    principal = parse_amount(_required(document, "principal"), field="principal")
    interest_from = parse_date(_required(document, "interest_from"), field="interest_from")
    cost_amount = parse_amount(document.get("costs", "0.00"), field="costs")
    until = parse_date(_required(document, "until"), field="until")
    simple = document.get("simple", False)
    if not isinstance(simple, bool):
        raise InvalidInput("must be true or false", field="simple")
    raw_payments = document.get("payments", [])
    if not isinstance(raw_payments, list):
        raise InvalidInput("must be a list of payments", field="payments")
    payments: list[Payment] = []
    for index, raw in enumerate(raw_payments):
        prefix = f"payments[{index}]."
        item = _object(raw, field=f"payments[{index}]")
        payments.append(
            Payment(
                on=parse_date(_required(item, "on", prefix=prefix), field=f"{prefix}on"),
                amount=parse_amount(
                    _required(item, "amount", prefix=prefix),
                    field=f"{prefix}amount",
                    allow_zero=False,
                ),
            )
        )
    table = _table(kind, allow_stale=allow_stale)
    if until >= interest_from:
        _rates_checked(table, interest_from, until, first_field="interest_from", last_field="until")
    result = claim_statement(
        principal=principal,
        interest_from=interest_from,
        costs=cost_amount,
        payments=payments,
        until=until,
        table=table,
        compound=not simple,
    )
    events: list[dict[str, Any]] = []
    for event in result.events:
        if isinstance(event, CapitalisationEvent):
            events.append(
                {"on": event.on.isoformat(), "type": event.type, "amount": money(event.amount)}
            )
        else:
            events.append(
                {
                    "on": event.on.isoformat(),
                    "type": event.type,
                    "costs": money(event.costs),
                    "interest": money(event.interest),
                    "principal": money(event.principal),
                    "unapplied": money(event.unapplied),
                }
            )
    state = result.state
    return {
        "events": events,
        "state": {
            "on": state.on.isoformat(),
            "costs": money(state.costs),
            "interest": money(state.interest),
            "principal": money(state.principal),
            "total": money(state.total),
        },
    }


CHECKERS: dict[str, Callable[..., str]] = {
    "kvk": identifiers.normalise_kvk,
    "btw-id": identifiers.normalise_btw_id,
    "rsin": identifiers.normalise_rsin,
    "iban": identifiers.normalise_iban,
    "sepa-creditor-id": identifiers.normalise_sepa_creditor_id,
}


def check(*, kind: object, value: object) -> dict[str, Any]:
    """Validate and normalise an identifier; an invalid value is a result, not an error."""
    if kind not in CHECKERS:
        raise InvalidInput(f"{kind!r} is not one of {', '.join(CHECK_KINDS)}", field="kind")
    if not isinstance(value, str):
        raise InvalidInput("must be a string", field="value")
    try:
        normalised = CHECKERS[str(kind)](value, field="value")
    except DomainError as error:
        return {"valid": False, "normalised": None, "error": error.message}
    return {"valid": True, "normalised": normalised, "error": None}
