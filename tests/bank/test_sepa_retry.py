"""An open invoice collected by direct debit and returned with AM04 (insufficient funds) is
presented once more in the next file (issue 7: "retry once for AM04"), under its own
end-to-end id so that a second return finds the second payment; a second AM04 stops the
mandate and tells the customer."""

from __future__ import annotations

from datetime import date

import pytest

from betaald.bank.models import BankAccount, BankTransaction, DirectDebitLine, MandateStatus
from betaald.bank.sepa import NothingToCollect, direct_debit_create
from betaald.invoices.selectors import invoice_open_amount
from betaald.letters.models import Message, MessageKind
from tests.bank.test_sepa_messages import entry, statement, with_mandate
from tests.factories import OrganisationFactory, issued_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def organisation():
    organisation = OrganisationFactory(sepa_creditor_id="NL08ZZZ502057730000")
    BankAccount.objects.create(organisation=organisation, iban=organisation.iban)
    return organisation


@pytest.mark.parametrize("second_return", [False, True])
def test_an_am04_return_is_presented_once_more(organisation, second_return):
    customer = with_mandate(organisation, "M-1")
    invoice = issued_invoice(customer, amount="100.00")
    reference = invoice.payment_reference
    direct_debit_create(
        organisation=organisation, collection_on=date(2026, 3, 16), today=date(2026, 3, 2)
    )
    statement(organisation, "credit-1", [entry(date(2026, 3, 16), "121.00", reference, "M-1")])
    statement(
        organisation,
        "return-1",
        [entry(date(2026, 3, 19), "121.00", reference, "M-1", reason="AM04")],
    )
    assert invoice_open_amount(invoice) == 121
    retry = direct_debit_create(
        organisation=organisation, collection_on=date(2026, 4, 2), today=date(2026, 3, 19)
    )
    [line] = retry.lines.all()
    assert (line.invoice, line.attempt, line.end_to_end_id) == (invoice, 2, f"{reference}-R2")
    assert f"<EndToEndId>{reference}-R2</EndToEndId>" in retry.xml
    assert Message.objects.filter(kind=MessageKind.SEPA_PRE_NOTIFICATION).count() == 2
    with pytest.raises(NothingToCollect):  # presented again: not a third time meanwhile
        direct_debit_create(
            organisation=organisation, collection_on=date(2026, 4, 3), today=date(2026, 3, 20)
        )
    statement(
        organisation, "credit-2", [entry(date(2026, 4, 2), "121.00", f"{reference}-R2", "M-1")]
    )
    assert invoice_open_amount(invoice) == 0
    if not second_return:
        assert customer.mandates.get().status == MandateStatus.ACTIVE
        return
    statement(
        organisation,
        "return-2",
        [entry(date(2026, 4, 6), "121.00", f"{reference}-R2", "M-1", reason="AM04")],
    )
    assert invoice_open_amount(invoice) == 121  # the second payment was reversed, once
    second = BankTransaction.objects.get(is_return=True, end_to_end_id=f"{reference}-R2")
    assert second.status == "return_reversed"
    assert customer.mandates.get().status == MandateStatus.STOPPED
    [stopped] = Message.objects.filter(kind=MessageKind.MANDATE_STOPPED)
    assert stopped.context["direct_debit"]["collection_date"] == "2026-04-02"
    with pytest.raises(NothingToCollect):
        direct_debit_create(
            organisation=organisation, collection_on=date(2026, 4, 24), today=date(2026, 4, 7)
        )
    assert DirectDebitLine.objects.count() == 2
