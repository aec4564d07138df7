"""Invoices walked through whole policies day by day (issue 5, "Done when")."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from betaald.audit.models import Event
from betaald.core import dunning as core
from betaald.debtors.models import Customer
from betaald.dunning.models import (
    CallTask,
    DunningPolicy,
    DunningRun,
    DunningState,
    ExecutionStatus,
    HoldKind,
    StepExecution,
    TaskKind,
    TaskOutcome,
)
from betaald.dunning.services import (
    call_task_complete,
    customer_policy_set,
    dunning_refresh_invoices,
    executions_approve,
    executions_skip,
    hold_add,
    hold_release,
)
from betaald.letters.models import Message
from tests.factories import CustomerFactory

from .conftest import ISSUED, invoice_for, messages_of, run, run_days, steps_of


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


def test_a_consumer_gets_the_14_dagenbrief_and_costs_only_after_its_term(consumer):
    """Art. 6:96 lid 6 BW: the letter states the exact costs and the term; costs follow the
    term's expiry, computed by the core calendar from the posting day."""
    invoice = invoice_for(consumer)
    due = invoice.due_on
    run_days(due, due + timedelta(days=45))
    steps = steps_of(invoice)
    assert [s[0] for s in steps] == ["reminder", "second_reminder", "fourteen_day", "costs"]
    letter_day = steps[2][2]
    assert letter_day == due + timedelta(days=21)
    letters = [m for m in messages_of(consumer) if m.kind == "final_notice_14_day"]
    assert {m.channel for m in letters} == {"letter", "email"}
    context = letters[0].context
    term = context["term"]
    assert term["sent_on"] == letter_day.isoformat()
    assert context["costs_if_unpaid"]["costs"] == "40.00"
    assert context["costs"] is None
    costs_day = steps[3][2]
    assert costs_day.isoformat() >= term["costs_due_from"]
    assert costs_day == max(
        date.fromisoformat(term["costs_due_from"]), letter_day + timedelta(days=17)
    )
    costs_message = next(m for m in messages_of(consumer) if m.kind == "final_notice")
    assert costs_message.context["costs"]["costs"] == "40.00"
    # statutory interest from the day costs became due (consumer: verzuim after the term)
    assert costs_message.context["invoices"][0]["interest_from"] == term["costs_due_from"]


def test_an_invoice_paid_in_time_gets_no_reminder(business):
    invoice = invoice_for(business)
    due = invoice.due_on
    run_days(due - timedelta(days=5), due - timedelta(days=1))
    pay(business, "121.00", due - timedelta(days=1))
    run_days(due, due + timedelta(days=40))
    assert [s[0] for s in steps_of(invoice)] == ["pre_due"]
    state = DunningState.objects.get(invoice=invoice)
    assert state.next_action_on is None
    assert state.pause == "settled"


def test_a_partial_payment_keeps_the_level_but_updates_the_amounts(business):
    invoice = invoice_for(business)
    due = invoice.due_on
    run_days(due, due + timedelta(days=5))
    pay(business, "21.00", due + timedelta(days=5))
    state = DunningState.objects.get(invoice=invoice)
    assert state.level == 2  # pre-due skipped, reminder done
    assert state.open_amount == Decimal("100.00")
    run_days(due + timedelta(days=6), due + timedelta(days=17))
    demand = next(m for m in messages_of(business) if m.kind == "demand")
    assert demand.context["principal"] == "100.00"


def test_full_payment_ends_all_follow_up_and_closes_tasks(business):
    invoice = invoice_for(business)
    due = invoice.due_on
    run_days(due, due + timedelta(days=10))
    task = CallTask.objects.get(invoice=invoice, kind=TaskKind.CALL)
    pay(business, "121.00", due + timedelta(days=11))
    task.refresh_from_db()
    assert task.closed_at is not None
    run_days(due + timedelta(days=11), due + timedelta(days=60))
    assert [s[0] for s in steps_of(invoice)] == ["pre_due", "reminder", "call"]


