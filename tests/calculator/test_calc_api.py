# ruff: noqa: E501
"""POST /api/v1/calc/...: the calculator's JSON over HTTP, problem+json errors, login required."""

import pytest
from django.contrib.auth import get_user_model

from tests.calculator.test_calc_command import ALLOCATE_INPUT, STATEMENT_INPUT

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    user = get_user_model().objects.create_user("calc-user", password="not-used-pw-123")
    client.force_login(user)
    return client


def post(client, path, body):
    return client.post(f"/api/v1/calc/{path}", body, content_type="application/json")


def test_interest_returns_the_cli_json(api):
    response = post(
        api,
        "interest",
        {"kind": "statutory", "principal": "1000.00", "from": "2019-03-15", "to": "2024-06-29"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["days"], body["interest"], body["total"]) == (1934, "171.44", "1171.44")
    assert body["years"][0] == {
        "from": "2019-03-15",
        "to": "2020-03-14",
        "interest": "20.05",
        "capitalised": True,
    }
    simple = post(
        api,
        "interest",
        {
            "kind": "statutory",
            "principal": "1000.00",
            "from": "2019-03-15",
            "to": "2024-06-29",
            "simple": True,
        },
    ).json()
    assert simple["interest"] == "160.85"


def test_costs_accepts_one_or_several_principals(api):
    assert post(api, "costs", {"principal": "3000.00", "vat": True}).json() == {
        "principal": "3000.00",
        "costs": "425.00",
        "vat": "89.25",
        "total": "514.25",
    }
    assert post(api, "costs", {"principal": ["1800.00", "1200.00"]}).json()["costs"] == "425.00"


def test_allocate_and_statement(api):
    assert post(api, "allocate", ALLOCATE_INPUT).json() == {
        "claims": {"A": {"costs": "0.00", "interest": "2.40", "principal": "500.00"}},
        "unapplied": "97.60",
    }
    body = post(api, "statement", STATEMENT_INPUT).json()
    assert body["events"][1] == {"on": "2015-05-29", "type": "capitalisation", "amount": "15.95"}
    assert body["state"]["total"] == "1676.17"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("interest", {"kind": "x", "principal": "1.00", "from": "2020-01-01", "to": "2020-01-02"}, "kind"),
        ("interest", {"kind": "statutory", "principal": "-1", "from": "2020-01-01", "to": "2020-01-02"}, "principal"),
        ("interest", {"kind": "statutory", "principal": "1.00", "from": "2020-01-03", "to": "2020-01-02"}, "to"),
        ("costs", {"principal": "abc"}, "principal"),
        ("allocate", dict(ALLOCATE_INPUT, designation="Z"), "designation"),
        ("statement", dict(STATEMENT_INPUT, until="2030-01-01"), "until"),
        ("allocate", {"payment": "1.00"}, "on"),  # schema validation: the field is "payload.on"
    ],
)  # fmt: skip
def test_bad_input_is_a_422_problem_naming_the_field(api, path, body, field):
    response = post(api, path, body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert any(error["field"].endswith(field) for error in problem["errors"])


def test_login_is_required(client):
    response = post(client, "costs", {"principal": "3000.00"})
    assert response.status_code == 401


def test_every_operation_declares_the_422_and_401_problems():
    """schemathesis flags undocumented statuses: the problem+json schema is declared."""
    from betaald.calculator.api import Problem, router

    for path_view in router.path_operations.values():
        for operation in path_view.operations:
            assert {200, 401, 422} <= set(operation.response_models)
            assert operation.response_models[422].__annotations__["response"] is Problem


def test_the_openapi_document_lists_the_calculator_with_its_problems(api):
    schema = api.get("/api/v1/openapi.json").json()
    for path in ("interest", "costs", "allocate", "statement"):
        responses = schema["paths"][f"/api/v1/calc/{path}"]["post"]["responses"]
        assert {"200", "401", "422"} <= set(responses)
