"""Benchmark: import and match a camt.053 statement of N entries against M open invoices.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/betaald_bench_matching \\
        uv run python bench/matching.py --invoices 1000000 --entries 100000

The database named in DATABASE_URL is dropped and created again (its name must contain
"bench"). The data is generated with COPY in a first process (not timed); the statement file is
written to disk; a second process then runs and times the stages (so that the peak memory
reported is that of the import and matching, not of the data generation):

1. parse + XSD-validate the camt.053 file (what `bank import --dry-run` does);
2. import: one database transaction, one row per transaction (`statement_file_import`);
3. match: read the open invoices the lines can match and decide every line (pure core);
4. match + book: `transactions_match`, the service a real import runs, reads and decides again
   and books every automatic match set-based through `payments_register_bulk` (allocation per
   art. 6:43/6:44 BW, audit events, dunning refresh) in chunks of 2,000 lines; the rest goes to
   the review queue (`--queries` times its SQL statements by kind, `--profile` runs cProfile
   of the calling thread). The matches are booked by `BANK_MATCH_WORKERS` connections at once
   (default 2; `--workers N` sets it, `--chunk N` the lines per transaction); "server cpu" is
   the CPU time of the PostgreSQL backends of the run (the server runs on this machine).
   With `--book-sample N` only the first N lines are booked and the time for all lines is
   extrapolated.

End to end is 1 + 2 + 4 (stage 3 alone shows the decision part of stage 4).

The mix is issue 7's: 70% structured betalingskenmerk, 20% invoice number in the free text,
10% amount only (half of those from a known IBAN with the exact open amount, half unknown).
Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaald.settings")

ORG_IBAN = "NL91ABNA0417164300"


def iban_nl(bank: str, account: int) -> str:
    bban = f"{bank}{account:010d}"
    digits = "".join(str(int(c, 36)) for c in bban + "NL00")
    check = 98 - int(digits) % 97
    return f"NL{check:02d}{bban}"


def recreate_database(url: str) -> None:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    name = config["NAME"]
    if not name or "bench" not in name:
        raise SystemExit("refusing: the DATABASE_URL database name must contain 'bench'")
    admin = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or "postgres",
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def copy_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """COPY rows into the model's table, every NOT NULL column filled from its default."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    defaults: dict[str, Any] = {}
    for f in fields:
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            defaults[f.attname] = now
        elif f.has_default():
            defaults[f.attname] = f.get_default()
        elif f.null:
            defaults[f.attname] = None
        else:
            defaults[f.attname] = ""
    sql = f'COPY "{model._meta.db_table}" ({", ".join(columns)}) FROM STDIN'
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row.get(f.attname, defaults[f.attname]) for f in fields])


@dataclass
class Book:
    organisation: Any
    invoices: list[tuple[int, int, str, str, Decimal]]  # id, customer, number, ref, total
    customer_ibans: dict[int, str]


