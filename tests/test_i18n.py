"""The core's error messages reach Dutch readers in Dutch: every template the core raises has a
translation, values are written the Dutch way, and the pages show them."""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from betaald.core.errors import DomainError
from betaald.core.installments import schedule
from betaald.core.money import to_money
from betaald.i18n import error_text

CORE = Path(__file__).resolve().parent.parent / "betaald" / "core"


def core_templates() -> list[str]:
    """The first argument of every `raise SomeError("...")` in the core, and the sentences the
    plan checks pass to `_positive` / `_not_negative`."""
    found: list[str] = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            argument = None
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                argument = node.exc.args[0]
                assert not isinstance(argument, ast.JoinedStr), (
                    f"{path.name}:{node.lineno}: raise a template with params, not an f-string"
                )
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"_positive", "_not_negative"}
                and len(node.args) >= 3
            ):
                argument = node.args[2]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.append(argument.value)
    return sorted(set(found))


def test_every_message_the_core_raises_has_a_dutch_translation():
    templates = core_templates()
    assert len(templates) > 60  # the scan sees the core's messages
    with translation.override("nl"):
        untranslated = [t for t in templates if translation.gettext(t) == t]
    assert untranslated == []


def test_values_are_written_the_dutch_way():
    with pytest.raises(DomainError) as raised:
        schedule(
            Decimal("100.00"),
            first_on=date(2026, 1, 5),
            today=date(2026, 2, 1),
            count=2,
        )
    error = raised.value
    assert error.message == "the first instalment date 2026-01-05 is in the past"
    with translation.override("nl"):
        assert error_text(error) == "de eerste termijndatum 5-1-2026 ligt in het verleden"
    with translation.override("en"):
        assert error_text(error) == "the first instalment date 01/05/2026 is in the past"

    with pytest.raises(DomainError) as raised:
        to_money("12,50", field="amount")
    with translation.override("nl"):
        assert error_text(raised.value) == "'12,50' is geen decimaal getal"


def test_an_error_without_a_translation_or_with_other_placeholders_stays_readable(monkeypatch):
    unknown = DomainError("nobody translated %(what)s", params={"what": "this"})
    with translation.override("nl"):
        assert error_text(unknown) == "nobody translated this"
    # a translation whose placeholders do not fit (msgfmt --check refuses those): English
    monkeypatch.setattr("betaald.i18n._", lambda text: "kapot %(anders)s")
    assert error_text(unknown) == "nobody translated this"


@pytest.mark.django_db
def test_the_calculator_page_shows_a_core_error_in_dutch(client):
    user = get_user_model().objects.create_user("i18n-user", password="not-used-pw-123")
    client.force_login(user)
    page = client.get(
        "/calc/",
        {"calculation": "costs", "costs-principals": "12,50"},
        HTTP_ACCEPT_LANGUAGE="nl",
    )
    assert "&#x27;12,50&#x27; is geen bedrag zoals 1000.00" in page.content.decode()
