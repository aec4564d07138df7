from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from betaald.demo.extensions import install_demo_extensions
from betaald.demo.seeding import demo_organisation, demo_users
from betaald.invoices.models import Invoice


class Command(BaseCommand):
    help = (
        "Set up the embedded SQLite database with demo data and serve betaald on "
        "http://127.0.0.1:8000/ (migrate, seed once, runserver)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="where to serve")
        parser.add_argument("--no-serve", action="store_true", help="set up only, do not serve")
        parser.add_argument("--customers", type=int, default=60)
        parser.add_argument("--invoices", type=int, default=300)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        organisation = demo_organisation()
        logins = demo_users(organisation)
        if not Invoice.objects.filter(organisation=organisation).exists():
            self.stdout.write("Creating demo data (a minute at most)…")
            call_command(
                "seed",
                customers=options["customers"],
                invoices=options["invoices"],
                stdout=self.stdout,
            )
        run = install_demo_extensions(organisation, today=timezone.localdate())
        self.stdout.write(
            f"Dunning run for {run.run_on}: {run.executed} steps, {run.messages} messages queued."
        )
        host = options["addrport"]
        self.stdout.write(self.style.SUCCESS(f"\nbetaald demo: http://{host}/"))
        for username, password in logins:
            self.stdout.write(f"  log in as {username} / {password}")
        if not options["no_serve"]:
            call_command("runserver", host, use_reloader=False)
