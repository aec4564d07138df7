"""`betaald dunning run [--date] [--dry-run] [--force]`."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from betaald.dunning.models import DunningPolicy, DunningRun, DunningStep, StepExecution
from betaald.dunning.services import (
    StepInput,
    dunning_policies_install_defaults,
    dunning_policy_save,
)

from .conftest import invoice_for


def test_the_command_runs_a_given_date_and_prints_the_report(business):
    invoice = invoice_for(business)
    out = StringIO()
    call_command("dunning", "run", "--date", str(invoice.due_on + timedelta(days=3)), stdout=out)
    text = out.getvalue()
    assert "1 steps carried out" in text
    assert "reminder: email 1, invoices 1" in text
    assert "skipped pre_due: 1" in text


def test_a_dry_run_changes_nothing(business):
    invoice = invoice_for(business)
    out = StringIO()
    day = str(invoice.due_on + timedelta(days=3))
    call_command("dunning", "run", "--date", day, "--dry-run", stdout=out)
    assert out.getvalue().startswith("dry run")
    assert StepExecution.objects.count() == 0
    assert DunningRun.objects.get().is_dry_run


def test_a_date_after_tomorrow_needs_force(db):
    later = timezone.localdate() + timedelta(days=2)
    with pytest.raises(CommandError, match="--force"):
        call_command("dunning", "run", "--date", str(later))
    call_command("dunning", "run", "--date", str(later), "--force", stdout=StringIO())
    tomorrow = timezone.localdate() + timedelta(days=1)
    call_command("dunning", "run", "--date", str(tomorrow), stdout=StringIO())


@pytest.mark.parametrize("bad", ["2026-13-01", "morgen"])
def test_a_bad_date_is_refused_naming_the_option(db, bad):
    with pytest.raises(CommandError, match="--date"):
        call_command("dunning", "run", "--date", bad)


def test_an_unknown_organisation_is_refused(db):
    with pytest.raises(CommandError, match="--organisation"):
        call_command("dunning", "run", "--organisation", "999999")


def test_installing_the_defaults_twice_changes_nothing(organisation):
    assert dunning_policies_install_defaults(organisation=organisation) == []
    assert DunningPolicy.objects.filter(organisation=organisation).count() == 3
    assert set(
        DunningPolicy.objects.filter(organisation=organisation, is_default=True).values_list(
            "code", flat=True
        )
    ) == {"business", "consumer"}


def step(code, days, **extra):
    fields = {
        "code": code,
        "name": code,
        "offset_days": days,
        "kind": "reminder",
        "channels": ["letter"],
    }
    fields.update(extra)
    return StepInput(fields=fields)


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ([step("a", 3, costs="bik")], "steps[0].charges"),
        ([step("a", 3, channels=[])], "steps[0].channels"),
        ([step("a", 3, late_fee_kind="fixed", late_fee_value="-5")], "steps[0].late_fee"),
        ([step("a", 10), step("b", 3)], "steps[1].offset_days"),
    ],
)
def test_a_bad_policy_is_refused_when_saved(organisation, owner, steps, field):
    """Issue 5, bad input: out of order, consumer costs without a 14-dagenbrief, negative fee,
    no channel — refused with the field named."""
    with pytest.raises(ValidationError) as caught:
        dunning_policy_save(
            organisation=organisation,
            actor=owner,
            policy=None,
            fields={"name": "X", "code": "x", "debtor_kind": "consumer"},
            steps=steps,
        )
    assert field in caught.value.message_dict


def test_a_step_with_history_cannot_be_removed(organisation, owner, business):
    invoice = invoice_for(business)
    from betaald.dunning.services import dunning_run

    dunning_run(today=invoice.due_on + timedelta(days=3))
    policy = DunningPolicy.objects.get(organisation=organisation, code="business")
    keep = list(policy.steps.exclude(code="reminder"))
    with pytest.raises(ValidationError):
        dunning_policy_save(
            organisation=organisation,
            actor=owner,
            policy=policy,
            fields={},
            steps=[StepInput(fields={"code": s.code}, pk=s.pk) for s in keep],
        )
    assert DunningStep.objects.filter(policy=policy, code="reminder").exists()
