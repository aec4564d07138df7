"""Set-based booking (`payments_register_bulk`): the same result as `payment_register` called
for each item in date order (then input order), art. 6:43/6:44 BW allocation included, in a few
queries per chunk; the whole batch is one transaction."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from betaald.audit.models import Event
from betaald.core.money import round_cents
from betaald.dunning.models import DunningState
from betaald.invoices.selectors import invoice_open_amount
from betaald.payments import services
from betaald.payments.models import Allocation, Payment
from betaald.payments.services import (
    PaymentItem,
    customer_credit,
    payment_register,
    payment_unapplied,
    payments_register_bulk,
)
from tests.factories import CustomerFactory, OrganisationFactory, issued_invoice

pytestmark = pytest.mark.django_db

START = date(2026, 1, 1)
# Every stored field of a dunning state (its key is the invoice) except its timestamps.
STATE_FIELDS = [
    f.attname
    for f in DunningState._meta.concrete_fields
    if f.name not in ("created_at", "updated_at")
]


def item(customer, amount, on=date(2026, 2, 20), **kwargs):
    return PaymentItem(customer_id=customer.pk, amount=amount, received_on=on, **kwargs)


def one_by_one(organisation, items, customers):
    """The reference: `payment_register` per item, in date order then input order."""
    payments: list[Payment | None] = [None] * len(items)
    for index in sorted(range(len(items)), key=lambda i: items[i].received_on):
        it = items[index]
        designated = None
        if it.designated_invoice_id is not None:
            from betaald.invoices.models import Invoice

            designated = Invoice.objects.get(pk=it.designated_invoice_id)
        payments[index] = payment_register(
            organisation=organisation,
            customer=customers[it.customer_id],
            amount=it.amount,
            received_on=it.received_on,
            method=it.method,
            description=it.description,
            counterparty_iban=it.counterparty_iban,
            designated_invoice=designated,
        )
    return payments


def snapshot(invoice_ids, payments):
    """Everything a booking writes, with payment ids replaced by the item's index."""
    index_of = {payment.pk: index for index, payment in enumerate(payments)}
    allocations = {
        invoice_id: [
            (index_of[a.payment_id], a.component, a.amount, a.allocated_on)
            for a in Allocation.objects.filter(invoice_id=invoice_id).order_by("id")
        ]
        for invoice_id in invoice_ids
    }
    unapplied = [payment_unapplied(Payment.objects.get(pk=p.pk)) for p in payments]
    rows = Payment.objects.filter(pk__in=index_of).values_list(
        "pk", "customer_id", "amount", "received_on", "method", "description", "designated_invoice"
    )
    stored = sorted((index_of[pk], *rest) for pk, *rest in rows)
    events = []
    for event in Event.objects.filter(name__startswith="payments.").order_by("id"):
        after = dict(event.after)
        if "payment" in after:
            after["payment"] = index_of[after["payment"]]
        events.append(
            (
                event.name,
                event.customer_id,
                event.invoice_id,
                event.subject_type,
                index_of[int(event.subject_id)],
                event.actor_label,
                after,
            )
        )
    states = sorted(
        DunningState.objects.filter(invoice_id__in=invoice_ids).values_list(*STATE_FIELDS)
    )
    return {
        "allocations": allocations,
        "unapplied": unapplied,
        "payments": stored,
        "events": events,
        "states": states,
    }


def both_ways(organisation, items, customers, invoice_ids):
    """Book `items` one by one and in bulk, each in a savepoint that is rolled back."""
    results = []
    for bulk in (False, True):
        with transaction.atomic():
            if bulk:
                payments = payments_register_bulk(organisation=organisation, items=items)
            else:
                payments = one_by_one(organisation, items, customers)
            results.append(snapshot(invoice_ids, payments))
            transaction.set_rollback(True)
    return results


AMOUNTS = st.integers(min_value=1, max_value=40_000).map(lambda cents: Decimal(cents) / 100)


