"""Background tasks of the outbox (django-tasks, database backend, worker `betaald db_worker`).

Tasks take ids only. `message_deliver` renders and sends one message; it is idempotent: the row is
claimed with a status transition under `select_for_update(skip_locked=True)`, so a killed and
restarted worker, or two workers, send each message exactly once (see `delivery`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.mail import get_connection
from django_tasks import task

logger = logging.getLogger(__name__)


@task(queue_name="default")
def message_deliver(message_id: int) -> str:
    from betaald.letters.delivery import message_deliver_now

    return message_deliver_now(message_id)


@task(queue_name="default")
def messages_dispatch(message_ids: list[int]) -> dict[str, int]:
    """Deliver a chunk of messages queued together (the dunning run) over one SMTP connection;
    one failure never stops the others: each message records its own outcome."""
    from betaald.letters.delivery import message_deliver_now

    outcomes: dict[str, int] = {}
    connection: Any = get_connection()
    try:
        for message_id in message_ids:
            try:
                outcome = message_deliver_now(message_id, email_connection=connection)
            except Exception:  # the message stays claimed; `messages_recover` deals with it
                logger.exception("letters: message %s could not be delivered", message_id)
                outcome = "error"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    finally:
        connection.close()
    return outcomes


@task(queue_name="default")
def messages_recover_task() -> dict[str, int]:
    from betaald.letters.delivery import messages_recover

    return messages_recover()
