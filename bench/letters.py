"""Benchmark: PDF letters per second per core, and emails per second to a local SMTP server.

    uv run python bench/letters.py [--letters 200] [--emails 2000] [--outbox 300] [--only queue]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/betaald_bench \
        uv run python bench/letters.py --only queue --outbox 20000

Stages (each prints its figure; targets from issue 6: >= 20 PDF letters/s per core and
>= 200 emails/s):

1. **PDF, one core**: render a 14-dagenbrief for 3 invoices from a frozen context to PDF
   (WeasyPrint, EPC QR code included), N times in one process;
2. **PDF, all cores**: the same in one process per core (`multiprocessing`), total and per core;
3. **PDF, 40 invoices**: the long letter (2 pages);
4. **email**: render a reminder (HTML + text) and send it over one SMTP connection to a local
   aiosmtpd server running in its own process (the `Sink` handler);
5. **outbox end to end**: the worker's own path — claim the row, freeze, render, send, record
   and audit — for queued reminder emails, on a throw-away SQLite database.

Figures go into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaald.settings")


def setup() -> None:
    import django

    django.setup()


def letter(invoices: int = 3, kind: str = "final_notice_14_day") -> Any:
    from betaald.letters.rendering import SAMPLE_RECIPIENT, render_message, sample_context

    context = sample_context()
    context["invoices"] = [
        {
            "number": f"2026-{n:05}",
            "issued_on": "2026-09-01",
            "due_on": "2026-09-15",
            "principal": f"{100 + n}.{n % 100:02}",
            "interest": "1.23",
            "costs": "0.00",
            "payment_reference": "8000000020250417",
        }
        for n in range(invoices)
    ]
    return render_message(
        organisation_id=None,
        kind=kind,
        language="nl",
        context=context,
        recipient=SAMPLE_RECIPIENT,
    )


def pdf_worker(count: int) -> int:
    setup()
    from betaald.letters.pdf import letter_pdf

    letter_pdf(letter())  # warm up fonts and caches
    for _ in range(count):
        letter_pdf(letter())
    return count


def timed(label: str, count: int, seconds: float, unit: str) -> float:
    rate = count / seconds
    print(f"{label:<48} {count:>6} in {seconds:7.2f} s = {rate:8.1f} {unit}")
    return rate


def bench_pdf(count: int) -> None:
    from betaald.letters.pdf import letter_pdf

    letter_pdf(letter())
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        letter_pdf(letter())
    timed("PDF 14-dagenbrief, 3 invoices, 1 core", count, time.perf_counter() - start, "letters/s")
    timed(
        "  the same per CPU-second of this process", count, time.process_time() - cpu, "letters/s"
    )

    cores = os.cpu_count() or 1
    per_core = max(count // 2, 10)
    context = multiprocessing.get_context("spawn")
    with context.Pool(cores) as pool:
        pool.map(pdf_worker, [1] * cores)  # start and warm up the processes
        start = time.perf_counter()
        done = sum(pool.map(pdf_worker, [per_core] * cores))
        seconds = time.perf_counter() - start
    rate = timed(f"PDF 14-dagenbrief, {cores} processes", done, seconds, "letters/s")
    print(f"{'':<48} {'':>6}   per core      = {rate / cores:8.1f} letters/s")

    long_letter = letter(40)
    letter_pdf(long_letter)
    n = max(count // 10, 5)
    start = time.perf_counter()
    for _ in range(n):
        letter_pdf(long_letter)
    timed("PDF 14-dagenbrief, 40 invoices (2 pages)", n, time.perf_counter() - start, "letters/s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smtp_sink() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the SMTP sink did not start")


def configure_smtp(port: int) -> None:
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10


def bench_email(count: int, port: int) -> None:
    from django.core.mail import get_connection

    from betaald.letters.delivery import email_build, smtp_send
    from betaald.letters.models import Message

    configure_smtp(port)
    message = Message(
        pk=1,
        kind="reminder",
        channel="email",
        language="nl",
        recipient={"name": "J. Jansen", "email": "j.jansen@example.nl"},
    )
    message.context = {"sender": {"trade_name": "Voorbeeld", "email": "debiteuren@example.nl"}}
    connection = get_connection()
    connection.open()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        rendered = letter(1, kind="reminder")
        smtp_send(email_build(message, rendered, None), connection)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    connection.close()
    timed("email reminder (render + SMTP), 1 connection", count, seconds, "emails/s")
    timed("  the same per CPU-second of this process", count, cpu_seconds, "emails/s")


def bench_outbox(count: int, port: int, *, send: bool = True) -> None:
    """The whole worker path on a throw-away test database (SQLite in memory, or PostgreSQL
    with DATABASE_URL set: a `test_...` database created and dropped here)."""
    from django.db import connection
    from django.test.utils import setup_test_environment

    from betaald.debtors.models import Customer
    from betaald.letters.delivery import message_deliver_now
    from betaald.letters.services import MessageDraft, messages_queue_bulk
    from betaald.organisations.models import Organisation

    configure_smtp(port)
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0)
    organisation = Organisation.objects.create(
        legal_name="Voorbeeld B.V.",
        kvk_number="12345678",
        vat_number="NL123456789B13",
        iban="NL20INGB0001234567",
        street="Voorbeeldweg 1",
        postal_code="1000 AA",
        city="Amsterdam",
        email="debiteuren@example.nl",
    )
    customers = Customer.objects.bulk_create(
        Customer(
            organisation=organisation,
            number=f"C{n:06}",
            kind="business",
            name=f"Klant {n}",
            email=f"klant{n}@example.nl",
            street="Kerkstraat 1",
            postal_code="1234 AB",
            city="Amsterdam",
        )
        for n in range(count)
    )
    start = time.perf_counter()
    new = messages_queue_bulk(
        [
            MessageDraft(
                organisation=organisation,
                customer=customer,
                kind="reminder",
                channel="email",
                context={
                    "invoices": [
                        {
                            "number": f"2026-{n:05}",
                            "issued_on": "2026-09-01",
                            "due_on": "2026-09-15",
                            "principal": "100.00",
                            "payment_reference": "8000000020250417",
                        }
                    ]
                },
                unique_key=f"bench:{n}",
            )
            for n, customer in enumerate(customers)
        ]
    )
    timed(
        f"queue (messages_queue_bulk, {connection.vendor})",
        new,
        time.perf_counter() - start,
        "messages/s",
    )
    start = time.perf_counter()
    again = messages_queue_bulk(
        [
            MessageDraft(
                organisation=organisation,
                customer=customer,
                kind="reminder",
                channel="email",
                context={},
                unique_key=f"bench:{n}",
            )
            for n, customer in enumerate(customers)
        ]
    )
    assert again == 0, again
    timed("  the same drafts again (all skipped)", count, time.perf_counter() - start, "drafts/s")
    if not send:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        return
    from betaald.letters.models import Message

    ids = list(Message.objects.values_list("id", flat=True))
    from django.core.mail import get_connection

    smtp = get_connection()
    smtp.open()
    start = time.perf_counter()
    outcomes = [message_deliver_now(pk, email_connection=smtp) for pk in ids]
    seconds = time.perf_counter() - start
    smtp.close()
    assert outcomes.count("sent") == len(ids), outcomes[:5]
    timed(
        f"outbox: claim, render, send, record ({connection.vendor})", len(ids), seconds, "emails/s"
    )
    connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=200)
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--outbox", type=int, default=300)
    parser.add_argument(
        "--only",
        choices=["pdf", "email", "outbox", "queue"],
        help="run one stage; 'queue' times messages_queue_bulk alone (no sending)",
    )
    args = parser.parse_args()
    setup()
    from django.db import connection

    print(
        f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, "
        f"database: {connection.vendor}"
    )
    if args.only in (None, "pdf"):
        bench_pdf(args.letters)
    if args.only == "pdf":
        return
    sink, port = smtp_sink()
    try:
        if args.only in (None, "email"):
            bench_email(args.emails, port)
        if args.only in (None, "outbox", "queue"):
            bench_outbox(args.outbox, port, send=args.only != "queue")
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
