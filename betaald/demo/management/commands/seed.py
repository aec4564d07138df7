from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from betaald.demo.seeding import demo_organisation, demo_users, seed


class Command(BaseCommand):
    help = "Fill the database with realistic Dutch demo data (customers, invoices, payments)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=60, help="number of customers")
        parser.add_argument("--invoices", type=int, default=300, help="number of invoices")
        parser.add_argument("--date", help="the demo's today (YYYY-MM-DD); default: today")
        parser.add_argument("--seed", type=int, default=2026, help="random seed")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 0 or options["invoices"] < 0:
            raise CommandError("--customers and --invoices must not be negative", returncode=2)
        try:
            today = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError:
            raise CommandError(
                f"--date: {options['date']!r} is not YYYY-MM-DD", returncode=2
            ) from None
        today = today or timezone.localdate()
        organisation = demo_organisation()
        demo_users(organisation)
        counts = seed(
            customers=options["customers"],
            invoices=options["invoices"],
            today=today,
            seed_value=options["seed"],
        )
        self.stdout.write(
            f"Seeded {counts['customers']} customers, {counts['invoices']} invoices and "
            f"{counts['payments']} payments for {organisation} (today = {today})."
        )
