"""Hand-overs under the API: create with a token, read, pull the dossier; refusals as
problem+json on the field; a reader cannot write; another organisation sees nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client

from betaald.handover.models import Handover
from betaald.organisations.models import Role
from betaald.organisations.services import api_token_create
from tests.factories import MembershipFactory, OrganisationFactory

from .conftest import invoice_for


def token_client(organisation, role=Role.CREDIT_CONTROLLER):
    member = MembershipFactory(organisation=organisation, role=role)
    _token, raw = api_token_create(membership=member, name="incassopartner")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def api(organisation):
    return token_client(organisation)


def test_hand_over_read_and_pull_the_dossier(api, business):
    invoice = invoice_for(business)
    response = api.post(
        "/api/v1/handovers",
        {
            "customer_id": business.pk,
            "invoice_ids": [invoice.pk],
            "party_kind": "agency",
            "party_name": "Incassobureau Noord",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["principal"] == "1210.00"
    assert body["claims"][0]["invoice_number"] == invoice.number
    assert body["claims"][0]["costs"] == "181.50"  # 15 % of 1210.00, Besluit BIK
    handover = Handover.objects.get()
    assert api.get(f"/api/v1/handovers/{handover.pk}").json()["party_name"] == (
        "Incassobureau Noord"
    )
    assert [row["id"] for row in api.get("/api/v1/handovers").json()] == [handover.pk]
    data = api.get(f"/api/v1/handovers/{handover.pk}/dossier").json()
    assert data["debtor"]["number"] == business.number
    assert data["claim"]["claims"][0]["principal"] == "1210.00"
    archive = api.get(f"/api/v1/handovers/{handover.pk}/dossier?format=zip")
    assert "dossier.json" in zipfile.ZipFile(io.BytesIO(archive.content)).namelist()


def test_refusals_are_problem_json_on_the_field(api, consumer):
    invoice = invoice_for(consumer)
    response = api.post(
        "/api/v1/handovers",
        {
            "customer_id": consumer.pk,
            "invoice_ids": [invoice.pk],
            "party_kind": "agency",
            "party_name": "Incassobureau Noord",
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["justis_number"]
    response = api.post(
        "/api/v1/handovers",
        {
            "customer_id": consumer.pk,
            "invoice_ids": [invoice.pk, 999999],
            "party_kind": "bailiff",
            "party_name": "Van Dam",
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "invoice_ids"
    assert not Handover.objects.exists()


def test_a_reader_cannot_hand_over_and_another_organisation_sees_nothing(organisation, business):
    invoice = invoice_for(business)
    reader = token_client(organisation, Role.ACCOUNTANT)
    payload = {
        "customer_id": business.pk,
        "invoice_ids": [invoice.pk],
        "party_kind": "bailiff",
        "party_name": "Van Dam",
    }
    response = reader.post("/api/v1/handovers", payload, content_type="application/json")
    assert response.status_code == 403
    writer = token_client(organisation)
    created = writer.post("/api/v1/handovers", payload, content_type="application/json")
    handover_id = created.json()["id"]
    stranger = token_client(OrganisationFactory())
    assert stranger.get(f"/api/v1/handovers/{handover_id}").status_code == 404
    assert stranger.get(f"/api/v1/handovers/{handover_id}/dossier").status_code == 404
    assert stranger.get("/api/v1/handovers").json() == []
    other = stranger.post("/api/v1/handovers", payload, content_type="application/json")
    assert other.status_code == 404


def test_a_second_hand_over_names_the_api_field(api, business):
    invoice = invoice_for(business)
    payload = {
        "customer_id": business.pk,
        "invoice_ids": [invoice.pk],
        "party_kind": "bailiff",
        "party_name": "Van Dam",
    }
    assert api.post("/api/v1/handovers", payload, content_type="application/json").status_code == (
        201
    )
    again = api.post("/api/v1/handovers", payload, content_type="application/json")
    assert again.status_code == 422
    assert [e["field"] for e in again.json()["errors"]] == ["invoice_ids"]
