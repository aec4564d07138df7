"""A second run, a crash half way and two concurrent runs create no duplicate steps or
messages: the unique (invoice, step) key and the outbox's unique key (issue 5, item 4)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections

from betaald.debtors.models import CustomerKind
from betaald.dunning import services
from betaald.dunning.models import DunningRun, DunningState, StepExecution
from betaald.dunning.services import dunning_policies_install_defaults, dunning_run
from betaald.letters.models import Message
from tests.factories import CustomerFactory, OrganisationFactory

from .conftest import invoice_for

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks with SKIP LOCKED need PostgreSQL"
)


def book(customers: int, invoices_each: int):
    organisation = OrganisationFactory()
    dunning_policies_install_defaults(organisation=organisation)
    made = []
    for n in range(customers):
        customer = CustomerFactory(
            organisation=organisation, kind=CustomerKind.BUSINESS, phone=f"06{n:08d}"
        )
        for _ in range(invoices_each):
            made.append(invoice_for(customer))
    return organisation, made


def counts() -> tuple[int, int]:
    return StepExecution.objects.count(), Message.objects.count()


@pytest.mark.django_db
def test_a_crash_half_way_then_a_rerun_creates_every_step_once(monkeypatch):
    _organisation, invoices = book(customers=6, invoices_each=2)
    day = invoices[0].due_on + timedelta(days=17)
    calls = {"n": 0}
    original = services._write

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")  # a kill, not an error: nothing catches it
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_write", crashing)
    with pytest.raises(KeyboardInterrupt):
        dunning_run(today=day, chunk_size=4)
    half = counts()
    assert 0 < half[0] < 4 * 12  # some chunks committed, the crashed one rolled back
    monkeypatch.setattr(services, "_write", original)
    dunning_run(today=day, chunk_size=4)
    # every invoice: pre_due, reminder, call skipped + demand done
    assert StepExecution.objects.filter(status="done").count() == 12
    assert StepExecution.objects.count() == 4 * 12
    assert Message.objects.filter(kind="demand").count() == 6 * 2  # per customer: email + letter
    dunning_run(today=day, chunk_size=4)
    assert counts() == (4 * 12, 12)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_create_every_step_and_message_once():
    _organisation, invoices = book(customers=20, invoices_each=3)
    day = invoices[0].due_on + timedelta(days=3)
    barrier = threading.Barrier(2)
    runs: list[DunningRun] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            runs.append(dunning_run(today=day, chunk_size=7))
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
    assert [r.status for r in runs] == ["done", "done"]
    assert sum(r.executed for r in runs) == 60
    assert StepExecution.objects.filter(status="done").count() == 60
    # one reminder per customer (its 3 invoices together), never two
    assert Message.objects.filter(kind="reminder").count() == 20
    assert DunningState.objects.filter(next_action_on__lte=day).count() == 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_run_skips_rows_locked_by_another_transaction():
    """SKIP LOCKED: a claim locked elsewhere is left for the other worker, not waited for."""
    from django.db import transaction

    _organisation, invoices = book(customers=2, invoices_each=1)
    day = invoices[0].due_on + timedelta(days=3)
    services.dunning_states_create_missing(today=day)
    locked = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with transaction.atomic():
            list(DunningState.objects.select_for_update().filter(invoice_id=invoices[0].pk))
            locked.set()
            release.wait(timeout=30)
        connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(timeout=30)
    try:
        report = dunning_run(today=day)
    finally:
        release.set()
        thread.join(timeout=30)
    assert report.executed == 1
    assert StepExecution.objects.filter(invoice=invoices[0], status="done").count() == 0
    assert dunning_run(today=day).executed == 1


@pytest.mark.django_db
def test_the_unique_key_refuses_a_second_execution_of_a_step(business):
    from django.db import IntegrityError, transaction

    invoice = invoice_for(business)
    dunning_run(today=invoice.due_on + timedelta(days=3))
    done = StepExecution.objects.get(invoice=invoice, status="done")
    with pytest.raises(IntegrityError), transaction.atomic():
        StepExecution.objects.create(
            organisation=done.organisation,
            invoice=invoice,
            customer=business,
            step=done.step,
            status="done",
            executed_on=date(2026, 2, 1),
        )