def test_a_credit_note_ends_follow_up(business, owner):
    from betaald.invoices.services import credit_note_create

    invoice = invoice_for(business)
    due = invoice.due_on
    run_days(due, due + timedelta(days=5))
    credit_note_create(invoice=invoice, actor=owner, issued_on=due + timedelta(days=6), reason="x")
    dunning_refresh_invoices(invoice_ids=[invoice.pk], today=due + timedelta(days=6))
    run_days(due + timedelta(days=6), due + timedelta(days=40))
    assert [s[0] for s in steps_of(invoice)] == ["pre_due", "reminder"]


def test_a_dispute_pauses_until_released(business, owner):
    invoice = invoice_for(business)
    due = invoice.due_on
    run_days(due, due + timedelta(days=4))
    hold = hold_add(
        customer=business,
        invoice=invoice,
        kind=HoldKind.DISPUTE,
        actor=owner,
        starts_on=due + timedelta(days=4),
        reason="Levering onvolledig",
    )
    assert DunningState.objects.get(invoice=invoice).next_action_on is None
    run_days(due + timedelta(days=5), due + timedelta(days=30))
    assert [s[0] for s in steps_of(invoice)] == ["pre_due", "reminder"]
    hold_release(hold=hold, actor=owner, reason="Opgelost", today=due + timedelta(days=25))
    run_days(due + timedelta(days=25), due + timedelta(days=25))
    steps = steps_of(invoice)
    # after the pause only the step due now runs; the call in between is skipped
    assert steps[-1][:2] == ("demand", "done")
    assert ("call", "skipped", due + timedelta(days=25)) in steps


def test_a_broken_promise_resumes_dunning_the_next_day(business, owner):
    invoice = invoice_for(business)
    due = invoice.due_on
    run_days(due, due + timedelta(days=10))
    task = CallTask.objects.get(invoice=invoice, kind=TaskKind.CALL)
    call_task_complete(
        task=task,
        outcome=TaskOutcome.PROMISED,
        actor=owner,
        today=due + timedelta(days=10),
        promised_on=due + timedelta(days=20),
        note="Betaalt vrijdag",
    )
    state = DunningState.objects.get(invoice=invoice)
    assert state.next_action_on == due + timedelta(days=21)
    run_days(due + timedelta(days=11), due + timedelta(days=21))
    assert steps_of(invoice)[-1] == ("demand", "done", due + timedelta(days=21))


def test_a_payment_plan_pauses_dunning(consumer, owner):
    invoice = invoice_for(consumer)
    due = invoice.due_on
    hold_add(
        customer=consumer,
        kind=HoldKind.PLAN,
        actor=owner,
        starts_on=due,
        reason="Regeling 3 termijnen",
    )
    run_days(due, due + timedelta(days=40))
    assert steps_of(invoice) == []
    assert DunningState.objects.get(invoice=invoice).pause == "plan"


def test_insolvency_stops_everything(business, owner):
    invoice = invoice_for(business)
    hold_add(customer=business, kind=HoldKind.INSOLVENCY, actor=owner, starts_on=ISSUED)
    run_days(invoice.due_on, invoice.due_on + timedelta(days=40))
    assert steps_of(invoice) == []


def test_after_missed_runs_only_the_step_due_now_is_sent(business):
    invoice = invoice_for(business)
    due = invoice.due_on
    report = run(due + timedelta(days=18))
    assert steps_of(invoice) == [
        ("pre_due", "skipped", due + timedelta(days=18)),
        ("reminder", "skipped", due + timedelta(days=18)),
        ("call", "skipped", due + timedelta(days=18)),
        ("demand", "done", due + timedelta(days=18)),
    ]
    assert report.skipped == {"pre_due": 1, "reminder": 1, "call": 1}
    assert [m.kind for m in messages_of(business)] == ["demand", "demand"]


def test_a_second_run_on_the_same_day_changes_nothing(business):
    invoice_for(business)
    day = date(2026, 1, 22)
    first = run(day)
    before = (StepExecution.objects.count(), Message.objects.count(), Event.objects.count())
    second = run(day)
    third = run(day, dry_run=True)
    assert first.executed == 1
    assert second.executed == 0
    assert third.executed == 0
    assert (StepExecution.objects.count(), Message.objects.count()) == before[:2]


