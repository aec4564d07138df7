"""`betaald dunning run [--date YYYY-MM-DD] [--dry-run] [--force] [--organisation ID]
[--workers N]`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


class Command(BaseCommand):
    help = "The dunning engine: `run` carries out every dunning step that is due."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        run = commands.add_parser(
            "run",
            help="Carry out the steps due on a day (safe to run twice or concurrently).",
        )
        run.add_argument("--date", help="the run date, YYYY-MM-DD (default: today)")
        run.add_argument(
            "--dry-run", action="store_true", help="compute and report, change nothing"
        )
        run.add_argument("--force", action="store_true", help="allow a date later than tomorrow")
        run.add_argument("--organisation", type=int, help="only this organisation (id)")
        run.add_argument(
            "--workers",
            type=int,
            default=1,
            help="worker processes, each on its own share of the customers (PostgreSQL; "
            "default 1; a dry run always uses one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from betaald.dunning.services import dunning_run
        from betaald.organisations.models import Organisation

        today = timezone.localdate()
        if options["date"]:
            try:
                run_on = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date: {options['date']!r} is not a date (YYYY-MM-DD)"
                ) from None
        else:
            run_on = today
        if run_on > today + timedelta(days=1) and not options["force"]:
            raise CommandError(
                f"--date: {run_on.isoformat()} is after tomorrow; add --force to run it"
            )
        if options["workers"] < 1:
            raise CommandError("--workers: at least 1")
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(pk=options["organisation"]).first()
            if organisation is None:
                raise CommandError(f"--organisation: no organisation {options['organisation']}")
        run = dunning_run(
            today=run_on,
            organisation=organisation,
            dry_run=options["dry_run"],
            workers=options["workers"],
        )
        prefix = "dry run " if run.is_dry_run else ""
        self.stdout.write(
            f"{prefix}{run.run_on.isoformat()}: {run.processed} claims looked at, "
            f"{run.executed} steps carried out, {run.messages} messages queued, "
            f"{len(run.errors)} errors ({run.get_status_display()})"
        )
        for step, counts in sorted(run.counts.items()):
            parts = ", ".join(f"{what} {n}" for what, n in sorted(counts.items()))
            self.stdout.write(f"  {step}: {parts}")
        for step, n in sorted(run.skipped.items()):
            self.stdout.write(f"  skipped {step}: {n}")
        totals = ", ".join(f"{k} {v}" for k, v in run.totals.items())
        self.stdout.write(f"  charged: {totals}")
        for error in run.errors[:20]:
            self.stdout.write(self.style.ERROR(f"  error {error}"))
        if run.status == "failed":
            raise CommandError("the run failed; see the errors above")
