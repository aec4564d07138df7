"""Hand-overs under the API: GET /api/v1/handovers, POST /api/v1/handovers (hand overdue
invoices of one customer to an agency, bailiff or lawyer), GET /api/v1/handovers/{id} and
GET /api/v1/handovers/{id}/dossier (the dossier as JSON; ?format=zip for the whole ZIP).
A collection partner's system can pull the dossier with an API token of the creditor.
Token or session auth; scoped to the caller's organisation; writes need a writing role;
errors are RFC 9457 problem+json (`betaald.api.api`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from betaald.api.auth import api_auth
from betaald.api.ledger import ERRORS, Money, organisation_of, require_writer
from betaald.debtors.models import Customer
from betaald.handover import dossier
from betaald.handover.models import Handover, PartyKind
from betaald.handover.services import handover_create
from betaald.invoices.selectors import invoices_for

router = Router(tags=["handover"], auth=api_auth)


class HandoverIn(Schema):
    customer_id: int
    invoice_ids: list[int]
    party_kind: PartyKind
    party_name: str
    party_email: str = ""
    party_reference: str = ""
    justis_number: str = ""
    attachment_requested: bool = False
    known_assets: str = ""
    dissipation_facts: str = ""
    note: str = ""


class ClaimOut(Schema):
    invoice_id: int
    invoice_number: str
    principal: Money
    interest: Money
    interest_from: date | None
    costs: Money


class HandoverOut(Schema):
    id: int
    customer_id: int
    party_kind: str
    party_name: str
    handed_over_on: date
    status: str
    principal: Money
    interest: Money
    costs: Money
    total: Money
    amount_to_secure: Money
    warnings: list[str]
    claims: list[ClaimOut]


def _out(handover: Handover) -> dict[str, Any]:
    return {
        "id": handover.pk,
        "customer_id": handover.customer_id,
        "party_kind": handover.party_kind,
        "party_name": handover.party_name,
        "handed_over_on": handover.handed_over_on,
        "status": handover.status,
        "principal": handover.principal,
        "interest": handover.interest,
        "costs": handover.costs,
        "total": handover.total,
        "amount_to_secure": handover.amount_to_secure,
        "warnings": [str(w) for w in handover.warnings],
        "claims": [
            {
                "invoice_id": claim.invoice_id,
                "invoice_number": claim.invoice.number,
                "principal": claim.principal,
                "interest": claim.interest,
                "interest_from": claim.interest_from,
                "costs": claim.costs,
            }
            for claim in handover.claims.select_related("invoice")
        ],
    }


def _handover(request: HttpRequest, handover_id: int) -> Handover:
    return get_object_or_404(
        Handover.objects.select_related("customer", "organisation"),
        pk=handover_id,
        organisation=organisation_of(request),
    )


@router.get("/handovers", response={200: list[HandoverOut], **ERRORS})
def handover_list(request: HttpRequest) -> list[dict[str, Any]]:
    rows = Handover.objects.filter(organisation=organisation_of(request)).order_by("-id")[:500]
    return [_out(handover) for handover in rows]


@router.post("/handovers", response={201: HandoverOut, **ERRORS})
def handover_post(request: HttpRequest, payload: HandoverIn) -> Any:
    """Hand these overdue invoices of one customer over: the claim is frozen today, dunning
    pauses and the debtor gets the hand-over notice."""

    require_writer(request)
    organisation = organisation_of(request)
    customer = get_object_or_404(Customer, pk=payload.customer_id, organisation=organisation)
    invoices = list(invoices_for(organisation).filter(pk__in=payload.invoice_ids))
    if len(invoices) != len(set(payload.invoice_ids)):
        raise ValidationError({"invoice_ids": "an invoice does not exist in your organisation"})
    try:
        handover = _create(request, payload, customer, invoices)
    except ValidationError as error:
        # The service names its field `invoices`; the API's is `invoice_ids`.
        if hasattr(error, "error_dict") and "invoices" in error.error_dict:
            error.error_dict["invoice_ids"] = error.error_dict.pop("invoices")
        raise
    return Status(201, _out(handover))


def _create(
    request: HttpRequest, payload: HandoverIn, customer: Customer, invoices: list[Any]
) -> Handover:
    from betaald.web.access import local_today

    return handover_create(
        customer=customer,
        invoices=invoices,
        party_kind=payload.party_kind.value,
        party_name=payload.party_name,
        party_email=payload.party_email,
        party_reference=payload.party_reference,
        justis_number=payload.justis_number,
        attachment_requested=payload.attachment_requested,
        known_assets=payload.known_assets,
        dissipation_facts=payload.dissipation_facts,
        note=payload.note,
        actor=request.user,
        today=local_today(),
    )


@router.get("/handovers/{handover_id}", response={200: HandoverOut, **ERRORS})
def handover_get(request: HttpRequest, handover_id: int) -> dict[str, Any]:
    return _out(_handover(request, handover_id))


@router.get("/handovers/{handover_id}/dossier", response={200: dict[str, Any], **ERRORS})
def handover_dossier(request: HttpRequest, handover_id: int, format: str = "json") -> Any:
    """The dossier as JSON (the same as dossier.json in the ZIP); `format=zip` for the ZIP
    with the letters as sent, the invoices (PDF and UBL) and the audit trail."""
    handover = _handover(request, handover_id)
    if format == "zip":
        response = HttpResponse(dossier.dossier_zip(handover), content_type="application/zip")
        response["Content-Disposition"] = (
            f'attachment; filename="{dossier.filename(handover, "zip")}"'
        )
        return response
    return dossier.dossier_data(handover)
