"""`betaald demo` and `betaald seed`: a populated, valid demo, and a second run adds nothing."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from stdnum.nl import btw

from betaald.debtors.models import Customer
from betaald.dunning.models import StepExecution
from betaald.identifiers import normalise_iban
from betaald.invoices.models import Invoice
from betaald.letters.models import Message
from betaald.organisations.models import Membership
from betaald.payments.models import Payment

pytestmark = pytest.mark.django_db


def test_demo_sets_up_data_logins_policies_and_todays_dunning_and_is_idempotent():
    out = StringIO()
    call_command("demo", no_serve=True, customers=12, invoices=60, stdout=out)
    assert "log in as demo / betaald-demo" in out.getvalue()
    assert Customer.objects.count() == 12
    assert Invoice.objects.filter(status="issued").count() == 60
    assert Payment.objects.exists()
    assert {m.role for m in Membership.objects.all()} == {"owner", "accountant"}
    for customer in Customer.objects.all():
        if customer.vat_number:
            assert btw.is_valid(customer.vat_number)
        for iban in customer.ibans.all():
            assert normalise_iban(iban.iban) == iban.iban
    steps, messages = StepExecution.objects.count(), Message.objects.count()
    assert steps > 0
    call_command("demo", no_serve=True, stdout=StringIO())
    assert Invoice.objects.count() == 60
    assert (StepExecution.objects.count(), Message.objects.count()) == (steps, messages)


def test_seed_refuses_negative_counts():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="must not be negative"):
        call_command("seed", customers=-1)


def test_demo_activity_mandates_holds_and_todays_statement_matched_once():
    from datetime import date

    from betaald.bank.models import BankTransaction, Mandate, Statement
    from betaald.demo.extensions import install_demo_extensions
    from betaald.demo.seeding import demo_organisation, seed
    from betaald.dunning.models import Hold
    from betaald.plans.models import Dispute, PaymentPlan, Promise

    today = date(2026, 11, 30)
    seed(customers=60, invoices=300, today=today)  # the demo as `betaald demo` makes it
    organisation = demo_organisation()
    install_demo_extensions(organisation, today=today)

    mandates = list(Mandate.objects.select_related("customer"))
    assert len(mandates) == 2
    assert all(m.customer.kind == "business" and m.status == "active" for m in mandates)
    assert PaymentPlan.objects.get().status == "active"
    promise, dispute = Promise.objects.get(), Dispute.objects.get()
    held = set(Hold.objects.values_list("kind", flat=True))
    assert {"plan", "promise", "dispute"} <= held
    customers = {PaymentPlan.objects.get().customer_id, promise.customer_id}
    assert dispute.invoice.customer_id not in customers  # each case its own customer

    statement = Statement.objects.get()
    lines = list(BankTransaction.objects.filter(statement=statement).order_by("pk"))
    assert len(lines) == 8
    assert {line.status for line in lines if line.structured_reference} == {"matched"}
    gift = next(line for line in lines if line.amount == Decimal("75.00"))
    assert gift.status == "review"  # a stranger: the review queue, never booked
    part = next(line for line in lines if line.remittance == "deelbetaling")
    assert part.status == "review"  # a known account, but half an invoice: a person decides
    assert part.candidates  # with the customer's invoices as candidates and why
    assert sum(1 for line in lines if line.status == "matched") == 5

    install_demo_extensions(organisation, today=today)
    assert Statement.objects.count() == 1
    assert BankTransaction.objects.count() == 8
    assert (Mandate.objects.count(), PaymentPlan.objects.count(), Dispute.objects.count()) == (
        2,
        1,
        1,
    )
