"""`betaald dunning run --workers N`: the due claims split by customer over worker processes
give exactly the run of one process (steps, skipped steps, messages, states, charges, tasks,
audit events, reports), and stay safe next to a concurrent run."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections

from betaald.dunning.models import DunningRun, DunningState, StepExecution
from betaald.dunning.services import dunning_run
from betaald.letters.models import Message

from . import varied_book

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="worker processes need PostgreSQL"
)


def one_process(day: date, organisation) -> DunningRun:
    return dunning_run(today=day, organisation=organisation)


def two_workers(day: date, organisation) -> DunningRun:
    return dunning_run(today=day, organisation=organisation, workers=2)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_write_exactly_what_one_process_writes_on_a_varied_book():
    single, single_customers = varied_book.build()
    split, split_customers = varied_book.build()
    single_runs = varied_book.walk(single, single_customers, one_process)
    split_runs = varied_book.walk(split, split_customers, two_workers)
    expected = varied_book.snapshot(single, single_runs)
    found = varied_book.snapshot(split, split_runs)
    # the book really exercises the engine: steps done and skipped, messages, holds, tasks
    statuses = {e[3] for e in expected["executions"]}
    assert {"done", "skipped", "awaiting_approval"} <= statuses
    pauses = {s[9] for s in expected["states"]}
    assert {"settled", "below_threshold", "credit_balance", "insolvency", "plan"} <= pauses
    assert len(expected["messages"]) > 40
    assert {t[0] for t in expected["tasks"]} >= {"call", "fix"}
    for part in expected:
        assert found[part] == expected[part], part


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_next_to_a_concurrent_run_create_every_step_and_message_once():
    from .test_idempotency import book

    _organisation, invoices = book(customers=20, invoices_each=3)
    day = invoices[0].due_on + timedelta(days=3)
    barrier = threading.Barrier(2)
    runs: list[DunningRun] = []
    failures: list[BaseException] = []

    def worker(workers: int) -> None:
        try:
            barrier.wait(timeout=30)
            runs.append(dunning_run(today=day, chunk_size=7, workers=workers))
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert [r.status for r in runs] == ["done", "done"]
    assert sum(r.executed for r in runs) == 60
    assert StepExecution.objects.filter(status="done").count() == 60
    assert Message.objects.filter(kind="reminder").count() == 20
    assert DunningState.objects.filter(next_action_on__lte=day).count() == 0
    assert dunning_run(today=day, workers=2).executed == 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_failing_worker_fails_the_run_and_a_rerun_finishes_it(monkeypatch):
    from betaald.dunning import services

    from .test_idempotency import book

    _organisation, invoices = book(customers=6, invoices_each=2)
    day = invoices[0].due_on + timedelta(days=3)
    original = services._run_chunk

    def failing(ids, *args, **kwargs):
        customers = set(
            DunningState.objects.filter(invoice_id__in=ids).values_list("customer_id", flat=True)
        )
        if any(c % 2 == 1 for c in customers):
            raise RuntimeError("worker broke")
        return original(ids, *args, **kwargs)

    monkeypatch.setattr(services, "_run_chunk", failing)
    failed = dunning_run(today=day, workers=2)
    assert failed.status == "failed"
    assert "worker broke" in failed.errors[-1]["error"]
    monkeypatch.setattr(services, "_run_chunk", original)
    again = dunning_run(today=day, workers=2)
    assert again.status == "done"
    assert StepExecution.objects.filter(status="done").count() == 12
    assert Message.objects.filter(kind="reminder").count() == 6
