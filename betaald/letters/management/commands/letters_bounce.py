"""`betaald letters_bounce [FILE ...]`: record delivery status notifications (RFC 3464) for
emails betaald sent: a failure falls back to the next channel, a success (NOTIFY=SUCCESS) marks
the message delivered; reads standard input without files (for an MTA pipe)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from betaald.letters.delivery import dsn_record


class Command(BaseCommand):
    help = "Record DSNs of sent emails: bounced (next channel) or delivered."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", help="DSN files (.eml); none: standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        sources = [Path(name).read_bytes() for name in options["files"]] or [
            sys.stdin.buffer.read()
        ]
        for raw in sources:
            message_id, outcome = dsn_record(raw)
            self.stdout.write(f"{message_id}: {outcome}" if message_id else outcome)
