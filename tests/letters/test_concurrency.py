"""Two dunning runs queueing the same messages at the same moment create each message once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from betaald.letters.models import Message
from betaald.letters.services import MessageDraft, message_queue, messages_queue_bulk
from tests.letters.conftest import make_customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*jobs):
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)
    errors: list[BaseException] = []

    def runner(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_concurrent_bulk_queueing_never_duplicates_a_message(organisation):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with concurrent writers")
    customers = [make_customer(organisation, f"T{n:03}") for n in range(60)]
    drafts = [
        MessageDraft(
            organisation=organisation,
            customer=customer,
            kind="reminder",
            channel="email",
            context={"n": str(n)},
            unique_key=f"concurrent:{n}",
        )
        for n, customer in enumerate(customers)
    ]
    counts = run_together(lambda: messages_queue_bulk(drafts), lambda: messages_queue_bulk(drafts))
    assert Message.objects.count() == 60
    # Each run counts (and enqueues) only the rows its own INSERT ... RETURNING got back.
    assert sum(counts) == 60


def test_concurrent_single_queueing_returns_the_same_message(organisation, customer):
    if connection.vendor != "postgresql":
        pytest.skip("needs a database with concurrent writers")

    def queue():
        message, created = message_queue(
            organisation=organisation,
            customer=customer,
            kind="reminder",
            channel="email",
            context={},
            unique_key="one-and-only",
        )
        return message.pk, created

    results = run_together(queue, queue, queue)
    assert len({pk for pk, _created in results}) == 1
    assert [created for _pk, created in results].count(True) == 1
    assert Message.objects.count() == 1