class TestEquivalence(TestCase):
    """Hypothesis: any book of two customers and any batch give the same rows both ways."""

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        books=st.lists(
            st.lists(st.tuples(AMOUNTS, st.integers(0, 60)), min_size=0, max_size=3),
            min_size=2,
            max_size=2,
        ),
        batch=st.lists(
            st.tuples(
                st.integers(0, 1),
                AMOUNTS,
                st.integers(0, 90),
                st.one_of(st.none(), st.integers(0, 2)),
            ),
            min_size=1,
            max_size=6,
        ),
        chunk=st.sampled_from([1, 2, 2000]),
    )
    def test_bulk_books_exactly_what_one_by_one_books(self, books, batch, chunk):
        organisation = OrganisationFactory()
        customers = [CustomerFactory(organisation=organisation) for _ in books]
        invoices = [
            [
                issued_invoice(
                    customer,
                    amount=str(amount),
                    vat_rate="0",
                    issued_on=START + timedelta(days=day),
                )
                for amount, day in book
            ]
            for customer, book in zip(customers, books, strict=True)
        ]
        items = []
        for who, amount, day, designate in batch:
            own = invoices[who]
            designated = (
                own[designate].pk if designate is not None and designate < len(own) else None
            )
            items.append(
                PaymentItem(
                    customer_id=customers[who].pk,
                    amount=amount,
                    received_on=START + timedelta(days=day),
                    description=f"betaling {len(items)}",
                    designated_invoice_id=designated,
                )
            )
        invoice_ids = [invoice.pk for own in invoices for invoice in own]
        by_id = {customer.pk: customer for customer in customers}
        original = services.BULK_CHUNK
        services.BULK_CHUNK = chunk
        try:
            single, bulk = both_ways(organisation, items, by_id, invoice_ids)
        finally:
            services.BULK_CHUNK = original
        assert bulk == single


@pytest.mark.parametrize(
    ("invoices", "payments", "open_after"),
    [
        # (amount, issue day) per invoice; (amount, received day) per payment, in input order
        ([("100.00", 0), ("100.00", 10)], [("150.00", 50)], ["0.00", "50.00"]),
        ([("100.00", 0), ("100.00", 10)], [("60.00", 50), ("60.00", 50)], ["0.00", "80.00"]),
        ([("100.00", 0), ("100.00", 10)], [("30.00", 60), ("120.00", 50)], ["0.00", "50.00"]),
        ([("100.00", 0)], [("40.00", 50), ("40.00", 50), ("40.00", 51)], ["0.00"]),
        ([], [("10.00", 50)], []),
        # found by hypothesis: SQLite's float balance 3.10 - 2.52 = 0.580000000000001
        ([("3.10", 0)], [("0.01", 0), ("2.51", 0), ("0.01", 0)], ["0.57"]),
    ],
)
def test_table_of_batches_gives_the_open_amounts_of_one_by_one(invoices, payments, open_after):
    """Art. 6:43 lid 2 BW, oldest due first; the batch's payments of one customer are taken in
    date order, so later payments see what earlier ones left."""
    customer = CustomerFactory()
    booked = [
        issued_invoice(customer, amount=a, vat_rate="0", issued_on=START + timedelta(days=d))
        for a, d in invoices
    ]
    items = [item(customer, a, on=START + timedelta(days=d)) for a, d in payments]
    invoice_ids = [i.pk for i in booked]
    single, bulk = both_ways(customer.organisation, items, {customer.pk: customer}, invoice_ids)
    assert bulk == single
    payments_register_bulk(organisation=customer.organisation, items=items)
    # round_cents: on SQLite the selector's balance carries float noise (0.570000000000001)
    assert [round_cents(invoice_open_amount(i)) for i in booked] == [Decimal(a) for a in open_after]


def test_the_designated_invoice_is_paid_first():
    """Art. 6:43 lid 1 BW: the debtor's designation comes before the default order."""
    customer = CustomerFactory()
    older = issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 5))  # 121.00
    newer = issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 20))  # 121.00
    (payment,) = payments_register_bulk(
        organisation=customer.organisation,
        items=[item(customer, "121.00", designated_invoice_id=newer.pk)],
    )
    assert invoice_open_amount(newer) == Decimal("0.00")
    assert invoice_open_amount(older) == Decimal("121.00")
    assert payment.designated_invoice_id == newer.pk


def test_a_designated_invoice_paid_earlier_in_the_batch_falls_back_to_the_default_order():
    customer = CustomerFactory()
    older = issued_invoice(customer, amount="100.00", vat_rate="0", issued_on=date(2026, 1, 5))
    newer = issued_invoice(customer, amount="100.00", vat_rate="0", issued_on=date(2026, 1, 20))
    payments_register_bulk(
        organisation=customer.organisation,
        items=[
            item(customer, "100.00", designated_invoice_id=newer.pk),
            item(customer, "30.00", designated_invoice_id=newer.pk),
        ],
    )
    assert invoice_open_amount(newer) == Decimal("0.00")
    assert invoice_open_amount(older) == Decimal("70.00")


def test_an_overpayment_stays_as_customer_credit():
    customer = CustomerFactory()
    invoice = issued_invoice(customer, amount="100.00")  # 121.00
    first, second = payments_register_bulk(
        organisation=customer.organisation,
        items=[item(customer, "100.00"), item(customer, "100.00")],
    )
    assert invoice_open_amount(invoice) == Decimal("0.00")
    assert payment_unapplied(first) == Decimal("0.00")
    assert payment_unapplied(second) == Decimal("79.00")
    assert customer_credit(customer) == Decimal("79.00")


