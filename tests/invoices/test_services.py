"""Invoices: drafting, issuing (art. 35a Wet OB completeness, gap-free numbers), immutability
and credit notes."""

from __future__ import annotations

import multiprocessing
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from betaald.audit.models import Event
from betaald.core.references import is_valid_reference
from betaald.invoices.models import ImmutableInvoice, Invoice, InvoiceSequence
from betaald.invoices.selectors import invoice_open_amount
from betaald.invoices.services import (
    InvoiceIncomplete,
    LineInput,
    credit_note_create,
    invoice_create_draft,
    invoice_issue,
    invoice_update_draft,
)
from tests.factories import CustomerFactory, OrganisationFactory, issued_invoice

pytestmark = pytest.mark.django_db

LINES = [
    LineInput("Metselwerk", "8", "55.00", "21"),
    LineInput("Tegels", "12.5", "19.99", "9"),
    LineInput("Afvoer puin", "1", "35.00", "21"),
]


def draft(customer, lines=LINES, **kwargs):
    return invoice_create_draft(
        organisation=customer.organisation, customer=customer, actor=None, lines=lines, **kwargs
    )


def test_issuing_numbers_freezes_and_computes_totals_per_vat_rate():
    customer = CustomerFactory()
    invoice, warnings = invoice_issue(
        invoice=draft(customer), actor=None, issued_on=date(2026, 3, 2)
    )
    assert warnings == []
    assert invoice.number == "2026-00001"
    assert invoice.due_on == date(2026, 3, 16)
    # 8 x 55.00 + 35.00 = 475.00 at 21% -> 99.75; 12.5 x 19.99 = 249.875 -> 249.88 at 9% -> 22.49
    assert invoice.total_excl_vat == Decimal("724.88")
    assert invoice.total_vat == Decimal("122.24")
    assert invoice.total == Decimal("847.12")
    assert len(invoice.payment_reference) == 16
    assert is_valid_reference(invoice.payment_reference)
    assert invoice.seller["vat_number"] == "NL123456789B13"
    assert invoice.buyer["name"] == customer.name
    assert Event.objects.filter(invoice=invoice, name="invoices.invoice.issued").exists()


def test_numbers_are_gap_free_per_organisation_and_year():
    customer = CustomerFactory()
    other = CustomerFactory()  # another organisation has its own series
    numbers = [issued_invoice(customer, issued_on=date(2026, 12, 30)).number for _ in range(2)]
    numbers.append(issued_invoice(customer, issued_on=date(2027, 1, 2)).number)
    assert numbers == ["2026-00001", "2026-00002", "2027-00001"]
    assert issued_invoice(other).number == "2026-00001"


def test_issue_refuses_an_invoice_that_lacks_what_the_law_requires_and_changes_nothing():
    organisation = OrganisationFactory(vat_number="", kvk_number="")
    customer = CustomerFactory(organisation=organisation, street="", postal_code="", city="")
    invoice = draft(customer, lines=[LineInput("Advies", "1", "100.00", "21")])
    with pytest.raises(InvoiceIncomplete) as error:
        invoice_issue(invoice=invoice, actor=None, issued_on=date(2026, 3, 2))
    messages = " ".join(m for ms in error.value.message_dict.values() for m in ms)
    assert "VAT number" in messages
    assert "KvK" in messages
    assert "customer's address" in messages
    invoice.refresh_from_db()
    assert invoice.status == "draft"
    assert invoice.number == ""
    assert not InvoiceSequence.objects.filter(organisation=organisation).exists()


def test_reverse_charge_needs_the_customers_vat_number():
    customer = CustomerFactory(vat_number="")
    invoice = draft(customer, lines=[LineInput("Installatie", "1", "500.00", "reverse_charge")])
    with pytest.raises(InvoiceIncomplete, match="VAT number"):
        invoice_issue(invoice=invoice, actor=None, issued_on=date(2026, 3, 2))


def test_a_term_above_60_days_is_refused_for_a_business_and_above_30_warns():
    customer = CustomerFactory()
    with pytest.raises(InvoiceIncomplete, match="60 days"):
        invoice_issue(
            invoice=draft(customer, payment_term_days=61), actor=None, issued_on=date(2026, 3, 2)
        )
    _invoice, warnings = invoice_issue(
        invoice=draft(customer, payment_term_days=45), actor=None, issued_on=date(2026, 3, 2)
    )
    assert any("30 days" in w for w in warnings)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (LineInput("Stenen", "-2", "1.00", "21"), "lines.0.quantity"),
        (LineInput("Stenen", "2", "1.005", "21"), "lines.0.unit_price"),
        (LineInput("Stenen", "2", "twaalf", "21"), "lines.0.unit_price"),
        (LineInput("Stenen", "2", "1.00", "19"), "lines.0.vat_rate"),
        (LineInput("  ", "2", "1.00", "21"), "lines.0.description"),
    ],
)
def test_bad_lines_are_refused_with_the_field_named_and_nothing_saved(line, field):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as error:
        draft(customer, lines=[line])
    assert field in error.value.message_dict
    assert not Invoice.objects.exists()