def test_a_dry_run_reports_but_changes_nothing(business):
    invoice_for(business)
    dry = run(date(2026, 1, 22), dry_run=True)
    assert dry.executed == 1
    assert dry.counts["reminder"]["email"] == 1
    assert StepExecution.objects.count() == 0
    assert Message.objects.count() == 0
    assert DunningRun.objects.get(pk=dry.pk).is_dry_run


def test_invoices_of_one_customer_reaching_a_step_together_share_one_message(business):
    """Art. 6:96 lid 7 BW: costs on the summed principal of the claims in one letter."""
    first = invoice_for(business, amount="1000.00")
    invoice_for(business, amount="1500.00")
    report = run(first.due_on + timedelta(days=17))
    assert report.executed == 2
    demands = [m for m in messages_of(business) if m.kind == "demand"]
    assert len(demands) == 2  # one per channel: email and letter
    context = demands[0].context
    assert len(context["invoices"]) == 2
    # 1210.00 + 1815.00 = 3025.00 -> 375.00 + 52.50 = 427.50 (not 181.50 + 272.25)
    assert context["costs"]["principal"] == "3025.00"
    assert context["costs"]["costs"] == "427.50"
    shares = StepExecution.objects.filter(step__code="demand").values_list("costs", flat=True)
    assert sum(shares) == Decimal("427.50")
    assert report.totals["costs"] == "427.50"


def test_one_broken_claim_is_reported_and_the_run_goes_on(business, consumer, monkeypatch):
    good = invoice_for(consumer)
    bad = invoice_for(business)
    original = core.next_step

    def breaking(claim, policy, today):
        if policy.code == "business":
            raise ValueError("corrupt claim")
        return original(claim, policy, today)

    monkeypatch.setattr(core, "next_step", breaking)
    report = run(good.due_on + timedelta(days=3))
    assert report.status == "done"
    assert [e["number"] for e in report.errors] == [bad.number]
    assert [s[0] for s in steps_of(good)] == ["reminder"]
    assert DunningState.objects.get(invoice=bad).next_action_on == good.due_on + timedelta(days=4)


def test_a_customer_without_address_gets_a_fix_task_instead_of_a_reminder(organisation):
    customer = CustomerFactory(organisation=organisation, email="")
    invoice = invoice_for(customer)
    Customer.objects.filter(pk=customer.pk).update(street="", city="", postal_code="")
    run(invoice.due_on + timedelta(days=3))
    assert [s for s in steps_of(invoice) if s[1] == "done"] == []
    assert messages_of(customer) == []
    task = CallTask.objects.get(invoice=invoice)
    assert task.kind == TaskKind.FIX
    assert "reachable" in task.details["problems"][0]
    assert DunningState.objects.get(invoice=invoice).pause == "needs_fix"


def test_no_email_falls_back_to_a_letter(organisation):
    customer = CustomerFactory(organisation=organisation, email="")
    invoice = invoice_for(customer)
    run(invoice.due_on + timedelta(days=3))
    assert [(m.kind, m.channel) for m in messages_of(customer)] == [("reminder", "letter")]


def test_approving_the_final_step_sends_it_and_proposes_hand_over(business, owner):
    invoice = invoice_for(business)
    due = invoice.due_on
    run(due + timedelta(days=31))
    execution = StepExecution.objects.get(invoice=invoice, status="awaiting_approval")
    approved = executions_approve(
        organisation=business.organisation,
        execution_ids=[execution.pk],
        actor=owner,
        today=due + timedelta(days=32),
    )
    assert approved == 1
    execution.refresh_from_db()
    assert (execution.status, execution.executed_on) == ("done", due + timedelta(days=32))
    assert CallTask.objects.filter(invoice=invoice, kind=TaskKind.HANDOVER).exists()
    assert {m.kind for m in messages_of(business)} >= {"final_notice"}


