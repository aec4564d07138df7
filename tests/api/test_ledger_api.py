"""The ledger API: token auth, tenancy, problem+json errors, idempotent payments, OpenAPI."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from betaald.organisations.models import Role
from betaald.organisations.services import api_token_create
from betaald.payments.models import Payment
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MembershipFactory(role=Role.CREDIT_CONTROLLER)


@pytest.fixture
def api(member):
    _token, raw = api_token_create(membership=member, name="boekhouding")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_without_a_token_the_api_answers_401_problem_json(client):
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_revoked_or_wrong_token_is_refused(member):
    token, raw = api_token_create(membership=member, name="oud")
    token.revoked_at = token.created_at
    token.save()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/customers").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer nonsense").get("/api/v1/customers").status_code == 401


def test_create_customer_draft_issue_and_pay_an_invoice(api, member):
    customer = api.post(
        "/api/v1/customers",
        {
            "kind": "business",
            "name": "Timmerbedrijf Hout B.V.",
            "kvk_number": "1234-5678",
            "vat_number": "NL123456789B13",
            "street": "Zaagweg 1",
            "postal_code": "1234 AB",
            "city": "Zaandam",
        },
        content_type="application/json",
    )
    assert customer.status_code == 201, customer.content
    assert customer.json()["kvk_number"] == "12345678"
    draft = api.post(
        "/api/v1/invoices",
        {
            "customer_id": customer.json()["id"],
            "lines": [
                {
                    "description": "Kozijnen",
                    "quantity": "2",
                    "unit_price": "500.00",
                    "vat_rate": "21",
                }
            ],
        },
        content_type="application/json",
    )
    assert draft.status_code == 201, draft.content
    invoice_id = draft.json()["id"]
    issued = api.post(
        f"/api/v1/invoices/{invoice_id}/issue",
        {"issued_on": "2026-11-02"},
        content_type="application/json",
    )
    assert issued.status_code == 200, issued.content
    assert issued.json()["invoice"]["total"] == "1210.00"
    body = {"customer_id": customer.json()["id"], "amount": "1210.00", "received_on": "2026-11-20"}
    first = api.post(
        "/api/v1/payments", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = api.post(
        "/api/v1/payments", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Payment.objects.count() == 1
    assert api.get(f"/api/v1/invoices/{invoice_id}").json()["open_amount"] == "0.00"
    other = api.post(
        "/api/v1/payments",
        {**body, "amount": "5.00"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"


def test_a_payment_without_idempotency_key_is_refused(api, member):
    customer = CustomerFactory(organisation=member.organisation)
    response = api.post(
        "/api/v1/payments",
        {"customer_id": customer.pk, "amount": "10.00", "received_on": "2026-11-20"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_bad_input_names_the_field(api, member):
    customer = CustomerFactory(organisation=member.organisation)
    response = api.post(
        "/api/v1/invoices",
        {
            "customer_id": customer.pk,
            "lines": [
                {"description": "X", "quantity": "1", "unit_price": "1.005", "vat_rate": "21"}
            ],
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "lines.0.unit_price"
    bad_vat = api.post(
        "/api/v1/customers",
        {
            "kind": "business",
            "name": "X",
            "vat_number": "NL123",
            "street": "a",
            "postal_code": "1",
            "city": "c",
        },
        content_type="application/json",
    )
    assert bad_vat.status_code == 422
    assert bad_vat.json()["errors"][0]["field"] == "vat_number"


def test_another_organisations_objects_are_404(api):
    stranger = CustomerFactory()
    invoice = issued_invoice(stranger)
    assert api.get(f"/api/v1/customers/{stranger.pk}").status_code == 404
    assert api.get(f"/api/v1/invoices/{invoice.pk}").status_code == 404
    assert api.get("/api/v1/invoices").json()["count"] == 0


def test_an_accountant_token_reads_but_cannot_write():
    member = MembershipFactory(role=Role.ACCOUNTANT)
    _token, raw = api_token_create(membership=member, name="lezen")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/customers").status_code == 200
    response = client.post(
        "/api/v1/customers",
        {"kind": "consumer", "name": "X", "street": "a", "postal_code": "1", "city": "c"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_the_openapi_document_is_served_and_lists_the_ledger(api):
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/payments" in schema["paths"]
    assert "422" in schema["paths"]["/api/v1/payments"]["post"]["responses"]
    assert Decimal("1") == 1


def test_the_calculator_accepts_an_api_token(api):
    response = api.post(
        "/api/v1/calc/costs", {"principal": "3000.00"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["costs"] == "425.00"
