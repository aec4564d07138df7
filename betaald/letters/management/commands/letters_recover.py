"""`betaald letters_recover`: after a worker crash, requeue what never reached a transport and
open a task for what may have been sent. Safe to run at any time (e.g. every 15 minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from betaald.letters.delivery import messages_recover


class Command(BaseCommand):
    help = "Recover outbox messages left behind by a stopped worker."

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = messages_recover()
        self.stdout.write(
            f"requeued {outcome['requeued']}, re-enqueued {outcome['orphans']}, "
            f"outcome unknown {outcome['unknown']}"
        )
