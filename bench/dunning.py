"""Benchmark of the dunning run on PostgreSQL (issue 5, "Performance").

    uv run python bench/dunning.py [--invoices 1000000] [--customers 100000] [--due 50000]
                                   [--database-url postgres://postgres@127.0.0.1:5432/betaald_bench]
                                   [--workers N]   # as `betaald dunning run --workers N`

Builds a book with set-based SQL (one organisation, the default policies, N business
customers, M issued invoices and their dunning states), then measures, each in a fresh child
process so that peak memory is the run's own:

- quiet day: M open, nothing due — cost must follow today's work, not the book's size;
- typical day: M open, `--due` reach their reminder today;
- backlog day: M open, all due today; compared with the floor, one hand-written set-based
  INSERT ... SELECT of the same step rows (also shown with its foreign-key checks, which the
  floor's rollback otherwise skips).

Prints one line per scenario: seconds, claims processed, steps, messages, peak RSS (MB).
Not a test: numbers depend on the machine; docs/performance.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/betaald_bench"
TODAY = date(2026, 3, 16)  # a Monday: the run date of every scenario


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaald.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _columns(model, overrides: dict[str, str]) -> tuple[str, str]:
    """Column list and SQL value expressions for every concrete field of `model`: the given
    SQL for some, the default / NULL / '' for the rest (keeps up with new model fields)."""
    from django.db import models

    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in overrides:
            continue
        names.append(f'"{field.column}"')
        if field.column in overrides:
            values.append(overrides[field.column])
        elif field.has_default():
            default = field.get_default()
            if isinstance(default, bool):
                values.append("TRUE" if default else "FALSE")
            elif isinstance(default, (int,)) or type(default).__name__ == "Decimal":
                values.append(str(default))
            elif isinstance(default, (dict, list)):
                values.append(f"'{json.dumps(default)}'::jsonb")
            else:
                values.append(f"'{default}'")
        elif field.null:
            values.append("NULL")
        elif isinstance(field, models.DateTimeField):
            values.append("now()")
        elif isinstance(field, (models.CharField, models.TextField, models.FileField)):
            values.append("''")
        else:
            raise ValueError(f"{model.__name__}.{field.name}: no value for the benchmark")
    return ", ".join(names), ", ".join(values)


def build_book(invoices: int, customers: int) -> dict[str, int]:
    from django.core.management import call_command
    from django.db import connection

    from betaald.debtors.models import Customer
    from betaald.dunning.models import DunningPolicy, DunningState
    from betaald.dunning.services import dunning_policies_install_defaults
    from betaald.invoices.models import Invoice
    from betaald.organisations.models import Organisation

    call_command("migrate", verbosity=0)
    organisation = Organisation.objects.create(
        legal_name="Bench B.V.",
        kvk_number="12345678",
        vat_number="NL123456789B13",
        iban="NL20INGB0001234567",
        street="Oudegracht 1",
        postal_code="3511 AA",
        city="Utrecht",
    )
    dunning_policies_install_defaults(organisation=organisation)
    policy = DunningPolicy.objects.get(organisation=organisation, code="business")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        names, values = _columns(
            Customer,
            {
                "organisation_id": str(organisation.pk),
                "number": "'C' || g",
                "kind": "'business'",
                "name": "'Klant ' || g || ' B.V.'",
                "email": "'ap' || g || '@klant.nl'",
                "phone": "'06' || lpad(g::text, 8, '0')",
                "street": "'Kalverstraat ' || (g %% 200 + 1)",
                "postal_code": "'1012 AB'",
                "city": "'Amsterdam'",
            },
        )
        cursor.execute(
            f"INSERT INTO debtors_customer ({names}) "
            f"SELECT {values} FROM generate_series(1, %s) AS g",
            [customers],
        )
        cursor.execute(
            "SELECT min(id) FROM debtors_customer WHERE organisation_id = %s", [organisation.pk]
        )
        first_customer = cursor.fetchone()[0]
        names, values = _columns(
            Invoice,
            {
                "organisation_id": str(organisation.pk),
                "customer_id": f"{first_customer} + ((g - 1) %% {customers})",
                "kind": "'invoice'",
                "status": "'issued'",
                "number": "'B' || g",
                "series_year": "2026",
                "sequence": "g",
                "issued_on": "%(today)s::date - 10",
                "payment_term_days": "14",
                "due_on": "%(today)s::date + 30",
                "payment_reference": "lpad(g::text, 16, '0')",
                "total_excl_vat": "round((100 + (g %% 5000))::numeric, 2)",
                "total_vat": "0.00",
                "total": "round((100 + (g %% 5000))::numeric, 2)",
                "issued_at": "now()",
            },
        )
        cursor.execute(
            f"INSERT INTO invoices_invoice ({names}) "
            f"SELECT {values} FROM generate_series(1, %(n)s) AS g",
            {"n": invoices, "today": TODAY},
        )
        names, values = _columns(
            DunningState,
            {
                "invoice_id": "i.id",
                "organisation_id": "i.organisation_id",
                "customer_id": "i.customer_id",
                "policy_id": str(policy.pk),
                "due_on": "i.due_on",
                "open_amount": "i.total",
                "next_action_on": "i.due_on - 3",
                "updated_at": "now()",
            },
        )
        cursor.execute(
            f"INSERT INTO dunning_dunningstate ({names}) "
            f"SELECT {values} FROM invoices_invoice i WHERE i.organisation_id = %s",
            [organisation.pk],
        )
        cursor.execute("ANALYZE")
    return {
        "organisation": organisation.pk,
        "policy": policy.pk,
        "seconds": round(time.perf_counter() - started, 1),
    }


def reset(scenario: str, due: int) -> None:
    """Undo earlier runs and set the book up for `scenario`: every invoice open at level 0,
    due later (quiet), `due` of them at their reminder today (typical), or all (backlog)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dunning_stepexecution, dunning_calltask, dunning_dunningrun, "
            "letters_message_invoices, letters_message, audit_event, "
            "django_tasks_database_dbtaskresult CASCADE"
        )
        if scenario == "quiet":
            due_sql = "%(today)s::date + 4 + (invoice_id %% 20)::int"
        elif scenario == "typical":
            due_sql = (
                "CASE WHEN invoice_id <= (SELECT min(id) FROM invoices_invoice) + %(due)s - 1 "
                "THEN %(today)s::date - 3 ELSE %(today)s::date + 4 + (invoice_id %% 20)::int END"
            )
        else:
            due_sql = "%(today)s::date - 3"
        cursor.execute(
            f"UPDATE dunning_dunningstate SET due_on = {due_sql}, level = 0, "
            "last_step_id = NULL, last_step_on = NULL, pause = '', costs_claimed = 0, "
            "late_fee_charged = 0, interest_from_on = NULL, fourteen_day_costs_due_from = NULL",
            {"today": TODAY, "due": due},
        )
        cursor.execute(
            "UPDATE dunning_dunningstate SET next_action_on = CASE WHEN due_on < %(today)s "
            "THEN due_on + 3 ELSE due_on - 3 END",
            {"today": TODAY},
        )
        cursor.execute(
            "UPDATE invoices_invoice i SET due_on = s.due_on FROM dunning_dunningstate s "
            "WHERE s.invoice_id = i.id AND i.due_on <> s.due_on"
        )
        cursor.execute("ANALYZE")
    # Yesterday's run, as on any working day: it tells today's run from which invoice id new
    # invoices can have been issued (the rest already have their dunning state).
    from betaald.dunning.models import DunningRun, RunStatus
    from betaald.dunning.services import SYNC_ID_MARGIN
    from betaald.invoices.models import Invoice

    highest = Invoice.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    DunningRun.objects.create(
        run_on=TODAY - timedelta(days=1),
        status=RunStatus.DONE,
        synced_from_id=max(highest - SYNC_ID_MARGIN, 0),
    )


