"""Payments: registration with allocation per art. 6:43/6:44 BW, customer credit, reversal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from betaald.audit.models import Event
from betaald.invoices.selectors import invoice_open_amount
from betaald.payments.models import Allocation, Payment
from betaald.payments.services import (
    customer_credit,
    payment_register,
    payment_reverse,
    payment_unapplied,
)
from tests.factories import CustomerFactory, issued_invoice

pytestmark = pytest.mark.django_db


def pay(customer, amount, on=date(2026, 2, 20), **kwargs):
    return payment_register(
        organisation=customer.organisation,
        customer=customer,
        amount=amount,
        received_on=on,
        **kwargs,
    )


def test_a_payment_goes_to_the_oldest_due_invoice_first():
    """Art. 6:43 lid 2 BW: without designation, due claims first, the oldest first."""
    customer = CustomerFactory()
    older = issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 5))  # 121.00
    newer = issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 20))  # 121.00
    pay(customer, "150.00")
    assert invoice_open_amount(older) == Decimal("0.00")
    assert invoice_open_amount(newer) == Decimal("92.00")


def test_the_debtors_designation_comes_first():
    """Art. 6:43 lid 1 BW: the debtor designates which debt a payment is for."""
    customer = CustomerFactory()
    older = issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 5))
    newer = issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 20))
    pay(customer, "121.00", designated_invoice=newer)
    assert invoice_open_amount(newer) == Decimal("0.00")
    assert invoice_open_amount(older) == Decimal("121.00")


def test_an_overpayment_stays_as_customer_credit():
    customer = CustomerFactory()
    invoice = issued_invoice(customer, amount="100.00")
    payment = pay(customer, "200.00")
    assert invoice_open_amount(invoice) == Decimal("0.00")
    assert payment_unapplied(payment) == Decimal("79.00")
    assert customer_credit(customer) == Decimal("79.00")
    assert Event.objects.filter(name="payments.payment.registered", customer=customer).exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "more than zero"),
        ("-5.00", "more than zero"),
        ("1.005", "two decimals"),
        ("abc", "decimal"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_saved(amount, message):
    customer = CustomerFactory()
    issued_invoice(customer)
    with pytest.raises(ValidationError, match=message) as error:
        pay(customer, amount)
    assert "amount" in error.value.message_dict
    assert not Payment.objects.exists()


def test_a_designated_invoice_of_another_customer_is_refused():
    customer = CustomerFactory()
    stranger_invoice = issued_invoice(CustomerFactory(organisation=customer.organisation))
    with pytest.raises(ValidationError, match="not the customer's"):
        pay(customer, "10.00", designated_invoice=stranger_invoice)


def test_a_reversal_reopens_the_invoice_and_cannot_be_done_twice():
    customer = CustomerFactory()
    invoice = issued_invoice(customer, amount="100.00")
    payment = pay(customer, "121.00")
    payment_reverse(payment=payment, actor=None, reason="Storno MD06", on=date(2026, 2, 25))
    assert invoice_open_amount(invoice) == Decimal("121.00")
    assert Allocation.objects.filter(invoice=invoice).count() == 2
    with pytest.raises(ValidationError, match="already reversed"):
        payment_reverse(payment=payment, actor=None, reason="again", on=date(2026, 2, 26))


class TestAllocationProperties(TestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        amounts=st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=4),
        paid=st.integers(min_value=1, max_value=250_000),
    )
    def test_allocations_plus_credit_always_equal_the_payment(self, amounts, paid):
        customer = CustomerFactory()
        for cents in amounts:
            issued_invoice(customer, amount=str(Decimal(cents) / 100), vat_rate="0")
        payment = pay(customer, str(Decimal(paid) / 100))
        allocated = sum(a.amount for a in payment.allocations.all())
        assert allocated + payment_unapplied(payment) == payment.amount
        assert all(a.amount > 0 for a in payment.allocations.all())
        for invoice in customer.invoices.all():
            assert invoice_open_amount(invoice) >= 0


def test_a_payment_added_in_the_admin_is_allocated_through_the_service():
    from django.contrib.auth import get_user_model
    from django.test import Client

    customer = CustomerFactory()
    invoice = issued_invoice(customer, amount="100.00")
    admin_user = get_user_model().objects.create_superuser("root", "root@example.nl", "pw-123456!")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/payments/payment/add/",
        {
            "organisation": customer.organisation.pk,
            "customer": customer.pk,
            "received_on": "2026-02-01",
            "amount": "121.00",
            "method": "bank_transfer",
            "description": "per bank",
            "counterparty_iban": "",
            "designated_invoice": "",
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert invoice_open_amount(invoice) == Decimal("0.00")
    assert Payment.objects.count() == 1
