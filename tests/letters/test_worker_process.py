"""Kill the real worker (`betaald db_worker`) half way through a batch and restart it: every
message reaches the SMTP server exactly once. Needs PostgreSQL: the worker is another process
and must see the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from betaald.letters.delivery import messages_recover
from betaald.letters.models import Message, MessageStatus
from betaald.letters.services import MessageDraft, messages_queue_bulk
from tests.letters.conftest import make_customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COUNT = 24


def worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "betaald.cli", "db_worker", "--no-startup-delay", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_killed_and_restarted_worker_sends_every_message_exactly_once(
    smtp_server, organisation, tmp_path, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share: PostgreSQL")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EMAIL_URL": f"smtp://127.0.0.1:{settings.EMAIL_PORT}",
        "DEFAULT_FROM_EMAIL": "noreply@betaald.example",
        "BETAALD_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "betaald.settings",
    }
    customers = [
        make_customer(organisation, f"W{n:03}", email=f"w{n}@example.nl") for n in range(COUNT)
    ]
    context = {
        "invoices": [
            {
                "number": "2026-0001",
                "issued_on": "2026-10-01",
                "due_on": "2026-10-15",
                "principal": "500.00",
                "payment_reference": "8000000020250417",
            }
        ],
        "costs": "75.00",
    }
    # A demand travels with its PDF, which keeps the worker busy long enough to be killed.
    assert (
        messages_queue_bulk(
            [
                MessageDraft(
                    organisation=organisation,
                    customer=customer,
                    kind="demand",
                    channel="email",
                    context=context,
                    unique_key=f"kill:{n}",
                )
                for n, customer in enumerate(customers)
            ]
        )
        == COUNT
    )

    first = worker(env, "--interval", "1")
    try:
        started = smtp_server.wait_for(3, timeout=120)
    finally:
        first.kill()
        _out, first_errors = first.communicate(timeout=30)
    assert started, first_errors.decode()
    sent_before_restart = len(smtp_server.envelopes)
    assert sent_before_restart < COUNT, "the worker finished before it could be killed"

    messages_recover(now=timezone.now() + timedelta(hours=1))
    second = worker(env, "--batch")
    _out, errors = second.communicate(timeout=300)
    assert second.returncode == 0, errors.decode()

    received = Counter(envelope.rcpt_tos[0] for envelope in smtp_server.envelopes)
    assert max(received.values()) == 1, "a message was sent twice"
    statuses = Counter(Message.objects.values_list("status", flat=True))
    # At most one message was on the wire when the worker died: its outcome is unknown, so it
    # is flagged for a person instead of being sent again.
    assert statuses[MessageStatus.SENT] >= COUNT - 1
    assert statuses[MessageStatus.SENT] + statuses[MessageStatus.FAILED] == COUNT
    assert len(received) >= statuses[MessageStatus.SENT]