def test_several_payments_of_one_customer_are_taken_in_date_order_and_returned_in_input_order():
    customer = CustomerFactory()
    january = issued_invoice(customer, amount="100.00", vat_rate="0", issued_on=date(2026, 1, 5))
    february = issued_invoice(customer, amount="100.00", vat_rate="0", issued_on=date(2026, 2, 5))
    late, early = payments_register_bulk(
        organisation=customer.organisation,
        items=[
            item(customer, "100.00", on=date(2026, 3, 20)),
            item(customer, "100.00", on=date(2026, 3, 10)),
        ],
    )
    assert (late.received_on, early.received_on) == (date(2026, 3, 20), date(2026, 3, 10))
    assert list(early.allocations.values_list("invoice_id", flat=True)) == [january.pk]
    assert list(late.allocations.values_list("invoice_id", flat=True)) == [february.pk]


def test_payments_of_many_customers_are_booked_and_audited():
    organisation = OrganisationFactory()
    customers = [CustomerFactory(organisation=organisation) for _ in range(3)]
    invoices = [issued_invoice(c, amount="50.00", vat_rate="0") for c in customers]
    payments = payments_register_bulk(
        organisation=organisation,
        items=[item(c, "50.00") for c in customers],
        actor="bank import",
    )
    assert all(invoice_open_amount(i) == Decimal("0.00") for i in invoices)
    registered = Event.objects.filter(name="payments.payment.registered").order_by("id")
    assert [e.subject_id for e in registered] == [str(p.pk) for p in payments]
    assert [e.customer_id for e in registered] == [c.pk for c in customers]
    assert {e.actor_label for e in registered} == {"bank import"}
    assert registered[0].after == {
        "amount": "50.00",
        "received_on": "2026-02-20",
        "allocated": [{"invoice": invoices[0].number, "component": "principal", "amount": "50.00"}],
        "unapplied": "0.00",
    }
    allocated = Event.objects.filter(name="payments.allocation.created").order_by("id")
    assert [e.invoice_id for e in allocated] == [i.pk for i in invoices]
    assert allocated[0].after == {"payment": payments[0].pk, "amount": "50.00"}


def test_a_paid_invoice_leaves_dunning_at_once():
    customer = CustomerFactory()
    invoice = issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 5))
    payments_register_bulk(
        organisation=customer.organisation, items=[item(customer, "121.00", on=date(2026, 3, 1))]
    )
    state = DunningState.objects.get(invoice=invoice)
    assert state.next_action_on is None
    assert state.open_amount == Decimal("0.00")


def test_a_customer_of_another_organisation_is_refused_and_nothing_is_saved():
    organisation = OrganisationFactory()
    ours = CustomerFactory(organisation=organisation)
    theirs = CustomerFactory()
    issued_invoice(ours)
    issued_invoice(theirs)
    with pytest.raises(ValidationError) as error:
        payments_register_bulk(
            organisation=organisation, items=[item(ours, "10.00"), item(theirs, "10.00")]
        )
    assert error.value.message_dict == {"items[1].customer_id": ["unknown customer"]}
    assert not Payment.objects.exists()
    assert not Allocation.objects.filter(payment__isnull=False).exists()
    assert not Event.objects.filter(name__startswith="payments.").exists()


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"amount": "0"}, "amount", "more than zero"),
        ({"amount": "-5.00"}, "amount", "more than zero"),
        ({"amount": "1.005"}, "amount", "two decimals"),
        ({"amount": "abc"}, "amount", "decimal"),
        ({"amount": "1000000000000.00"}, "amount", "digits"),
        ({"method": "cheque"}, "method", "unknown payment method"),
        ({"description": "x" * 301}, "description", "at most 300"),
        ({"counterparty_iban": "NL" * 20}, "counterparty_iban", "at most 34"),
    ],
)
def test_one_invalid_item_saves_nothing_and_the_error_names_its_index_and_field(
    bad, field, message
):
    customer = CustomerFactory()
    issued_invoice(customer)
    good = item(customer, "10.00")
    fields = {"amount": "10.00", **bad}
    amount = fields.pop("amount")
    with pytest.raises(ValidationError, match=message) as error:
        payments_register_bulk(
            organisation=customer.organisation,
            items=[good, good, item(customer, amount, **fields)],
        )
    assert list(error.value.message_dict) == [f"items[2].{field}"]
    assert not Payment.objects.exists()
    assert not Event.objects.filter(name__startswith="payments.").exists()


