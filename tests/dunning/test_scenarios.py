"""Invoices walked through whole policies day by day (issue 5, "Done when")."""

from __future__ import annotations

from datetime import date, timedelta

from betaald.dunning.models import CallTask, DunningState, ExecutionStatus, TaskKind

from .conftest import invoice_for, messages_of, run_days, steps_of


def test_a_business_invoice_walks_the_whole_business_policy(business, owner):
    invoice = invoice_for(business)
    due = invoice.due_on
    assert due == date(2026, 1, 19)
    run_days(due - timedelta(days=5), due + timedelta(days=40))
    assert steps_of(invoice) == [
        ("pre_due", "done", due - timedelta(days=3)),
        ("reminder", "done", due + timedelta(days=3)),
        ("call", "done", due + timedelta(days=10)),
        ("demand", "done", due + timedelta(days=17)),
        ("final", "awaiting_approval", due + timedelta(days=31)),
    ]
    kinds = [(m.kind, m.channel) for m in messages_of(business)]
    assert kinds == [
        ("pre_due_reminder", "email"),
        ("reminder", "email"),
        ("demand", "email"),
        ("demand", "letter"),
    ]
    assert CallTask.objects.filter(invoice=invoice, kind=TaskKind.CALL).count() == 1
    demand = messages_of(business)[-1].context
    assert demand["costs"]["costs"] == "40.00"  # BIK minimum on 121.00 (art. 2 Besluit BIK)
    assert demand["interest"] != "0.00"
    state = DunningState.objects.get(invoice=invoice)
    assert state.next_action_on is None
    assert state.pause == "awaiting_approval"
    assert ExecutionStatus.AWAITING_APPROVAL == "awaiting_approval"