def test_an_issued_invoice_cannot_be_edited_or_deleted():
    invoice = issued_invoice(CustomerFactory())
    with pytest.raises(ValidationError, match="cannot be changed"):
        invoice_update_draft(invoice=invoice, actor=None, notes="changed")
    invoice.notes = "changed"
    with pytest.raises(ImmutableInvoice):
        invoice.save()
    with pytest.raises(ImmutableInvoice):
        invoice.delete()
    line = invoice.lines.first()
    line.description = "changed"
    with pytest.raises(ImmutableInvoice):
        line.save()


def test_a_draft_can_be_edited_until_issued():
    invoice = draft(CustomerFactory())
    invoice = invoice_update_draft(
        invoice=invoice, actor=None, lines=[LineInput("Advies", "2", "50.00", "21")]
    )
    assert invoice.total == Decimal("121.00")


def test_a_full_credit_note_settles_the_invoice():
    invoice = issued_invoice(CustomerFactory(), amount="200.00")
    credit = credit_note_create(
        invoice=invoice, actor=None, issued_on=date(2026, 1, 20), reason="Verkeerd tarief"
    )
    assert credit.number == "2026-00002"
    assert credit.total == Decimal("-242.00")
    assert credit.credited_invoice == invoice
    assert invoice_open_amount(invoice) == Decimal("0.00")
    assert invoice_open_amount(credit) == Decimal("0.00")


def test_a_partial_credit_note_lowers_the_open_amount_and_more_than_the_invoice_is_refused():
    invoice = issued_invoice(CustomerFactory(), amount="200.00")
    credit_note_create(
        invoice=invoice,
        actor=None,
        issued_on=date(2026, 1, 20),
        reason="Korting",
        lines=[LineInput("Korting", "1", "50.00", "21")],
    )
    assert invoice_open_amount(invoice) == Decimal("181.50")
    with pytest.raises(ValidationError, match="exceeds"):
        credit_note_create(
            invoice=invoice,
            actor=None,
            issued_on=date(2026, 1, 20),
            reason="Te veel",
            lines=[LineInput("Nog meer", "1", "200.00", "21")],
        )


def _issue_in_child(invoice_id: int, start, results) -> None:  # pragma: no cover - child
    connections.close_all()  # never share the parent's socket
    start.wait()
    try:
        invoice = Invoice.objects.get(pk=invoice_id)
        issued, _warnings = invoice_issue(invoice=invoice, actor=None, issued_on=date(2026, 5, 1))
        results.put(issued.number)
    except Exception as exc:
        results.put(f"error: {exc!r}")
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks across processes need PostgreSQL"
)
def test_processes_issuing_at_once_never_share_a_number():
    """Art. 35a lid 1 b Wet OB: one unbroken series. Eight processes issue at the same moment."""
    customer = CustomerFactory()
    drafts = [draft(customer, lines=[LineInput("Werk", "1", "10.00", "21")]) for _ in range(8)]
    connections.close_all()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(drafts))
    results = context.Queue()
    processes = [
        context.Process(target=_issue_in_child, args=(d.pk, start, results)) for d in drafts
    ]
    for process in processes:
        process.start()
    numbers = sorted(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert numbers == [f"2026-{n:05d}" for n in range(1, 9)]
    assert sorted(Invoice.objects.values_list("number", flat=True)) == numbers


@pytest.mark.django_db(transaction=True)
def test_issuing_queues_the_invoice_email_once_unless_told_not_to():
    from betaald.letters.models import Message

    customer = CustomerFactory()
    issued_invoice(customer)
    assert Message.objects.filter(customer=customer, kind="invoice").count() == 1
    quiet = draft(customer, lines=[LineInput("Werk", "1", "10.00", "21")])
    invoice_issue(invoice=quiet, actor=None, issued_on=date(2026, 3, 2), send=False)
    assert Message.objects.filter(customer=customer, kind="invoice").count() == 1
