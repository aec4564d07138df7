"""`betaald letters_print --organisation ID [--date YYYY-MM-DD] --out DIR`: write the day's print
batch (one PDF in envelope order and the CSV for a print-and-mail service) and record the
posting date on its letters."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from betaald.letters.printing import print_batch_build
from betaald.organisations.models import Organisation


class Command(BaseCommand):
    help = "Write today's letters as one PDF in envelope order plus a CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", type=int, required=True, help="organisation id")
        parser.add_argument("--date", help="posting date, YYYY-MM-DD (default: today)")
        parser.add_argument("--out", default=".", help="directory for the PDF and CSV")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(pk=options["organisation"]).first()
        if organisation is None:
            raise CommandError("no such organisation")
        try:
            day = date.fromisoformat(options["date"]) if options["date"] else timezone.localdate()
        except ValueError as error:
            raise CommandError(f"--date: {error}") from None
        batch = print_batch_build(organisation=organisation, day=day, actor="letters_print")
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"print-{day}.csv").write_text(batch.csv, encoding="utf-8")
        if batch.count:
            (out / f"print-{day}.pdf").write_bytes(batch.pdf)
        self.stdout.write(f"{batch.count} letters, {batch.pages} pages, {day}")
