"""`betaald plans evaluate [--date YYYY-MM-DD] [--organisation ID]`."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


class Command(BaseCommand):
    help = "Payment plans and promises: `evaluate` marks them kept, broken or completed."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        evaluate = commands.add_parser(
            "evaluate",
            help=(
                "Evaluate active plans and open promises on a day, send instalment reminders "
                "and refresh the suggested terms (safe to run twice or concurrently)."
            ),
        )
        evaluate.add_argument("--date", help="the day to evaluate, YYYY-MM-DD (default: today)")
        evaluate.add_argument("--organisation", type=int, help="only this organisation (id)")
        evaluate.add_argument(
            "--no-suggestions",
            action="store_true",
            help="skip scoring every customer for suggested terms (e.g. run that weekly)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from betaald.organisations.models import Organisation
        from betaald.plans.services import plans_evaluate

        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date: {options['date']!r} is not a date (YYYY-MM-DD)"
                ) from None
        else:
            day = timezone.localdate()
        organisation = None
        if options["organisation"]:
            organisation = Organisation.objects.filter(pk=options["organisation"]).first()
            if organisation is None:
                raise CommandError(f"--organisation: no organisation {options['organisation']}")
        report = plans_evaluate(
            today=day, organisation=organisation, suggestions=not options["no_suggestions"]
        )
        self.stdout.write(
            f"{day.isoformat()}: {report.plans} plans evaluated ({report.completed} completed, "
            f"{report.broken} broken, {report.reminders} reminders queued); "
            f"{report.promises} promises ({report.kept} kept, {report.promises_broken} broken); "
            f"{report.adopted} holds adopted; {report.suggestions} new suggestions; "
            f"{len(report.errors)} errors"
        )
        for error in report.errors[:20]:
            self.stdout.write(self.style.ERROR(f"  error {error}"))
