"""Booking a run's matches with several database connections at once (`BANK_MATCH_WORKERS`,
PostgreSQL): each worker books disjoint customers, so the result is exactly what one worker
books; two runs at once book every line once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import translation

from betaald.audit.models import Event
from betaald.bank import services as bank_services
from betaald.bank.models import BankAccount, BankTransaction, TransactionStatus
from betaald.bank.services import statement_file_import, transactions_match
from betaald.bank.statements import Balance, Entry, ParsedFile, Statement, Transaction
from betaald.debtors.models import CustomerIban
from betaald.invoices.models import Invoice
from betaald.invoices.selectors import invoice_open_amount
from betaald.payments.models import Allocation, Payment
from tests.factories import CustomerFactory, OrganisationFactory, issued_invoice

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="several booking connections need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

ACCOUNT = "NL91ABNA0417164300"
CUSTOMERS = 7  # not a multiple of the workers: a partition by line would split customers


def payer(n: int) -> str:
    return f"NL{n + 10:02d}ABNA{n:010d}"


def book() -> Any:
    """An organisation with customers of three invoices each and a statement whose lines give
    every kind of match (several per customer, spread over the file) and lines for review."""
    organisation = OrganisationFactory()
    BankAccount.objects.create(organisation=organisation, iban=ACCOUNT)
    lines: list[dict[str, Any]] = []
    for n in range(CUSTOMERS):
        customer = CustomerFactory(organisation=organisation, number=f"K{n}", name=f"Klant {n}")
        CustomerIban.objects.create(customer=customer, iban=payer(n), source="test")
        first, second, third = (
            issued_invoice(customer, amount=f"{100 + n}.00"),
            issued_invoice(customer, amount=f"{50 + n}.00"),
            issued_invoice(customer, amount="20.00"),
        )
        lines += [
            {"amount": first.total, "structured_reference": first.payment_reference},
            {"amount": Decimal("10.00"), "remittance": f"factuur {second.number}"},
            {"amount": third.total, "counterparty_iban": payer(n)},
            {"amount": Decimal("7.77"), "counterparty_iban": payer(n)},  # partial or review
            {"amount": second.total, "remittance": f"nogmaals {second.number} betaald"},
            {"amount": Decimal("1.00"), "counterparty_iban": f"NL{n + 40:02d}INGB{n:010d}"},
        ]
    # Customers interleaved: every chunk holds lines of several customers.
    lines = [lines[(i % CUSTOMERS) * 6 + i // CUSTOMERS] for i in range(len(lines))]
    entries = []
    for index, fields in enumerate(lines):
        tx = Transaction(currency="EUR", **fields)
        entries.append(
            Entry(
                amount=fields["amount"],
                currency="EUR",
                is_credit=True,
                booking_date=date(2026, 3, 2 + index % 3),
                value_date=date(2026, 3, 2 + index % 3),
                bank_reference=f"REF{index}",
                transactions=(tx,),
            )
        )
    statement = Statement(
        identifier="W",
        account=ACCOUNT,
        currency="EUR",
        opening_balance=Balance(Decimal("0"), "EUR", date(2026, 3, 1)),
        closing_balance=None,
        entries=tuple(entries),
    )
    statement_file_import(
        organisation=organisation,
        parsed=ParsedFile(format="test", statements=(statement,)),
        data=repr(lines).encode(),
    )
    return organisation


def snapshot(organisation: Any) -> dict[str, Any]:
    """Everything matching writes, with ids replaced by keys that do not depend on the order of
    writing (customer and invoice numbers, the lines' bank references)."""
    customers = {c.pk: c.number for c in organisation.customers.all()}
    invoices = dict(Invoice.objects.filter(organisation=organisation).values_list("pk", "number"))
    references = dict(
        Invoice.objects.filter(organisation=organisation).values_list("payment_reference", "number")
    )

    def candidate(found: dict[str, Any]) -> dict[str, Any]:
        explanation = found["explanation"]
        for reference, number in references.items():  # the reference holds the organisation
            explanation = explanation.replace(reference, f"<reference of {number}>")
        return {
            **found,
            "explanation": explanation,
            "customer_id": customers[found["customer_id"]],
            "invoice_ids": [invoices[i] for i in found["invoice_ids"]],
        }

    line_of_payment: dict[int, str] = {}
    lines = {}
    for tx in BankTransaction.objects.filter(organisation=organisation).prefetch_related(
        "payments"
    ):
        payments = []
        for payment in tx.payments.all():
            line_of_payment[payment.pk] = tx.bank_reference
            allocations = sorted(
                (invoices[a.invoice_id], a.component, a.amount, a.allocated_on)
                for a in Allocation.objects.filter(payment=payment)
            )
            payments.append(
                (
                    customers[payment.customer_id],
                    payment.amount,
                    payment.received_on,
                    invoices.get(payment.designated_invoice_id),
                    allocations,
                )
            )
        candidates = [candidate(found) for found in tx.candidates]
        lines[tx.bank_reference] = (
            tx.status,
            customers.get(tx.customer_id),
            tx.matched_at is not None,
            candidates,
            payments,
        )
    events: Counter[Any] = Counter()
    for event in Event.objects.filter(
        organisation=organisation, name__regex=r"^(bank\.transaction|payments)\."
    ):
        after = dict(event.after or {})
        if "payment" in after:
            after["payment"] = line_of_payment[after["payment"]]
        if "candidates" in after:
            after["candidates"] = [candidate(found) for found in after["candidates"]]
        subject = event.subject_type
        if subject == "payments.payment":
            subject += ":" + line_of_payment[int(event.subject_id)]
        elif subject == "bank.banktransaction":
            subject += ":" + BankTransaction.objects.get(pk=event.subject_id).bank_reference
        events[
            (
                event.name,
                subject,
                customers.get(event.customer_id),
                invoices.get(event.invoice_id),
                event.actor_label,
                repr(sorted(after.items())),
            )
        ] += 1
    open_amounts = {
        number: invoice_open_amount(invoice)
        for invoice in Invoice.objects.filter(organisation=organisation)
        for number in [invoice.number]
    }
    return {"lines": lines, "events": events, "open": open_amounts}


def customers_of(organisation: Any) -> set[int]:
    return set(organisation.customers.values_list("pk", flat=True))


@pytest.fixture
def threads_booking(monkeypatch):
    """Small chunks (so that a run has many) and the names of the threads that booked."""
    monkeypatch.setattr(bank_services, "BOOK_CHUNK", 4)
    names: list[str] = []
    book_decided = bank_services._book_decided

    def recorded(*args: Any, **kwargs: Any) -> None:
        names.append(threading.current_thread().name)
        book_decided(*args, **kwargs)

    monkeypatch.setattr(bank_services, "_book_decided", recorded)
    return names


@pytest.fixture
def booked_by(monkeypatch):
    """Per customer, the threads that booked its payments."""
    threads: dict[int, set[str]] = {}
    book_chunk = bank_services._book_chunk

    def recorded(organisation: Any, chunk: Any, *args: Any) -> None:
        for _tx, _candidates, decision in chunk:
            if decision is not None:
                threads.setdefault(decision.customer_id, set()).add(threading.current_thread().name)
        book_chunk(organisation, chunk, *args)

    monkeypatch.setattr(bank_services, "_book_chunk", recorded)
    return threads


def test_several_workers_book_exactly_what_one_worker_books(settings, threads_booking, booked_by):
    one, several = book(), book()
    settings.BANK_MATCH_WORKERS = 1
    counts_one = transactions_match(organisation=one, actor="test")
    assert threads_booking == [threading.current_thread().name]
    threads_booking.clear()
    settings.BANK_MATCH_WORKERS = 3
    counts_several = transactions_match(organisation=several, actor="test")
    assert sorted(threads_booking) == [f"bank-booking-{i}" for i in range(3)]
    # Each customer's payments are booked by one worker, in the lines' order.
    booked_here = {pk: names for pk, names in booked_by.items() if pk in customers_of(several)}
    assert len(booked_here) == CUSTOMERS
    assert all(len(names) == 1 for names in booked_here.values())
    assert counts_one == counts_several
    assert counts_one["matched"] >= 3 * CUSTOMERS
    assert counts_one["review"] >= CUSTOMERS
    first, second = snapshot(one), snapshot(several)
    assert first["lines"] == second["lines"]
    assert first["events"] == second["events"]
    assert first["open"] == second["open"]


def test_the_workers_book_in_the_callers_language(settings, monkeypatch):
    settings.BANK_MATCH_WORKERS = 2
    monkeypatch.setattr(bank_services, "BOOK_CHUNK", 4)
    organisation = book()
    languages: list[str | None] = []
    book_decided = bank_services._book_decided

    def recorded(*args: Any, **kwargs: Any) -> None:
        languages.append(translation.get_language())
        book_decided(*args, **kwargs)

    monkeypatch.setattr(bank_services, "_book_decided", recorded)
    # Not the default language, which a new thread starts in.
    other = next(code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE)
    with translation.override(other):
        transactions_match(organisation=organisation, actor="test")
    assert languages == [other, other]


def test_two_runs_at_once_book_every_line_once(settings, threads_booking):
    settings.BANK_MATCH_WORKERS = 2
    organisation = book()
    barrier = threading.Barrier(2)
    outcomes: list[dict[str, int]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            outcomes.append(transactions_match(organisation=organisation, actor="test"))
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connections.close_all()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=120)
    assert failures == []
    lines = BankTransaction.objects.filter(organisation=organisation)
    assert not lines.filter(status=TransactionStatus.UNMATCHED).exists()
    matched = lines.filter(status=TransactionStatus.MATCHED)
    total = sum((outcome.get("matched", 0) for outcome in outcomes), 0)
    assert total == matched.count()
    assert (
        sum((o.get("review", 0) for o in outcomes), 0)
        == lines.filter(status=TransactionStatus.REVIEW).count()
    )
    for tx in matched:
        assert tx.payments.count() == 1
    assert Payment.objects.filter(organisation=organisation).count() == matched.count()
    assert (
        Event.objects.filter(organisation=organisation, name="payments.payment.registered").count()
        == matched.count()
    )
    assert transactions_match(organisation=organisation, actor="test") == {}
