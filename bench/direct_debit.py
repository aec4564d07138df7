"""Benchmark of making one SEPA direct debit file (`bank.sepa.direct_debit_create`).

    uv run python bench/direct_debit.py [--customers 1000] [--plans 200]
                                        [--database-url postgres://postgres@127.0.0.1:5432/betaald_sepa_bench]

Builds a book through the real services (one organisation with a creditor id; N customers with
a mandate and one issued invoice each, of whom P also have an active monthly payment plan for a
second invoice, first instalment due on the collection date), then makes one pain.008.001.02
file collecting every open invoice and every due instalment, and prints: seconds, collections,
queries, pre-notifications queued, peak RSS. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/betaald_sepa_bench"
TODAY = date(2026, 3, 2)  # a Monday
COLLECTION = date(2026, 3, 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    import psycopg

    base, name = args.database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaald.settings")
    import django

    django.setup()
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from betaald.bank.models import Mandate
    from betaald.bank.sepa import direct_debit_create
    from betaald.debtors.models import Customer, CustomerKind
    from betaald.invoices.services import LineInput, invoice_create_draft, invoice_issue
    from betaald.letters.models import Message
    from betaald.organisations.models import Organisation
    from betaald.plans.services import plan_create

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    organisation = Organisation.objects.create(
        legal_name="Bench Incasso B.V.",
        trade_name="Bench",
        kvk_number="12345678",
        vat_number="NL123456789B13",
        legal_form="B.V.",
        seat="Utrecht",
        street="Oudegracht 1",
        postal_code="3511 AA",
        iban="NL20INGB0001234567",
        bic="INGBNL2A",
        sepa_creditor_id="NL08ZZZ502057730000",
        city="Utrecht",
        email="debiteuren@bench.nl",
    )
    customers = Customer.objects.bulk_create(
        Customer(
            organisation=organisation,
            number=f"D{n:06d}",
            kind=CustomerKind.BUSINESS,
            name=f"Klant {n} B.V.",
            email=f"klant{n}@example.nl",
            street="Kalverstraat 10",
            postal_code="1012 AB",
            city="Amsterdam",
        )
        for n in range(args.customers)
    )
    Mandate.objects.bulk_create(
        Mandate(
            organisation=organisation,
            customer=customer,
            reference=f"MND-{customer.number}",
            signed_on=date(2026, 1, 1),
            iban="NL91ABNA0417164300",
        )
        for customer in customers
    )

    def invoice(customer, amount):
        draft = invoice_create_draft(
            organisation=organisation,
            customer=customer,
            actor=None,
            lines=[LineInput("Werkzaamheden", Decimal("1"), Decimal(amount), "21")],
        )
        issued, _warnings = invoice_issue(invoice=draft, actor=None, issued_on=date(2026, 2, 2))
        return issued

    for index, customer in enumerate(customers):
        invoice(customer, "100.00")
        if index < args.plans:
            plan_create(
                organisation=organisation,
                customer=customer,
                invoices=[invoice(customer, "300.00")],
                actor=None,
                today=TODAY,
                first_on=COLLECTION,
                count=3,
                activate=True,
            )
    # the plan invoices are in a plan; the others are collected whole
    Message.objects.all().delete()
    setup = time.perf_counter() - started

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        batch = direct_debit_create(
            organisation=organisation, collection_on=COLLECTION, today=TODAY
        )
        seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"setup {setup:.1f} s; direct_debit_create: {seconds:.2f} s, {batch.count} collections "
        f"({args.customers} invoices + {args.plans} instalments), EUR {batch.total}, "
        f"{len(queries)} queries, {Message.objects.count()} pre-notifications, "
        f"xml {len(batch.xml) / 1e6:.1f} MB, peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
