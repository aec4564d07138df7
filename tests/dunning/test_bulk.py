"""`bulk.insert_rows`: plain rows in with COPY; JSON values come back as they went in, whether
sent as prepared JSON text (lists of strings, made once per distinct list) or as `Jsonb`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from betaald.dunning import bulk
from betaald.dunning.models import ExecutionStatus, StepExecution
from betaald.dunning.services import dunning_run

from .conftest import invoice_for


@pytest.mark.django_db
def test_json_lists_of_strings_and_other_json_survive_the_copy(business):
    invoice = invoice_for(business)
    other = invoice_for(business)
    dunning_run(today=invoice.due_on + timedelta(days=3))
    done = StepExecution.objects.get(invoice=invoice, status=ExecutionStatus.DONE)
    assert done.channels == ["email"]
    StepExecution.objects.all().delete()
    names = ["organisation_id", "invoice_id", "customer_id", "step_id", "status", "executed_on"]
    names += ["principal", "channels", "group_key", "interest", "costs", "costs_vat"]
    names += ["late_fee", "reason", "created_at"]
    awkward = ['tab\there "quoted" \\ back', "€ é", ""]
    values = [
        (["email", "letter"], "a"),
        (["email", "letter"], "b"),  # the same list again: the same prepared text
        (awkward, "c"),
        ([], "d"),
        ({"not": ["a", "list"]}, "e"),
        ([1, "mixed"], "f"),
    ]
    steps = list(done.step.policy.steps.order_by("position"))
    rows = [
        (
            done.organisation_id,
            (invoice, other)[n // 3].pk,
            business.pk,
            steps[n % 3].pk,
            "skipped",
            done.executed_on,
            done.principal,
            channels,
            key,
            done.interest,
            done.costs,
            done.costs_vat,
            done.late_fee,
            "",
            done.created_at,
        )
        for n, (channels, key) in enumerate(values)
    ]
    bulk.insert_rows(StepExecution, names, rows)
    found = dict(StepExecution.objects.values_list("group_key", "channels"))
    assert found == {key: channels for channels, key in values}
