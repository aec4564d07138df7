"""`betaald plans evaluate`: the daily job, replayable with --date."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from betaald.plans.models import PlanStatus
from tests.plans.test_plans import make_plan

from .conftest import invoice_for


def evaluate(*args: str) -> str:
    out = StringIO()
    call_command("plans", "evaluate", *args, stdout=out)
    return out.getvalue()


def test_the_command_evaluates_a_day_and_reports(business, owner):
    plan = make_plan(business, [invoice_for(business)], owner)
    output = evaluate("--date", "2026-02-07")
    assert "1 plans evaluated (0 completed, 1 broken" in output
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    again = evaluate("--date", "2026-02-07", "--organisation", str(business.organisation_id))
    assert "0 plans evaluated" in again
    assert "0 new suggestions" in evaluate("--no-suggestions")


@pytest.mark.parametrize(
    ("args", "text"),
    [(["--date", "7-2-2026"], "is not a date"), (["--organisation", "999999"], "no organisation")],
)
def test_bad_arguments_are_refused(db, args, text):
    with pytest.raises(CommandError, match=text):
        evaluate(*args)
