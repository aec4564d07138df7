"""Two evaluations at once change every plan, promise and hold once (SKIP LOCKED), and a
second evaluation of the same day changes nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from betaald.audit.models import Event
from betaald.dunning.models import CallTask, HoldKind, TaskKind, TaskOutcome
from betaald.dunning.services import (
    call_task_complete,
    dunning_policies_install_defaults,
    dunning_run,
)
from betaald.letters.models import Message
from betaald.plans.models import PaymentPlan, PlanStatus, Promise, TermSuggestion
from betaald.plans.services import plan_create, plans_evaluate
from tests.factories import CustomerFactory, MembershipFactory, OrganisationFactory

from .conftest import DUE, invoice_for

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks with SKIP LOCKED need PostgreSQL"
)


def book():
    organisation = OrganisationFactory()
    dunning_policies_install_defaults(organisation=organisation)
    owner = MembershipFactory(organisation=organisation).user
    customers = [CustomerFactory(organisation=organisation, phone=f"06{n:08d}") for n in range(6)]
    invoices = [invoice_for(customer) for customer in customers]
    for customer, invoice in zip(customers[:4], invoices[:4], strict=True):
        plan_create(
            organisation=organisation,
            customer=customer,
            invoices=[invoice],
            actor=owner,
            today=DUE + timedelta(days=1),
            first_on=DUE + timedelta(days=5),
            count=2,
            grace_days=0,
            activate=True,
        )
    for offset in range(2, 11):  # dunning only: the plans are left for the evaluation
        dunning_run(today=DUE + timedelta(days=offset), organisation=organisation)
    for invoice in invoices[4:]:
        task = CallTask.objects.get(invoice=invoice, kind=TaskKind.CALL)
        call_task_complete(
            task=task,
            outcome=TaskOutcome.PROMISED,
            actor=owner,
            today=DUE + timedelta(days=10),
            promised_on=DUE + timedelta(days=12),
        )
    return organisation


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_evaluations_change_everything_once():
    book()
    day = DUE + timedelta(days=10)
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            plans_evaluate(today=day)
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert PaymentPlan.objects.filter(status=PlanStatus.BROKEN).count() == 4
    assert Event.objects.filter(name="plans.plan.broken").count() == 4
    assert Promise.objects.count() == 2
    assert Message.objects.filter(kind="promise_confirmation").count() == 2
    assert (
        Event.objects.filter(name="dunning.hold.released", after__kind=HoldKind.PLAN).count() == 4
    )
    suggestions = TermSuggestion.objects.count()
    report = plans_evaluate(today=day)
    assert (report.plans, report.adopted, report.suggestions) == (0, 0, 0)
    assert TermSuggestion.objects.count() == suggestions


@pytest.mark.django_db
def test_a_second_evaluation_of_the_same_day_changes_nothing():
    book()
    day = DUE + timedelta(days=10)
    first = plans_evaluate(today=day)
    events = Event.objects.count()
    messages = Message.objects.count()
    second = plans_evaluate(today=day)
    assert (first.broken, first.adopted) == (4, 2)
    assert (second.broken, second.adopted, second.reminders, second.suggestions) == (0, 0, 0, 0)
    assert (Event.objects.count(), Message.objects.count()) == (events, messages)
