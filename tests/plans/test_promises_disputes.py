"""Promises to pay (betalingstoezeggingen) and disputes (geschillen) over simulated days."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from betaald.audit.models import Event
from betaald.dunning.models import CallTask, DunningState, Hold, HoldKind, TaskKind, TaskOutcome
from betaald.dunning.services import call_task_complete
from betaald.invoices.selectors import invoice_open_amount
from betaald.invoices.services import LineInput
from betaald.letters.models import Message
from betaald.plans.models import Dispute, DisputeReason, DisputeStatus, Promise, PromiseStatus
from betaald.plans.selectors import disputes_report
from betaald.plans.services import (
    dispute_open,
    dispute_reject,
    dispute_resolve_credit,
    plans_evaluate,
    promise_cancel,
    promise_create,
)
from tests.plans.conftest import DUE, invoice_for, steps_of, walk

D = Decimal
DAY = DUE + timedelta(days=5)  # 2026-01-24, after the reminder


def promise(customer, invoices, actor, amount="1210.00", promised_on=DAY + timedelta(days=7)):
    return promise_create(
        organisation=customer.organisation,
        customer=customer,
        invoices=invoices,
        amount=amount,
        promised_on=promised_on,
        actor=actor,
        today=DAY,
        source="email",
        note="Betaalt volgende week",
    )


def test_a_kept_promise_pauses_dunning_and_is_marked_kept(business, owner):
    invoice = invoice_for(business)
    walk(DUE + timedelta(days=1), DAY - timedelta(days=1))
    made = promise(business, [invoice], owner)
    assert Hold.objects.get(kind=HoldKind.PROMISE, invoice=invoice).until == date(2026, 1, 31)
    assert Message.objects.filter(unique_key=f"promise:{made.pk}:confirmation").exists()
    walk(DAY, date(2026, 2, 10), payments={date(2026, 1, 30): [(business, "1210.00")]})
    made.refresh_from_db()
    assert made.status == PromiseStatus.KEPT
    assert made.evaluated_on == date(2026, 1, 30)
    assert [s[0] for s in steps_of(invoice)] == ["reminder"]  # the call at +10 never came


def test_a_broken_promise_resumes_dunning_the_day_after_and_counts(business, owner):
    invoice = invoice_for(business)
    walk(DUE + timedelta(days=1), DAY - timedelta(days=1))
    made = promise(business, [invoice], owner)
    walk(DAY, date(2026, 1, 31))
    assert [s[0] for s in steps_of(invoice)] == ["reminder"]
    walk(date(2026, 2, 1), date(2026, 2, 1))
    made.refresh_from_db()
    assert made.status == PromiseStatus.BROKEN
    assert made.evaluated_on == date(2026, 2, 1)
    assert steps_of(invoice)[-1][2] == date(2026, 2, 1)
    assert Event.objects.filter(name="plans.promise.broken", customer=business).exists()
    from betaald.plans.selectors import customer_score

    assert customer_score(business, date(2026, 2, 1)).recent.broken_promises == 1


def test_a_partial_payment_does_not_keep_the_promise(business, owner):
    invoice = invoice_for(business)
    made = promise(business, [invoice], owner, amount="600.00")
    walk(DAY, date(2026, 2, 1), payments={date(2026, 1, 28): [(business, "500.00")]})
    made.refresh_from_db()
    assert made.status == PromiseStatus.BROKEN


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"promised_on": DAY - timedelta(days=1)}, "promised_on", "before today"),
        ({"amount": "0.00"}, "amount", "more than zero"),
        ({"amount": "2000.00"}, "amount", "more than the open amount"),
        ({"amount": "1.001"}, "amount", "more than two decimals"),
    ],
)
def test_a_bad_promise_is_refused_naming_the_field(business, owner, kwargs, field, text):
    invoice = invoice_for(business)
    with pytest.raises(ValidationError) as error:
        promise(business, [invoice], owner, **kwargs)
    assert text in " ".join(error.value.message_dict[field])
    assert not Promise.objects.exists()


def test_a_promise_made_on_a_call_is_adopted_not_duplicated(business, owner):
    invoice = invoice_for(business)
    walk(DUE + timedelta(days=1), DUE + timedelta(days=10))
    task = CallTask.objects.get(invoice=invoice, kind=TaskKind.CALL)
    call_task_complete(
        task=task,
        outcome=TaskOutcome.PROMISED,
        actor=owner,
        today=DUE + timedelta(days=10),
        promised_on=DUE + timedelta(days=15),
        note="Betaalt na de 1e",
    )
    report = plans_evaluate(today=DUE + timedelta(days=10))
    assert report.adopted == 1
    made = Promise.objects.get()
    assert made.call_task == task
    assert made.amount == D("1210.00")
    assert made.promised_on == DUE + timedelta(days=15)
    assert Hold.objects.filter(kind=HoldKind.PROMISE).count() == 1
    assert plans_evaluate(today=DUE + timedelta(days=10)).adopted == 0
    walk(DUE + timedelta(days=11), DUE + timedelta(days=16))
    made.refresh_from_db()
    assert made.status == PromiseStatus.BROKEN


def test_cancelling_a_promise_needs_a_reason_and_releases_the_hold(business, owner):
    invoice = invoice_for(business)
    made = promise(business, [invoice], owner)
    with pytest.raises(ValidationError):
        promise_cancel(promise=made, actor=owner, today=DAY, reason="")
    promise_cancel(promise=made, actor=owner, today=DAY, reason="Verkeerd genoteerd")
    assert not Hold.objects.filter(released_at=None).exists()
    with pytest.raises(ValidationError):
        promise_cancel(promise=made, actor=owner, today=DAY, reason="again")


# -------------------------------------------------------------------------------- disputes


def dispute(invoice, actor, reason=DisputeReason.QUALITY, **kwargs):
    return dispute_open(
        invoice=invoice,
        reason=reason,
        description="Tegels gebarsten",
        actor=actor,
        today=DAY,
        owner=actor,
        **kwargs,
    )


def test_a_dispute_pauses_only_its_invoice_and_a_credit_note_settles_it(business, owner):
    disputed = invoice_for(business)
    other = invoice_for(business, amount="100.00")
    opened = dispute(disputed, owner)
    assert opened.resolve_by == DAY + timedelta(days=14)
    walk(DAY, DAY + timedelta(days=10))
    assert [s[0] for s in steps_of(disputed)] == []
    assert "call" in [s[0] for s in steps_of(other)]
    resolved = dispute_resolve_credit(
        dispute=opened, actor=owner, today=DAY + timedelta(days=10), note="Levering afgekeurd"
    )
    assert resolved.status == DisputeStatus.CREDITED
    assert resolved.credit_note is not None
    assert invoice_open_amount(disputed) == D("0.00")
    assert not Hold.objects.filter(invoice=disputed, released_at=None).exists()


def test_a_partial_credit_resumes_dunning_for_what_is_left(business, owner):
    invoice = invoice_for(business)
    opened = dispute(invoice, owner, reason=DisputeReason.WRONG_AMOUNT)
    line = LineInput("Korting op meerwerk", D("1"), D("200.00"), "21")
    resolved = dispute_resolve_credit(
        dispute=opened,
        actor=owner,
        today=DAY + timedelta(days=3),
        note="Deels terecht",
        lines=[line],
    )
    assert resolved.status == DisputeStatus.PARTIALLY_CREDITED
    assert invoice_open_amount(invoice) == D("968.00")
    assert DunningState.objects.get(invoice=invoice).next_action_on is not None


def test_a_rejected_dispute_needs_an_explanation_and_dunning_resumes(business, owner):
    invoice = invoice_for(business)
    opened = dispute(invoice, owner, reason=DisputeReason.NOT_DELIVERED)
    walk(DAY, DAY + timedelta(days=5))
    with pytest.raises(ValidationError) as error:
        dispute_reject(dispute=opened, actor=owner, today=DAY + timedelta(days=5), note=" ")
    assert "note" in error.value.message_dict
    dispute_reject(
        dispute=opened,
        actor=owner,
        today=DAY + timedelta(days=5),
        note="Afleverbon getekend op 12 januari",
    )
    opened.refresh_from_db()
    assert opened.status == DisputeStatus.REJECTED
    assert opened.resolution == "Afleverbon getekend op 12 januari"
    from betaald.letters.models import Message
    from betaald.letters.rendering import render_message

    decision = Message.objects.get(kind="dispute_decision", customer=business)
    assert decision.context["dispute"]["decision"] == "Afleverbon getekend op 12 januari"
    rendered = render_message(
        organisation_id=decision.organisation_id,
        kind=decision.kind,
        language=decision.language,
        context=decision.context,
        recipient=decision.recipient,
    )
    assert "Afleverbon getekend op 12 januari" in rendered.html
    walk(DAY + timedelta(days=6), DAY + timedelta(days=6))
    assert steps_of(invoice)[-1][2] == DAY + timedelta(days=6)
    with pytest.raises(ValidationError, match="already resolved"):
        dispute_reject(dispute=opened, actor=owner, today=DAY, note="again")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": "angry"}, "reason"),
        ({"resolve_by": DAY - timedelta(days=1)}, "resolve_by"),
    ],
)
def test_a_bad_dispute_is_refused(business, owner, kwargs, field):
    invoice = invoice_for(business)
    with pytest.raises(ValidationError) as error:
        dispute(invoice, owner, **kwargs)
    assert field in error.value.message_dict


def test_a_second_open_dispute_and_a_foreign_line_are_refused(business, owner):
    invoice = invoice_for(business)
    other = invoice_for(business)
    with pytest.raises(ValidationError) as error:
        dispute(invoice, owner, line=other.lines.first())
    assert "line" in error.value.message_dict
    dispute(invoice, owner, line=invoice.lines.first())
    with pytest.raises(ValidationError, match="already has an open dispute"):
        dispute(invoice, owner)


def test_a_dispute_noted_on_a_call_lands_in_the_list(business, owner):
    invoice = invoice_for(business)
    walk(DUE + timedelta(days=1), DUE + timedelta(days=10))
    task = CallTask.objects.get(invoice=invoice, kind=TaskKind.CALL)
    call_task_complete(
        task=task,
        outcome=TaskOutcome.DISPUTE,
        actor=owner,
        today=DUE + timedelta(days=10),
        note="Klant zegt: twee pallets niet geleverd",
    )
    assert plans_evaluate(today=DUE + timedelta(days=10)).adopted == 1
    adopted = Dispute.objects.get()
    assert adopted.reason == DisputeReason.OTHER
    assert "pallets" in adopted.description
    assert adopted.hold.kind == HoldKind.DISPUTE


def test_the_report_counts_disputes_by_reason_with_the_average_days_to_resolve(business, owner):
    first = dispute(invoice_for(business), owner)
    second = dispute(invoice_for(business), owner)
    dispute(invoice_for(business), owner, reason=DisputeReason.ALREADY_PAID)
    dispute_reject(dispute=first, actor=owner, today=DAY + timedelta(days=2), note="Geen gebrek")
    dispute_resolve_credit(dispute=second, actor=owner, today=DAY + timedelta(days=5), note="Ok")
    rows = {row.reason: row for row in disputes_report(business.organisation)}
    assert (rows["quality"].total, rows["quality"].open, rows["quality"].resolved) == (2, 0, 2)
    assert rows["quality"].average_days == D("3.5")
    assert (rows["already_paid"].total, rows["already_paid"].open) == (1, 1)
    assert rows["already_paid"].average_days is None
    assert rows["other"].total == 0


def test_a_promise_on_an_invoice_credited_meanwhile_counts_neither_way(business, owner):
    from betaald.invoices.services import credit_note_create

    invoice = invoice_for(business)
    made = promise(business, [invoice], owner)
    credit_note_create(invoice=invoice, actor=owner, issued_on=DAY, reason="Fout gefactureerd")
    walk(DAY, DAY + timedelta(days=10))
    made.refresh_from_db()
    assert made.status == PromiseStatus.CANCELLED