def sql_floor(policy_id: int, *, checked: bool = False) -> float:
    """The same step rows as the engine writes (pre-due skipped + reminder done for every due
    claim), inserted by one set-based statement; rolled back afterwards.

    The foreign keys are deferred to the commit, which a rollback never reaches: the floor
    leaves out their checks, which the engine pays. With `checked` they are made immediate,
    so the figure includes them (reported next to the floor, for comparison)."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if checked:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                """
                INSERT INTO dunning_stepexecution
                  (organisation_id, invoice_id, customer_id, step_id, status, executed_on,
                   channels, group_key, principal, interest, costs, costs_vat, late_fee,
                   reason, created_at)
                SELECT s.organisation_id, s.invoice_id, s.customer_id, st.id,
                       CASE WHEN st.position = 0 THEN 'skipped' ELSE 'done' END, %(today)s,
                       '["email"]'::jsonb,
                       'dunning:' || s.customer_id || ':' || st.id || ':' || %(today)s,
                       s.open_amount, 0, 0, 0, 0, '', now()
                FROM dunning_dunningstate s
                JOIN dunning_dunningstep st ON st.policy_id = s.policy_id AND st.position <= 1
                WHERE s.next_action_on <= %(today)s
                ON CONFLICT DO NOTHING
                """,
                {"today": TODAY},
            )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def child(scenario: str, url: str, profile: str | None = None, workers: int = 1) -> None:
    """Run the engine once, in this process, and print JSON figures (with `profile`, under
    cProfile, the stats written to that file)."""
    setup_django(url)
    from betaald.dunning.services import dunning_run

    if scenario == "refresh":
        refresh(profile)
        return
    started = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        run = profiler.runcall(dunning_run, today=TODAY, workers=workers)
        profiler.dump_stats(profile)
    else:
        run = dunning_run(today=TODAY, workers=workers)
    elapsed = time.perf_counter() - started
    # The run process itself, or with --workers the largest of it and its worker processes.
    peak_mb = (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
    print(
        json.dumps(
            {
                "scenario": scenario,
                "seconds": round(elapsed, 2),
                "processed": run.processed,
                "executed": run.executed,
                "messages": run.messages,
                "errors": len(run.errors),
                "peak_mb": round(peak_mb),
                "status": run.status + (f", {workers} workers" if workers > 1 else ""),
            }
        )
    )


REFRESH_PAID = 95_000  # about what the bank benchmark books (bench/matching.py)


def refresh(profile: str | None) -> None:
    """The bank booking's call: `dunning_refresh_invoices` for invoices just paid in full
    (one payment and allocation each, written by SQL first, not timed; rolled back after)."""
    from django.db import connection, transaction

    from betaald.dunning.models import DunningState
    from betaald.dunning.services import dunning_refresh_invoices
    from betaald.payments.models import Allocation, Payment

    with transaction.atomic():
        with connection.cursor() as cursor:
            names, values = _columns(
                Payment,
                {
                    "organisation_id": "i.organisation_id",
                    "customer_id": "i.customer_id",
                    "received_on": "%(today)s::date",
                    "method": "'bank_transfer'",
                    "amount": "i.total",
                    "designated_invoice_id": "i.id",
                    "created_at": "now()",
                },
            )
            cursor.execute(
                f"INSERT INTO payments_payment ({names}) SELECT {values} "
                "FROM invoices_invoice i ORDER BY i.id LIMIT %(n)s",
                {"today": TODAY, "n": REFRESH_PAID},
            )
            names, values = _columns(
                Allocation,
                {
                    "organisation_id": "p.organisation_id",
                    "invoice_id": "p.designated_invoice_id",
                    "payment_id": "p.id",
                    "amount": "p.amount",
                    "component": "'principal'",
                    "allocated_on": "p.received_on",
                    "created_at": "now()",
                },
            )
            cursor.execute(
                f"INSERT INTO payments_allocation ({names}) SELECT {values} "
                "FROM payments_payment p WHERE p.designated_invoice_id IS NOT NULL"
            )
            cursor.execute(
                "SELECT designated_invoice_id FROM payments_payment "
                "WHERE designated_invoice_id IS NOT NULL"
            )
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute("ANALYZE payments_payment")
            cursor.execute("ANALYZE payments_allocation")
        started = time.perf_counter()
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            written = profiler.runcall(dunning_refresh_invoices, invoice_ids=ids, today=TODAY)
            profiler.dump_stats(profile)
        else:
            written = dunning_refresh_invoices(invoice_ids=ids, today=TODAY)
        elapsed = time.perf_counter() - started
        settled = DunningState.objects.filter(
            invoice_id__in=ids[:1000], pause="settled", next_action_on__isnull=True
        ).count()
        transaction.set_rollback(True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "scenario": "refresh",
                "seconds": round(elapsed, 2),
                "processed": written,
                "executed": 0,
                "messages": 0,
                "errors": 0 if settled == min(1000, len(ids)) else 1,
                "peak_mb": round(peak_mb),
                "status": f"{len(ids):,} paid, {elapsed / max(len(ids), 1) * 1000:.3f} ms each",
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=50_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--scenarios", default="quiet,typical,backlog")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the book of an earlier run (same sizes)"
    )
    parser.add_argument(
        "--profile", help="write cProfile stats of each run to PROFILE.<scenario>.prof"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of the run, as `betaald dunning run --workers N` (default 1)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database_url, args.profile, args.workers)
        return
    if not args.reuse:
        recreate_database(args.database_url)
    setup_django(args.database_url)
    if args.reuse:
        from django.core.management import call_command

        from betaald.dunning.models import DunningPolicy

        call_command("migrate", verbosity=0)

        book = {"policy": DunningPolicy.objects.get(code="business").pk, "seconds": 0}
    else:
        book = build_book(args.invoices, args.customers)
    print(
        f"book: {args.invoices:,} invoices, {args.customers:,} customers "
        f"(generated in {book['seconds']} s)"
    )
    from django.db import connections

    for scenario in args.scenarios.split(","):
        reset(scenario, args.due)
        floor = sql_floor(book["policy"]) if scenario == "backlog" else None
        checked_floor = sql_floor(book["policy"], checked=True) if scenario == "backlog" else None
        connections.close_all()
        output = (
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    scenario,
                    "--database-url",
                    args.database_url,
                    "--workers",
                    str(args.workers),
                    *(["--profile", f"{args.profile}.{scenario}.prof"] if args.profile else []),
                ],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "LOG_LEVEL": "ERROR"},
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        figures = json.loads(output)
        line = (
            f"{scenario:8} {figures['seconds']:8.2f} s  claims {figures['processed']:>9,}  "
            f"steps {figures['executed']:>9,}  messages {figures['messages']:>8,}  "
            f"errors {figures['errors']}  peak {figures['peak_mb']} MB  ({figures['status']})"
        )
        if floor is not None:
            line += (
                f"  | SQL floor {floor:.2f} s, ratio {figures['seconds'] / floor:.1f}x"
                f" (floor with its foreign-key checks {checked_floor:.2f} s)"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