def populate(invoice_count: int, per_customer: int, seed: int) -> Book:
    from django.db import connection

    from betaald.core.references import make_reference
    from betaald.debtors.models import Customer, CustomerIban
    from betaald.invoices.models import Invoice
    from betaald.organisations.models import Organisation

    rng = random.Random(seed)
    organisation = Organisation.objects.create(
        legal_name="Bench B.V.",
        kvk_number="12345678",
        vat_number="NL123456789B01",
        iban=ORG_IBAN,
        street="Straat 1",
        postal_code="1000 AA",
        city="Amsterdam",
    )
    customers = max(1, invoice_count // per_customer)
    copy_rows(
        Customer,
        [
            {
                "organisation_id": organisation.pk,
                "number": f"D{n:07d}",
                "kind": "business",
                "name": f"Klant {n} B.V.",
                "street": "Kalverstraat 1",
                "postal_code": "1012 AB",
                "city": "Amsterdam",
            }
            for n in range(customers)
        ],
    )
    customer_ids = list(
        Customer.objects.filter(organisation=organisation)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ibans = {pk: iban_nl("ABNA", 100000000 + index) for index, pk in enumerate(customer_ids)}
    copy_rows(
        CustomerIban,
        [{"customer_id": pk, "iban": iban, "source": "bench"} for pk, iban in ibans.items()],
    )
    start = date(2026, 1, 1)
    rows = []
    for n in range(invoice_count):
        total = Decimal(rng.randint(1000, 500000)) / 100
        rows.append(
            {
                "organisation_id": organisation.pk,
                "customer_id": customer_ids[n % customers],
                "kind": "invoice",
                "status": "issued",
                "number": f"2026-{n + 1:07d}",
                "series_year": 2026,
                "sequence": n + 1,
                "issued_on": start + timedelta(days=n % 60),
                "due_on": start + timedelta(days=n % 60 + 14),
                "payment_reference": make_reference(n + 1),
                "total_excl_vat": total,
                "total_vat": Decimal("0.00"),
                "total": total,
            }
        )
        if len(rows) == 100_000:
            copy_rows(Invoice, rows)
            rows = []
    if rows:
        copy_rows(Invoice, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    invoices = list(
        Invoice.objects.filter(organisation=organisation)
        .order_by("pk")
        .values_list("pk", "customer_id", "number", "payment_reference", "total")
    )
    return Book(organisation, invoices, ibans)


def statement_xml(book: Book, entries: int, seed: int) -> tuple[bytes, dict[str, int]]:
    """A camt.053.001.02 statement with the issue's mix of lines; the invoices are distinct."""
    rng = random.Random(seed + 1)
    chosen = rng.sample(book.invoices, entries)
    mix = {"reference": 0, "number": 0, "known_iban_amount": 0, "nothing": 0}
    out = io.StringIO()
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-03-02T00:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>BENCH-1</Id><CreDtTm>2026-03-02T00:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{ORG_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
    )
    total = Decimal("0")
    body = io.StringIO()
    for n, (_pk, customer_id, number, reference, amount) in enumerate(chosen):
        roll = rng.random()
        iban = book.customer_ibans[customer_id]
        if roll < 0.70:
            kind = "reference"
            remittance = (
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>CUR</Issr></Tp>"
                f"<Ref>{reference}</Ref></CdtrRefInf></Strd>"
            )
        elif roll < 0.90:
            kind = "number"
            remittance = f"<Ustrd>Betaling factuur {number} dank u wel</Ustrd>"
            iban = iban_nl("RABO", 300000000 + n)  # often paid from another account
        elif roll < 0.95:
            kind = "known_iban_amount"
            remittance = "<Ustrd>betaling</Ustrd>"
        else:
            kind = "nothing"
            remittance = "<Ustrd>overboeking</Ustrd>"
            iban = iban_nl("INGB", 500000000 + n)
            amount = amount + Decimal("0.01")
        mix[kind] += 1
        total += amount
        body.write(
            f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
            "<BookgDt><Dt>2026-03-02</Dt></BookgDt><ValDt><Dt>2026-03-02</Dt></ValDt>"
            f"<AcctSvcrRef>B{n:09d}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>"
            "</Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f"<RltdPties><Dbtr><Nm>Klant {customer_id}</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban}</IBAN>"
            f"</Id></DbtrAcct></RltdPties><RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    out.write(
        '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-01</Dt></Dt></Bal>"
        f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{total}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-02</Dt></Dt></Bal>"
    )
    out.write(body.getvalue())
    out.write("</Stmt></BkToCstmrStmt></Document>\n")
    return out.getvalue().encode(), mix


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(label: str, value: str) -> None:
    print(f"{label:<26}  {value}", flush=True)


def setup(args: argparse.Namespace) -> tuple[int, Path]:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    book = populate(args.invoices, args.per_customer, args.seed)
    data, mix = statement_xml(book, args.entries, args.seed)
    path = Path(args.statement)
    path.write_bytes(data)
    report(
        "setup (not timed)",
        f"{len(book.invoices):,} open invoices, {len(book.customer_ibans):,} customers, "
        f"statement {len(data) / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s",
    )
    report("mix", ", ".join(f"{k} {v:,}" for k, v in mix.items()))
    return book.organisation.pk, path


def timed(module: Any, name: str, totals: dict[str, float]) -> None:
    """Wrap `module.name` so that the wall time spent in it adds up in `totals[name]` (and the
    moment of its first call is `totals[name + ".first"]`)."""
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        totals.setdefault(f"{name}.first", started)
        try:
            return original(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)


def backend_cpu() -> float:
    """CPU seconds (user + system) of this thread's PostgreSQL backend process so far (the
    server runs on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:  # the server runs elsewhere: its CPU time is not reported
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stages(args: argparse.Namespace) -> None:
    from betaald.bank.models import BankTransaction, TransactionStatus
    from betaald.bank.services import (
        Matcher,
        line_for,
        statement_file_import,
        transactions_match,
    )
    from betaald.bank.statements import file_warnings, parse_file
    from betaald.core import matching
    from betaald.organisations.models import Organisation

    organisation = Organisation.objects.get(pk=args.organisation)
    if args.workers:
        from django.conf import settings

        settings.BANK_MATCH_WORKERS = args.workers
    if args.chunk:
        import betaald.bank.services as bank_services

        bank_services.BOOK_CHUNK = args.chunk
    data = Path(args.statement).read_bytes()

    t0, c0 = time.perf_counter(), time.process_time()
    parsed = parse_file(data, filename="bench.xml")
    warnings = file_warnings(parsed)
    t_parse = time.perf_counter() - t0
    report(
        "1 parse + XSD",
        f"{t_parse:.1f} s (cpu {time.process_time() - c0:.1f} s; {len(warnings)} warnings), "
        f"{peak_mb():.0f} MB",
    )

    t0, c0 = time.perf_counter(), time.process_time()
    result = statement_file_import(
        organisation=organisation,
        parsed=parsed,
        data=data,
        filename="bench.xml",
        warnings=warnings,
        actor="bench",
    )
    t_import = time.perf_counter() - t0
    report(
        "2 import",
        f"{t_import:.1f} s (cpu {time.process_time() - c0:.1f} s; "
        f"{result.transactions_created:,} transactions)",
    )
    del parsed, data

    t0, c0 = time.perf_counter(), time.process_time()
    pending = list(
        BankTransaction.objects.filter(
            organisation=organisation, status=TransactionStatus.UNMATCHED
        ).order_by("pk")
    )
    lines = [line_for(tx) for tx in pending]
    matcher = Matcher(organisation, lines)
    t_read = time.perf_counter() - t0
    decided = 0
    for line in lines:
        choice = matching.decide(matcher.candidates(line))
        if choice is not None:
            decided += 1
            matcher.consume(choice)
    t_match = time.perf_counter() - t0
    rate = decided / len(lines) if lines else 0
    report(
        "3 match (read + decide)",
        f"{t_match:.1f} s (cpu {time.process_time() - c0:.1f} s; reading "
        f"{matcher.items_read:,} open invoices "
        f"{t_read:.1f} s); "
        f"automatic {decided:,} of {len(lines):,} = {rate:.1%}",
    )

    del matcher, lines
    report("  peak memory so far", f"{peak_mb():.0f} MB")

    ids = [tx.pk for tx in pending]
    del pending
    sample = ids[: args.book_sample] if args.book_sample else ids
    t0, c0 = time.perf_counter(), time.process_time()
    s0 = backend_cpu()
    import betaald.bank.services as bank_services
    import betaald.dunning.services as dunning_services
    import betaald.payments.services as payment_services

    phases: dict[str, float] = {}
    server_cpu: list[float] = []
    book_decided = bank_services._book_decided

    def book_decided_measured(*a: Any, **kw: Any) -> Any:
        try:
            return book_decided(*a, **kw)
        finally:
            if bank_services._booking_workers(len(sample)) > 1:
                server_cpu.append(backend_cpu())  # a worker's own connection

    bank_services._book_decided = book_decided_measured  # type: ignore[assignment]
    timed(bank_services, "_book_decided", phases)
    timed(bank_services, "_book_chunk", phases)
    timed(payment_services, "payments_register_bulk", phases)
    timed(payment_services, "_open_invoices", phases)
    timed(dunning_services, "dunning_refresh_invoices", phases)
    timed(payment_services, "copy_rows", phases)
    timed(bank_services, "_update_matched", phases)
    statements: dict[str, list[float]] = {}
    if args.queries:
        from django.db import connection

        def time_query(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                kind = " ".join(sql.split()[:6])[:90]
                entry = statements.setdefault(kind, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        connection.execute_wrappers.append(time_query)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    outcome = transactions_match(organisation=organisation, transaction_ids=sample, actor="bench")
    if args.profile:
        profiler.disable()
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    t_book = time.perf_counter() - t0
    server = backend_cpu() - s0 + sum(server_cpu)
    for kind, (count, seconds) in sorted(statements.items(), key=lambda kv: -kv[1][1])[:20]:
        report(f"  sql {seconds:6.1f} s {count:5d}x", kind)
    per_line = t_book / len(sample) if sample else 0
    full_book = per_line * len(ids)
    report(
        "4 match + book (service)",
        f"{t_book:.1f} s (cpu {time.process_time() - c0:.1f} s, server cpu {server:.1f} s) for "
        f"{len(sample):,} lines "
        f"{outcome} = {per_line * 1000:.2f} ms/line"
        + ("" if len(sample) == len(ids) else f"; all {len(ids):,} lines ~ {full_book:.0f} s"),
    )
    book = phases.get("_book_chunk", 0.0)
    register = phases.get("payments_register_bulk", 0.0)
    dunning = phases.get("dunning_refresh_invoices", 0.0)
    read = phases.get("_open_invoices", 0.0)
    # Reading and deciding ends where the first chunk is booked; each chunk's COMMIT (with the
    # deferred foreign-key checks of every row written) comes after `_book_chunk` returns. With
    # several booking workers the phases add up over the workers (more than the wall time).
    decide = phases.get("_book_chunk.first", t0 + t_book) - t0
    commits = phases.get("_book_decided", 0.0) - book
    workers = bank_services._booking_workers(len(sample))
    report(
        "  of which",
        f"read + decide {decide:.1f} s; booking {t_book - decide:.1f} s by {workers} "
        f"worker(s), summed over them: chunks {book:.1f} s "
        f"(payments {register:.1f} s: open invoices read {read:.1f} s, dunning refresh "
        f"{dunning:.1f} s, allocation and writes {register - dunning - read:.1f} s; transaction "
        f"statuses, links and audit {book - register:.1f} s) + commits {commits:.1f} s; all "
        f"COPYs of new rows {phases.get('copy_rows', 0.0):.1f} s, status updates "
        f"{phases.get('_update_matched', 0.0):.1f} s",
    )
    from betaald.audit.models import Event
    from betaald.payments.models import Allocation, Payment

    report(
        "  written",
        f"{Payment.objects.filter(organisation=organisation).count():,} payments, "
        f"{Allocation.objects.filter(organisation=organisation).count():,} allocations, "
        f"{Event.objects.filter(organisation=organisation).count():,} audit events",
    )
    report("1+2+3 (import and decide)", f"{t_parse + t_import + t_match:.1f} s")
    report("end to end (1+2+4)", f"{t_parse + t_import + full_book:.0f} s")
    report("peak memory (max RSS)", f"{peak_mb():.0f} MB")
    report("load average (1 min)", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--per-customer", type=int, default=10)
    parser.add_argument(
        "--book-sample", type=int, default=0, help="book only the first N lines (0: all)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--chunk", type=int, default=0, help="lines booked per database transaction (0: default)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="booking connections at once (the BANK_MATCH_WORKERS setting; 0: its default)",
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile stage 4 into FILE")
    parser.add_argument(
        "--queries", action="store_true", help="time stage 4's SQL statements by kind"
    )
    parser.add_argument(
        "--setup-only",
        action="store_true",
        help="generate the book and the file, then stop (run the stages later with "
        "--organisation ID, e.g. on a copy made with CREATE DATABASE ... TEMPLATE ...)",
    )
    parser.add_argument(
        "--statement", default=str(Path(tempfile.gettempdir()) / "betaald-bench-statement.xml")
    )
    parser.add_argument("--organisation", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    if args.organisation is None:
        recreate_database(url)

    import django

    django.setup()
    if args.organisation is not None:
        stages(args)
        return
    organisation_id, _path = setup(args)
    from django.db import connections

    connections.close_all()
    if args.setup_only:
        report("organisation", f"{organisation_id} (run the stages with --organisation)")
        return
    command = [sys.executable, __file__, *sys.argv[1:], "--organisation", str(organisation_id)]
    raise SystemExit(subprocess.call(command))


if __name__ == "__main__":
    main()
