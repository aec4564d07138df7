"""`betaald letters_bounce [FILE ...]`: record bounce messages (delivery status notifications,
RFC 3464) for emails betaald sent; reads standard input without files (for an MTA pipe)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from betaald.letters.delivery import bounce_parse, message_bounce_record


class Command(BaseCommand):
    help = "Record bounces of sent emails; the message falls back to its next channel."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", help="DSN files (.eml); none: standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        sources = [Path(name).read_bytes() for name in options["files"]] or [
            sys.stdin.buffer.read()
        ]
        for raw in sources:
            parsed = bounce_parse(raw)
            if parsed is None:
                self.stdout.write("not a bounce of a betaald message")
                continue
            message_id, reason = parsed
            outcome = message_bounce_record(message_id=message_id, reason=reason)
            self.stdout.write(f"{message_id}: {outcome}")
