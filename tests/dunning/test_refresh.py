"""`dunning_refresh_invoices` after payments (the bank booking's hot path): settled invoices
take the short path (plain rows, no claim loading) and end up exactly as the full path
leaves them; partly paid ones keep their level."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from betaald.dunning.models import (
    CallTask,
    DunningPolicy,
    DunningState,
    ExecutionStatus,
    StepExecution,
    TaskKind,
)
from betaald.dunning.policies import PolicyBook
from betaald.dunning.services import _load_claims, _settle_state, dunning_refresh_invoices
from betaald.payments.services import payment_register

from .conftest import invoice_for, run_days

STATE = (
    "policy_id",
    "due_on",
    "open_amount",
    "level",
    "last_step_id",
    "last_step_on",
    "next_action_on",
    "pause",
    "costs_claimed",
    "late_fee_charged",
)


def state_of(invoice) -> tuple:
    return DunningState.objects.filter(invoice=invoice).values_list(*STATE).get()


def test_a_fully_paid_invoice_is_closed_as_the_full_path_closes_it(business):
    paid = invoice_for(business, amount="100.00")
    partly = invoice_for(business, amount="200.00")
    due = paid.due_on
    run_days(due - timedelta(days=3), due + timedelta(days=31))  # up to the final notice
    assert StepExecution.objects.filter(
        invoice=paid, status=ExecutionStatus.AWAITING_APPROVAL
    ).exists()
    day = due + timedelta(days=32)
    payment_register(
        organisation=business.organisation,
        customer=business,
        amount=Decimal("121.00"),
        received_on=day,
        designated_invoice=paid,
    )
    payment_register(
        organisation=business.organisation,
        customer=business,
        amount=Decimal("42.00"),
        received_on=day,
        designated_invoice=partly,
    )
    task = CallTask.objects.create(
        organisation_id=business.organisation_id,
        customer=business,
        invoice=paid,
        kind=TaskKind.CALL,
        unique_key="call:test",
        due_on=day,
        amount=Decimal("121.00"),
        overdue_since=due,
    )
    DunningState.objects.filter(invoice=paid).update(pause="", next_action_on=day)
    before_partly = state_of(partly)
    # What the full path (load the claim, settle it) would write for the paid invoice:
    book = PolicyBook([business.organisation_id])
    claim = _load_claims([paid.pk], book, with_terms=False)[0]
    _settle_state(claim, day)
    expected = tuple(getattr(claim.state, name) for name in STATE)

    assert dunning_refresh_invoices(invoice_ids=[paid.pk, partly.pk], today=day) == 2

    assert state_of(paid) == expected
    assert state_of(paid)[STATE.index("pause")] == "settled"
    assert state_of(paid)[STATE.index("next_action_on")] is None
    assert state_of(paid)[STATE.index("open_amount")] == Decimal("0.00")
    task.refresh_from_db()
    assert task.closed_at is not None
    assert not StepExecution.objects.filter(
        invoice=paid, status=ExecutionStatus.AWAITING_APPROVAL
    ).exists()
    after_partly = state_of(partly)
    assert after_partly[STATE.index("level")] == before_partly[STATE.index("level")]
    assert after_partly[STATE.index("open_amount")] == Decimal("200.00")  # 242.00 - 42.00
    assert StepExecution.objects.filter(
        invoice=partly, status=ExecutionStatus.AWAITING_APPROVAL
    ).exists()


def test_a_paid_invoice_without_a_state_gets_a_settled_one_with_its_policy(business):
    invoice = invoice_for(business)
    DunningState.objects.filter(invoice=invoice).delete()
    payment_register(
        organisation=business.organisation,
        customer=business,
        amount=Decimal("121.00"),
        received_on=invoice.due_on,
        designated_invoice=invoice,
    )
    assert dunning_refresh_invoices(invoice_ids=[invoice.pk], today=invoice.due_on) == 1
    state = DunningState.objects.get(invoice=invoice)
    policy = DunningPolicy.objects.get(organisation=business.organisation, code="business")
    assert (state.policy_id, state.pause, state.next_action_on, state.level) == (
        policy.pk,
        "settled",
        None,
        0,
    )
    assert state.open_amount == Decimal("0.00")
    assert state.due_on == invoice.due_on
