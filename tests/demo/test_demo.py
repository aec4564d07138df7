"""`betaald demo` and `betaald seed`: a populated, valid demo, and a second run adds nothing."""

from __future__ import annotations

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
