"""The calculator page /calc/: interest and collection costs for anyone logged in."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, monkeypatch):
    monkeypatch.setattr("betaald.calculator.views.timezone.localdate", lambda: date(2026, 3, 1))
    user = get_user_model().objects.create_user("page-user", password="not-used-pw-123")
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/calc/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_empty_page_shows_both_forms(browser):
    response = browser.get("/calc/")
    assert response.status_code == 200
    assert b'name="interest-principal"' in response.content
    assert b'name="costs-principals"' in response.content
    assert b'warning-box" role="alert"' not in response.content


def test_interest_is_computed(browser):
    response = browser.get(
        "/calc/",
        {
            "calculation": "interest",
            "interest-kind": "statutory",
            "interest-principal": "1000.00",
            "interest-first_day": "2019-03-15",
            "interest-last_day": "2024-06-29",
        },
    )
    assert response.status_code == 200
    assert b"171.44" in response.content
    assert b"1171.44" in response.content


def test_bad_interest_input_is_shown_at_the_field(browser):
    response = browser.get(
        "/calc/",
        {
            "calculation": "interest",
            "interest-kind": "statutory",
            "interest-principal": "-3",
            "interest-first_day": "2019-03-15",
            "interest-last_day": "2019-03-14",
        },
    )
    assert response.status_code == 200
    form = response.context["interest_form"]
    assert "principal" in form.errors
    assert response.context["interest"] is None
    stale = browser.get(
        "/calc/",
        {
            "calculation": "interest",
            "interest-kind": "statutory",
            "interest-principal": "1.00",
            "interest-first_day": "2019-03-15",
            "interest-last_day": "2019-03-14",
        },
    )
    assert "last_day" in stale.context["interest_form"].errors
    missing = browser.get("/calc/", {"calculation": "interest"})
    assert missing.context["interest_form"].errors


def test_costs_are_computed_on_the_sum(browser):
    response = browser.get(
        "/calc/",
        {"calculation": "costs", "costs-principals": "1800.00\n1200.00", "costs-vat": "on"},
    )
    assert response.context["costs"] == {
        "principal": "3000.00",
        "costs": "425.00",
        "vat": "89.25",
        "total": "514.25",
    }
    bad = browser.get("/calc/", {"calculation": "costs", "costs-principals": "abc"})
    assert "principals" in bad.context["costs_form"].errors
    assert not browser.get("/calc/", {"calculation": "costs"}).context["costs"]


def test_a_stale_rate_table_is_announced(browser, monkeypatch):
    monkeypatch.setattr("betaald.calculator.views.timezone.localdate", lambda: date(2026, 7, 1))
    response = browser.get("/calc/")
    assert response.context["stale_kinds"] == ["statutory", "commercial"]
    assert b'role="alert"' in response.content
