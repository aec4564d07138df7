"""The calculator under the API: POST /api/v1/calc/{interest,costs,allocate,statement}.

The same input as `betaald calc` (the JSON documents of `calc allocate` and `calc statement`;
the options of `calc interest` and `calc costs` as JSON keys) and the same JSON output.
Errors are RFC 9457 problem+json with status 422 naming the field. Login required (session).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from betaald.api.auth import calc_auth
from betaald.calculator import calculations

router = Router(tags=["calculator"], auth=calc_auth)


class ProblemField(Schema):
    field: str | None
    message: str


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField]


ERRORS: dict[int, Any] = {401: Problem, 422: Problem}


class InterestIn(Schema):
    kind: str = Field(description="statutory (art. 6:119 BW) or commercial (art. 6:119a BW)")
    principal: str = Field(examples=["1000.00"])
    from_: str = Field(alias="from", description="first day of interest (inclusive)")
    to: str = Field(description="last day of interest (inclusive)")
    simple: bool = False


class InterestYearOut(Schema):
    from_: str = Field(alias="from")
    to: str
    interest: str
    capitalised: bool


class InterestOut(Schema):
    days: int
    interest: str
    total: str
    years: list[InterestYearOut]


class CostsIn(Schema):
    principal: str | list[str] = Field(description="one principal or the principals together")
    vat: bool = Field(False, description="the creditor cannot deduct VAT")


class CostsOut(Schema):
    principal: str
    costs: str
    vat: str
    total: str


class ClaimIn(Schema):
    id: str
    due_on: str
    costs: str = "0.00"
    interest: str = "0.00"
    principal: str = "0.00"
    rate: str = "0"


class AllocateIn(Schema):
    payment: str
    on: str
    designation: str | None = None
    claims: list[ClaimIn]


class ClaimPartOut(Schema):
    costs: str
    interest: str
    principal: str


class AllocateOut(Schema):
    claims: dict[str, ClaimPartOut]
    unapplied: str


class PaymentIn(Schema):
    on: str
    amount: str


class StatementIn(Schema):
    kind: str
    principal: str
    interest_from: str
    costs: str = "0.00"
    payments: list[PaymentIn] = []
    until: str
    simple: bool = False


class StateOut(Schema):
    on: str
    costs: str
    interest: str
    principal: str
    total: str


class StatementOut(Schema):
    events: list[dict[str, str]] = Field(
        description='{"on", "type": "payment", "costs", "interest", "principal", "unapplied"} '
        'or {"on", "type": "capitalisation", "amount"}'
    )
    state: StateOut


@router.post("/interest", response={200: InterestOut, **ERRORS}, by_alias=True)
def calc_interest(request: HttpRequest, payload: InterestIn) -> dict[str, Any]:
    """Statutory or commercial interest, yearly capitalised unless `simple`."""
    return calculations.interest(
        kind=payload.kind,
        principal=payload.principal,
        first_day=payload.from_,
        last_day=payload.to,
        simple=payload.simple,
    )


@router.post("/costs", response={200: CostsOut, **ERRORS})
def calc_costs(request: HttpRequest, payload: CostsIn) -> dict[str, Any]:
    """Collection costs per the BIK staffel on the sum of the principals."""
    principals = [payload.principal] if isinstance(payload.principal, str) else payload.principal
    return calculations.costs(principals=principals, vat=payload.vat)


@router.post("/allocate", response={200: AllocateOut, **ERRORS})
def calc_allocate(request: HttpRequest, payload: AllocateIn) -> dict[str, Any]:
    """A payment over claims per art. 6:43 and 6:44 BW."""
    return calculations.allocate(payload.dict())


@router.post("/statement", response={200: StatementOut, **ERRORS})
def calc_statement(request: HttpRequest, payload: StatementIn) -> dict[str, Any]:
    """The claim statement (rentenota): payments, capitalisations and the state on `until`."""
    return calculations.statement(payload.dict())