def test_skipping_an_approval_needs_a_reason_and_ends_the_policy(business, owner):
    invoice = invoice_for(business)
    run(invoice.due_on + timedelta(days=31))
    execution = StepExecution.objects.get(invoice=invoice, status="awaiting_approval")
    with pytest.raises(ValidationError):
        executions_skip(
            organisation=business.organisation,
            execution_ids=[execution.pk],
            actor=owner,
            reason=" ",
        )
    executions_skip(
        organisation=business.organisation,
        execution_ids=[execution.pk],
        actor=owner,
        reason="Goede klant",
    )
    state = DunningState.objects.get(invoice=invoice)
    assert state.next_action_on is None
    assert state.pause == "finished"


def test_the_late_fee_policy_charges_once_and_blocks_the_customer(business, owner):
    late_fee = DunningPolicy.objects.get(organisation=business.organisation, code="late_fee")
    customer_policy_set(customer=business, policy=late_fee, actor=owner)
    invoice = invoice_for(business, amount="5000.00")
    due = invoice.due_on
    run_days(due, due + timedelta(days=20))
    fee = StepExecution.objects.get(invoice=invoice, step__code="fee")
    assert fee.late_fee == Decimal("121.00")  # 2 % of 6050.00
    stop = StepExecution.objects.get(invoice=invoice, step__code="stop")
    assert stop.status == "awaiting_approval"
    executions_approve(
        organisation=business.organisation,
        execution_ids=[stop.pk],
        actor=owner,
        today=due + timedelta(days=20),
    )
    business.refresh_from_db()
    assert business.status == "blocked"


def test_customer_credit_covering_the_invoice_pauses_it(business):
    from betaald.payments.services import payment_register

    payment_register(
        organisation=business.organisation,
        customer=business,
        amount="500.00",
        received_on=ISSUED,
    )
    invoice = invoice_for(business)
    dunning_refresh_invoices(invoice_ids=[invoice.pk], today=ISSUED)
    state = DunningState.objects.get(invoice=invoice)
    # an issued invoice after the payment: the payment is unapplied credit
    assert state.pause in ("credit_balance", "settled")
    assert state.next_action_on is None


def pay(customer, amount, on):
    from betaald.payments.services import payment_register

    payment_register(
        organisation=customer.organisation, customer=customer, amount=amount, received_on=on
    )
    ids = list(customer.invoices.values_list("pk", flat=True))
    dunning_refresh_invoices(invoice_ids=ids, today=on)


def test_an_invoice_issued_from_an_old_draft_gets_its_state_at_the_next_run(business, owner):
    """The run looks for new invoices from the previous run's oldest draft on (a range scan,
    not an anti-join over the whole book), so a draft issued later is still found."""
    from betaald.invoices.services import LineInput, invoice_create_draft, invoice_issue

    draft = invoice_create_draft(
        organisation=business.organisation,
        customer=business,
        actor=owner,
        lines=[LineInput("Werk", Decimal("1"), Decimal("50.00"), "21")],
    )
    for _ in range(3):
        invoice_for(business)
    first = run(date(2026, 1, 6))
    assert first.synced_from_id is not None
    assert first.synced_from_id <= draft.pk
    invoice, _warnings = invoice_issue(invoice=draft, actor=owner, issued_on=date(2026, 1, 7))
    run(date(2026, 1, 8))
    assert DunningState.objects.filter(invoice=invoice).exists()


def test_costs_wait_for_the_term_of_the_14_dagenbrief_as_really_posted(consumer):
    """Art. 6:96 lid 6 BW: the term runs from receipt of the letter as posted; a letter posted
    days after the run moves the day costs become due."""
    invoice = invoice_for(consumer)
    due = invoice.due_on
    run_days(due, due + timedelta(days=21))
    letter = Message.objects.get(customer=consumer, kind="final_notice_14_day", channel="letter")
    letter_day = due + timedelta(days=21)
    Message.objects.filter(pk=letter.pk).update(posted_on=letter_day + timedelta(days=7))
    run_days(due + timedelta(days=22), due + timedelta(days=60))
    costs = StepExecution.objects.get(invoice=invoice, step__code="costs")
    from betaald.core.calendar import fourteen_day_term

    assert costs.executed_on >= fourteen_day_term(letter_day + timedelta(days=7)).costs_due_from
