"""Matching imported transactions: unambiguous matches are booked through the payments service
(allocation per art. 6:43/6:44 BW), the rest waits in the review queue; accepting learns the
IBAN; returns reverse the payment they undo."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from betaald.audit.models import Event
from betaald.bank.models import BankAccount, BankTransaction, TransactionStatus
from betaald.bank.services import (
    ReviewError,
    statement_file_import,
    transaction_accept,
    transaction_not_ours,
    transaction_split,
    transactions_match,
)
from betaald.bank.statements import Balance, Entry, ParsedFile, Statement, Transaction
from betaald.debtors.models import CustomerIban
from betaald.invoices.selectors import invoice_open_amount
from betaald.payments.models import Payment
from tests.factories import CustomerFactory, OrganisationFactory, issued_invoice

pytestmark = pytest.mark.django_db

ACCOUNT = "NL91ABNA0417164300"
REFERENCES = itertools.count(1)
PAYER = "NL02ABNA0123456789"


@pytest.fixture
def organisation():
    organisation = OrganisationFactory()
    BankAccount.objects.create(organisation=organisation, iban=ACCOUNT)
    return organisation


def receive(organisation, *lines, currency="EUR"):
    """Import one statement with `lines` (dicts of Transaction fields + is_credit/is_return)."""
    entries = []
    for fields in lines:
        fields = dict(fields)
        is_credit = fields.pop("is_credit", True)
        amount = Decimal(fields.pop("amount"))
        tx = Transaction(amount=amount, currency=currency, **fields)
        entries.append(
            Entry(
                amount=amount,
                currency=currency,
                is_credit=is_credit,
                booking_date=date(2026, 3, 2),
                value_date=date(2026, 3, 2),
                bank_reference=f"REF{next(REFERENCES)}",
                is_return=tx.is_return,
                return_reason=tx.return_reason,
                transactions=(tx,),
            )
        )
    statement = Statement(
        identifier="T",
        account=ACCOUNT,
        currency=currency,
        opening_balance=Balance(Decimal("0"), currency, date(2026, 3, 1)),
        closing_balance=None,
        entries=tuple(entries),
    )
    result = statement_file_import(
        organisation=organisation,
        parsed=ParsedFile(format="test", statements=(statement,)),
        data=repr(lines).encode(),
    )
    return result


def match(organisation):
    return transactions_match(organisation=organisation)


def test_betalingskenmerk_and_amount_books_the_payment_and_closes_the_invoice(organisation):
    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="100.00")  # 121.00 incl. VAT
    receive(
        organisation,
        {
            "amount": "121.00",
            "structured_reference": invoice.payment_reference,
            "counterparty_iban": PAYER,
        },
    )
    assert match(organisation) == {"matched": 1}
    tx = BankTransaction.objects.get()
    assert tx.status == TransactionStatus.MATCHED
    assert tx.customer == customer
    assert tx.candidates[0]["reason"] == "reference"
    payment = tx.payments.get()
    assert payment.amount == Decimal("121.00")
    assert payment.received_on == date(2026, 3, 2)
    assert payment.counterparty_iban == PAYER
    assert invoice_open_amount(invoice) == Decimal("0.00")
    assert Event.objects.filter(name="bank.transaction.matched").count() == 1
    assert Event.objects.filter(name="payments.payment.registered").count() == 1


def test_invoice_number_in_the_text_books_the_payment(organisation):
    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="50.00")
    receive(organisation, {"amount": "60.50", "remittance": f"factuur {invoice.number} dank"})
    assert match(organisation) == {"matched": 1}
    assert invoice_open_amount(invoice) == Decimal("0.00")


def test_matching_twice_books_nothing_twice(organisation):
    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="100.00")
    receive(organisation, {"amount": "121.00", "structured_reference": invoice.payment_reference})
    match(organisation)
    assert match(organisation) == {}
    assert Payment.objects.count() == 1


def test_an_overpayment_is_booked_and_the_rest_stays_customer_credit(organisation):
    from betaald.payments.services import customer_credit

    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="100.00")
    receive(organisation, {"amount": "150.00", "structured_reference": invoice.payment_reference})
    assert match(organisation) == {"matched": 1}
    assert invoice_open_amount(invoice) == Decimal("0.00")
    assert customer_credit(customer) == Decimal("29.00")


def test_ambiguous_lines_go_to_review_with_their_candidates(organisation):
    customer = CustomerFactory(organisation=organisation)
    CustomerIban.objects.create(customer=customer, iban=PAYER)
    issued_invoice(customer, amount="100.00")
    issued_invoice(customer, amount="100.00", issued_on=date(2026, 1, 6))
    receive(organisation, {"amount": "121.00", "counterparty_iban": PAYER})
    assert match(organisation) == {"review": 1}
    tx = BankTransaction.objects.get()
    assert tx.status == TransactionStatus.REVIEW
    assert [c["reason"] for c in tx.candidates] == ["exact_amount", "exact_amount"]
    assert Payment.objects.count() == 0


def test_an_unknown_payer_goes_to_review_without_candidates(organisation):
    receive(organisation, {"amount": "12.34", "remittance": "gift"})
    assert match(organisation) == {"review": 1}
    assert BankTransaction.objects.get().candidates == []


def test_accepting_a_candidate_books_it_and_learns_the_new_iban(organisation):
    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="50.00")
    new_iban = "NL44RABO0123456789"
    receive(
        organisation,
        {"amount": "30.00", "remittance": invoice.number, "counterparty_iban": new_iban},
    )
    match(organisation)
    tx = BankTransaction.objects.get()
    assert tx.status == TransactionStatus.REVIEW  # number found but the amount differs
    transaction_accept(organisation=organisation, transaction_id=tx.pk, candidate_index=0)
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.ACCEPTED
    assert invoice_open_amount(invoice) == Decimal("30.50")
    assert CustomerIban.objects.filter(customer=customer, iban=new_iban).exists()
    with pytest.raises(ReviewError):
        transaction_accept(organisation=organisation, transaction_id=tx.pk, candidate_index=0)


def test_accept_refuses_an_unknown_candidate(organisation):
    receive(organisation, {"amount": "1.00"})
    match(organisation)
    tx = BankTransaction.objects.get()
    with pytest.raises(ReviewError, match="no such candidate"):
        transaction_accept(organisation=organisation, transaction_id=tx.pk, candidate_index=0)


def test_split_books_one_payment_per_invoice_and_must_add_up(organisation):
    customer = CustomerFactory(organisation=organisation)
    first = issued_invoice(customer, amount="100.00")
    second = issued_invoice(customer, amount="10.00", issued_on=date(2026, 1, 6))
    receive(organisation, {"amount": "133.10", "counterparty_iban": PAYER})
    match(organisation)
    tx = BankTransaction.objects.get()
    with pytest.raises(ReviewError, match="add up"):
        transaction_split(
            organisation=organisation,
            transaction_id=tx.pk,
            customer_id=customer.pk,
            parts=[(first.pk, Decimal("121.00"))],
        )
    transaction_split(
        organisation=organisation,
        transaction_id=tx.pk,
        customer_id=customer.pk,
        parts=[(first.pk, Decimal("121.00")), (second.pk, Decimal("12.10"))],
    )
    assert invoice_open_amount(first) == Decimal("0.00")
    assert invoice_open_amount(second) == Decimal("0.00")
    assert Payment.objects.count() == 2
    assert CustomerIban.objects.filter(customer=customer, iban=PAYER).exists()


def test_split_refuses_invoices_of_another_customer(organisation):
    customer = CustomerFactory(organisation=organisation)
    other = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(other, amount="10.00")
    receive(organisation, {"amount": "12.10"})
    match(organisation)
    tx = BankTransaction.objects.get()
    with pytest.raises(ReviewError, match="customer's"):
        transaction_split(
            organisation=organisation,
            transaction_id=tx.pk,
            customer_id=customer.pk,
            parts=[(invoice.pk, Decimal("12.10"))],
        )
    with pytest.raises(ReviewError, match="positive"):
        transaction_split(
            organisation=organisation,
            transaction_id=tx.pk,
            customer_id=customer.pk,
            parts=[(invoice.pk, Decimal("12.10")), (invoice.pk, Decimal("0"))],
        )
    with pytest.raises(ReviewError, match="at least one"):
        transaction_split(
            organisation=organisation, transaction_id=tx.pk, customer_id=customer.pk, parts=[]
        )


def test_not_ours_leaves_the_queue(organisation):
    receive(organisation, {"amount": "5.00"})
    match(organisation)
    tx = BankTransaction.objects.get()
    transaction_not_ours(organisation=organisation, transaction_id=tx.pk)
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.NOT_OURS
    assert Event.objects.filter(name="bank.transaction.not_ours").count() == 1


def test_review_actions_are_scoped_to_the_organisation(organisation):
    receive(organisation, {"amount": "5.00"})
    match(organisation)
    tx = BankTransaction.objects.get()
    with pytest.raises(ReviewError, match="no such"):
        transaction_not_ours(organisation=OrganisationFactory(), transaction_id=tx.pk)


def test_outgoing_and_foreign_lines_cannot_be_booked(organisation):
    receive(organisation, {"amount": "5.00", "is_credit": False})
    tx = BankTransaction.objects.get()
    assert tx.status == TransactionStatus.OUTGOING
    with pytest.raises(ReviewError):
        transaction_not_ours(organisation=organisation, transaction_id=tx.pk)


def test_a_return_reverses_the_payment_and_reopens_the_invoice(organisation):
    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="100.00")
    receive(
        organisation,
        {
            "amount": "121.00",
            "structured_reference": invoice.payment_reference,
            "counterparty_iban": PAYER,
            "end_to_end_id": "E2E-1",
        },
    )
    match(organisation)
    assert invoice_open_amount(invoice) == Decimal("0.00")
    receive(
        organisation,
        {
            "amount": "121.00",
            "is_credit": False,
            "is_return": True,
            "return_reason": "AM04",
            "end_to_end_id": "E2E-1",
            "counterparty_iban": PAYER,
        },
    )
    assert match(organisation) == {"return_reversed": 1}
    returned = BankTransaction.objects.get(is_return=True)
    assert returned.status == TransactionStatus.RETURN_REVERSED
    assert returned.payments.get().amount == Decimal("-121.00")
    assert invoice_open_amount(invoice) == Decimal("121.00")


def test_a_return_without_a_known_payment_waits_for_review(organisation):
    receive(
        organisation,
        {"amount": "10.00", "is_credit": False, "is_return": True, "return_reason": "MD06"},
    )
    assert match(organisation) == {"return_review": 1}
    tx = BankTransaction.objects.get()
    assert tx.status == TransactionStatus.RETURN_REVIEW
    transaction_not_ours(organisation=organisation, transaction_id=tx.pk)  # dismissed
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.NOT_OURS


def test_non_eur_lines_are_never_matched(organisation):
    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="100.00")
    receive(
        organisation,
        {"amount": "121.00", "structured_reference": invoice.payment_reference},
        currency="USD",
    )
    assert match(organisation) == {}
    assert BankTransaction.objects.get().status == TransactionStatus.FOREIGN_CURRENCY
    assert Payment.objects.count() == 0


def test_a_payment_and_its_return_in_one_statement_find_each_other(organisation):
    customer = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(customer, amount="100.00")
    receive(
        organisation,
        {
            "amount": "121.00",
            "is_credit": False,
            "is_return": True,
            "return_reason": "AC04",
            "end_to_end_id": "E2E-9",
        },
        {
            "amount": "121.00",
            "structured_reference": invoice.payment_reference,
            "end_to_end_id": "E2E-9",
        },
    )
    assert match(organisation) == {"matched": 1, "return_reversed": 1}
    assert invoice_open_amount(invoice) == Decimal("121.00")