def test_a_designated_invoice_of_another_customer_is_refused_with_its_index():
    customer = CustomerFactory()
    stranger_invoice = issued_invoice(CustomerFactory(organisation=customer.organisation))
    with pytest.raises(ValidationError) as error:
        payments_register_bulk(
            organisation=customer.organisation,
            items=[
                item(customer, "10.00"),
                item(customer, "10.00", designated_invoice_id=stranger_invoice.pk),
            ],
        )
    assert error.value.message_dict == {
        "items[1].designated_invoice_id": ["this invoice is not the customer's"]
    }
    assert not Payment.objects.exists()


def test_an_error_in_a_later_chunk_undoes_the_earlier_chunks(monkeypatch):
    monkeypatch.setattr(services, "BULK_CHUNK", 2)
    customer = CustomerFactory()
    stranger_invoice = issued_invoice(CustomerFactory(organisation=customer.organisation))
    issued_invoice(customer)
    items = [item(customer, "1.00") for _ in range(4)]
    items.append(item(customer, "1.00", designated_invoice_id=stranger_invoice.pk))
    with pytest.raises(ValidationError, match="not the customer's"):
        payments_register_bulk(organisation=customer.organisation, items=items)
    assert not Payment.objects.exists()
    assert not Allocation.objects.filter(payment__isnull=False).exists()


def test_an_empty_batch_books_nothing():
    assert payments_register_bulk(organisation=OrganisationFactory(), items=[]) == []


def test_the_number_of_queries_does_not_grow_with_the_batch():
    def queries(count):
        organisation = OrganisationFactory()
        customers = [CustomerFactory(organisation=organisation) for _ in range(count)]
        for customer in customers:
            issued_invoice(customer, amount="10.00", vat_rate="0")
        items = [item(customer, "4.00") for customer in customers for _ in range(2)]
        with CaptureQueriesContext(connection) as captured:
            payments_register_bulk(organisation=organisation, items=items)
        return len(captured.captured_queries)

    small, large = queries(3), queries(30)
    assert large <= small + 2  # SQLite splits a long INSERT by its limit of variables
    assert small < 40


CENTS = st.integers(min_value=0, max_value=50_000).map(lambda cents: Decimal(cents) / 100)


@settings(max_examples=300, deadline=None)
@given(
    claims=st.lists(
        st.tuples(CENTS, CENTS, CENTS, st.integers(-30, 30), st.sampled_from(["0", "8", "12.5"])),
        min_size=1,
        max_size=6,
    ),
    pick=st.integers(0, 5),
    share=st.integers(1, 100),
)
def test_a_designated_claim_that_covers_the_payment_takes_it_all_whatever_the_others(
    claims, pick, share
):
    """Why `_allocate` passes only the designated invoice when its outstanding amount covers
    the payment: `allocate_payment` over all claims gives the others nothing (art. 6:43 lid 1
    BW) and the designated claim the same costs, interest and principal."""
    from betaald.core.allocation import Claim, allocate_payment

    on = date(2026, 3, 1)
    book = [
        Claim(
            id=str(n),
            due_on=on + timedelta(days=days),
            costs=costs,
            interest=interest,
            principal=principal,
            rate=Decimal(rate),
        )
        for n, (costs, interest, principal, days, rate) in enumerate(claims)
    ]
    designated = book[pick % len(book)]
    amount = round_cents(designated.outstanding * share / 100)
    if amount <= 0:
        return
    everything = allocate_payment(amount, book, on=on, designation=designated.id)
    alone = allocate_payment(amount, [designated], on=on, designation=designated.id)
    assert everything.part(designated.id) == alone.part(designated.id)
    assert all(part.total == 0 for part in everything.parts if part.claim_id != designated.id)
    assert everything.unapplied == alone.unapplied == 0


@pytest.mark.parametrize("who", ["label", "user", "nobody"])
def test_the_bulk_audit_rows_hold_what_event_build_gives(who, django_user_model):
    """`EventRows` writes the fields `event_build` (the audit app's rules) gives an event."""
    from betaald.audit.services import event_build

    customer = CustomerFactory()
    invoice = issued_invoice(customer, amount="10.00", vat_rate="0")
    actor = {
        "label": "bank import",
        "user": django_user_model.objects.create_user("kees", password="x"),
        "nobody": None,
    }[who]
    (payment,) = payments_register_bulk(
        organisation=customer.organisation, items=[item(customer, "4.00")], actor=actor
    )
    expected = event_build(
        name="payments.allocation.created",
        organisation=customer.organisation,
        actor=actor,
        subject=payment,
        customer_id=customer.pk,
        invoice_id=invoice.pk,
        after={"payment": payment.pk, "amount": "4.00"},
    )
    stored = Event.objects.get(name="payments.allocation.created")
    fields = [f.attname for f in Event._meta.concrete_fields if f.name not in ("id", "occurred_at")]
    assert [getattr(stored, f) for f in fields] == [getattr(expected, f) for f in fields]
