"""The bank under the API: POST /api/v1/bank/statements (upload, optionally a dry run) and
GET /api/v1/bank/review (the review queue). Session login; scoped to the user's organisation;
errors are RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.security import django_auth

from betaald.bank.models import BankTransaction, TransactionStatus
from betaald.bank.services import AccountNotOwned, statement_file_import, transactions_match
from betaald.bank.statements import StatementFileError, file_warnings, parse_file, summarise
from betaald.core.errors import DomainError

router = Router(tags=["bank"], auth=django_auth)


class ProblemField(Schema):
    field: str | None
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField]


class Totals(Schema):
    credit: str
    debit: str


class ImportOut(Schema):
    format: str
    statements: int
    entries: int
    transactions: int
    totals: dict[str, Totals]
    returns: int
    accounts: list[str]
    warnings: list[str]
    dry_run: bool
    statements_created: int = 0
    transactions_created: int = 0
    duplicates: int = 0
    matching: dict[str, int] = {}


class CandidateOut(Schema):
    customer_id: int
    invoice_ids: list[int]
    amount: str
    reason: str
    explanation: str
    score: int


class ReviewOut(Schema):
    id: int
    booking_date: str | None
    amount: str
    currency: str
    counterparty_name: str
    counterparty_iban: str
    remittance: str
    structured_reference: str
    is_return: bool
    return_reason: str
    candidates: list[CandidateOut]


def _organisation(request: HttpRequest) -> Any:
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        raise HttpError(403, "you do not belong to an organisation")
    return organisation


@router.post(
    "/statements",
    response={200: ImportOut, 401: Problem, 403: Problem, 422: Problem},
    summary="Import a bank statement file (camt.053, MT940)",
)
def statement_import(
    request: HttpRequest, file: File[UploadedFile], dry_run: bool = False
) -> dict[str, Any]:
    organisation = _organisation(request)
    data = file.read()
    name = file.name or "upload"
    try:
        parsed = parse_file(data, filename=name)
    except StatementFileError as error:
        raise DomainError(f"{name}: {error}", field="file") from None
    warnings = file_warnings(parsed)
    out: dict[str, Any] = {**summarise(parsed), "warnings": warnings, "dry_run": dry_run}
    if dry_run:
        return out
    membership = getattr(request, "membership", None)
    if membership is None or not membership.can_write:
        raise HttpError(403, "your role may only read")
    try:
        result = statement_file_import(
            organisation=organisation,
            parsed=parsed,
            data=data,
            filename=name,
            warnings=warnings,
            actor=request.user,
        )
    except AccountNotOwned as error:
        raise DomainError(str(error), field="file") from None
    out.update(
        statements_created=result.statements_created,
        transactions_created=result.transactions_created,
        duplicates=result.duplicates,
        matching=transactions_match(
            organisation=organisation, transaction_ids=result.transaction_ids, actor=request.user
        )
        if result.transaction_ids
        else {},
    )
    return out


@router.get("/review", response={200: list[ReviewOut], 401: Problem, 403: Problem})
def review_queue(request: HttpRequest) -> list[dict[str, Any]]:
    organisation = _organisation(request)
    queue = BankTransaction.objects.filter(
        organisation=organisation,
        status__in=[TransactionStatus.REVIEW, TransactionStatus.RETURN_REVIEW],
    ).order_by("booking_date", "pk")[:500]
    return [
        {
            "id": tx.pk,
            "booking_date": tx.booking_date.isoformat() if tx.booking_date else None,
            "amount": str(tx.amount),
            "currency": tx.currency,
            "counterparty_name": tx.counterparty_name,
            "counterparty_iban": tx.counterparty_iban,
            "remittance": tx.remittance,
            "structured_reference": tx.structured_reference,
            "is_return": tx.is_return,
            "return_reason": tx.return_reason,
            "candidates": tx.candidates,
        }
        for tx in queue
    ]
