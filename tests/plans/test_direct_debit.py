"""Payment plan instalments collected by SEPA direct debit (issue 8 item 1, issue 7 item 3),
over simulated days through the real services: each day the bank's statement is imported and
matched, plans are evaluated, dunning runs, and a pain.008 is made for what is due.

The simulated bank reads the pain.008 files it receives (end-to-end id, mandate, IBAN, amount,
remittance) and credits each collection on its collection date as one batch entry; scripted
returns come back a few days later. A return of an instalment is a missed instalment under the
plan's terms: AM04 (insufficient funds) is presented once more, and the plan breaks only when
the grace period ends without the money.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from lxml import etree

from betaald.bank.models import BankAccount, DirectDebitLine, MandateStatus
from betaald.bank.sepa import (
    NothingToCollect,
    direct_debit_create,
    first_collection_on,
    mandate_create,
)
from betaald.bank.services import statement_file_import, transactions_match
from betaald.bank.statements import Entry, ParsedFile, Statement, Transaction
from betaald.dunning.services import dunning_run
from betaald.invoices.selectors import with_balance
from betaald.letters.models import Message, MessageKind
from betaald.plans.models import InstalmentStatus, PlanStatus
from betaald.plans.services import plan_create, plans_evaluate
from tests.factories import MembershipFactory
from tests.plans.conftest import invoice_for

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)  # a Monday
FIRST_DUE = date(2026, 3, 16)
DEBTOR_IBAN = "NL91ABNA0417164300"
CREDITOR_IBAN = "NL20INGB0001234567"  # the organisation's account (OrganisationFactory)


class Bank:
    """Receives pain.008 files and answers with statements: a credit per collection on its
    collection date, and the scripted returns (end-to-end id -> (days later, reason))."""

    def __init__(self, organisation, returns):
        self.organisation = organisation
        self.returns = returns
        self.credits = defaultdict(list)
        self.debits = defaultdict(list)
        self.files = 0

    def receive(self, batch):
        root = etree.fromstring(batch.xml.encode())
        ns = {"p": root.nsmap[None]}
        for tx in root.iterfind(".//p:DrctDbtTxInf", namespaces=ns):
            collection = Transaction(
                amount=Decimal(tx.findtext("p:InstdAmt", namespaces=ns)),
                currency="EUR",
                counterparty_name=tx.findtext("p:Dbtr/p:Nm", namespaces=ns),
                counterparty_iban=tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=ns),
                remittance=tx.findtext("p:RmtInf/p:Ustrd", namespaces=ns),
                end_to_end_id=tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns),
                mandate_id=tx.findtext(".//p:MndtId", namespaces=ns),
            )
            self.credits[batch.collection_on].append(collection)
            if collection.end_to_end_id in self.returns:
                later, reason = self.returns[collection.end_to_end_id]
                self.debits[batch.collection_on + timedelta(days=later)].append(
                    (collection, reason)
                )

    def statement_of(self, day):
        entries = []
        credits = tuple(self.credits.pop(day, ()))
        if credits:
            entries.append(
                Entry(
                    amount=sum((c.amount for c in credits), Decimal("0")),
                    currency="EUR",
                    is_credit=True,
                    booking_date=day,
                    value_date=day,
                    bank_reference=f"DD-{day}",
                    transactions=credits,
                )
            )
        for index, (collection, reason) in enumerate(self.debits.pop(day, ())):
            returned = Transaction(
                amount=collection.amount,
                currency="EUR",
                counterparty_iban=collection.counterparty_iban,
                end_to_end_id=collection.end_to_end_id,
                mandate_id=collection.mandate_id,
                is_return=True,
                return_reason=reason,
            )
            entries.append(
                Entry(
                    amount=collection.amount,
                    currency="EUR",
                    is_credit=False,
                    booking_date=day,
                    value_date=day,
                    bank_reference=f"RT-{day}-{index}",
                    is_return=True,
                    return_reason=reason,
                    transactions=(returned,),
                )
            )
        if not entries:
            return
        self.files += 1
        statement = Statement(
            identifier=f"{day}",
            account=CREDITOR_IBAN,
            currency="EUR",
            opening_balance=None,
            closing_balance=None,
            entries=tuple(entries),
        )
        statement_file_import(
            organisation=self.organisation,
            parsed=ParsedFile(format="test", statements=(statement,)),
            data=f"statement {day}".encode(),
        )
        transactions_match(organisation=self.organisation)


def live(organisation, bank, first, last, *, notice_days=2):
    """The daily jobs in order: the statement, plans, dunning, then the direct debit file for
    the first date the pre-notification allows."""
    day = first
    while day <= last:
        bank.statement_of(day)
        plans_evaluate(today=day, organisation=organisation, suggestions=False)
        dunning_run(today=day, organisation=organisation)
        try:
            batch = direct_debit_create(
                organisation=organisation,
                collection_on=first_collection_on(day, notice_days),
                today=day,
            )
        except NothingToCollect:
            pass
        else:
            bank.receive(batch)
        day += timedelta(days=1)


@pytest.fixture
def plan_with_mandate(organisation, business):
    organisation.sepa_creditor_id = "NL08ZZZ502057730000"
    organisation.save()
    BankAccount.objects.create(organisation=organisation, iban=CREDITOR_IBAN)
    mandate_create(
        organisation=organisation,
        customer=business,
        reference="MND-PLAN-1",
        signed_on=date(2026, 2, 20),
        iban=DEBTOR_IBAN,
        pre_notification_days=2,
    )
    invoices = [invoice_for(business, "1000.00"), invoice_for(business, "500.00")]  # 1815.00
    plan = plan_create(
        organisation=organisation,
        customer=business,
        invoices=invoices,
        actor=None,
        today=START,
        first_on=FIRST_DUE,
        count=3,
        grace_days=10,
        activate=True,
    )
    return plan, invoices


def collections_of(plan):
    return [
        (line.instalment.number, line.attempt, line.collection_on, str(line.amount))
        for line in DirectDebitLine.objects.filter(instalment__plan=plan).select_related(
            "instalment"
        )
    ]


def test_instalments_are_collected_one_am04_return_is_presented_again_and_the_plan_completes(
    organisation, plan_with_mandate
):
    plan, invoices = plan_with_mandate
    second = plan.instalments.get(number=2)
    bank = Bank(organisation, returns={f"PLAN{plan.pk}-T2-1": (4, "AM04")})
    live(organisation, bank, START, date(2026, 4, 21))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE  # the return left instalment 2 open, within grace
    second.refresh_from_db()
    assert second.status == InstalmentStatus.OPEN
    live(organisation, bank, date(2026, 4, 22), date(2026, 6, 1))
    assert collections_of(plan) == [
        (1, 1, date(2026, 3, 16), "605.00"),
        (2, 1, date(2026, 4, 16), "605.00"),
        (2, 2, date(2026, 4, 22), "605.00"),  # returned on 20 April, presented once more
        (3, 1, date(2026, 5, 18), "605.00"),  # due on Saturday 16 May: the next TARGET2 day
    ]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    assert plan.ended_on == date(2026, 5, 18)
    assert set(plan.instalments.values_list("status", flat=True)) == {InstalmentStatus.PAID}
    # the collected money is on the plan's invoices, and nothing more was collected
    assert [i.open_amount for i in with_balance(plan.invoices.order_by("pk"))] == [0, 0]
    assert plan.customer.mandates.get().status == MandateStatus.ACTIVE
    assert not DirectDebitLine.objects.filter(invoice__in=invoices).exists()
    # each collection was announced, at least the mandate's 2 days ahead; no transfer reminders
    notices = Message.objects.filter(kind=MessageKind.SEPA_PRE_NOTIFICATION).order_by("pk")
    announced = [
        (
            m.context["instalment"]["number"],
            m.context["direct_debit"]["collection_date"],
            m.context["direct_debit"]["amount"],
        )
        for m in notices
    ]
    assert announced == [(n, on.isoformat(), a) for n, _attempt, on, a in collections_of(plan)]
    for message in notices:
        debit = message.context["direct_debit"]
        ahead = date.fromisoformat(debit["collection_date"]) - date.fromisoformat(
            message.context["date"]
        )
        assert ahead.days >= 2
        assert debit["mandate_reference"] == "MND-PLAN-1"
        assert debit["creditor_id"] == "NL08ZZZ502057730000"
        assert debit["debtor_iban"] == DEBTOR_IBAN
        assert message.customer == plan.customer
    assert notices[0].context["payment_reference"] == invoices[0].payment_reference
    assert notices[3].context["payment_reference"] == invoices[1].payment_reference
    assert not Message.objects.filter(kind=MessageKind.PLAN_INSTALMENT_REMINDER).exists()
    assert not Message.objects.filter(kind=MessageKind.MANDATE_STOPPED).exists()


def test_a_second_am04_stops_the_mandate_and_the_plan_breaks_after_its_grace_days(
    organisation, plan_with_mandate
):
    plan, invoices = plan_with_mandate
    bank = Bank(
        organisation,
        returns={f"PLAN{plan.pk}-T2-1": (4, "AM04"), f"PLAN{plan.pk}-T2-2": (2, "AM04")},
    )
    live(organisation, bank, START, date(2026, 4, 26))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE  # 16 April + 10 grace days: still on 26 April
    assert plan.customer.mandates.get().status == MandateStatus.STOPPED
    live(organisation, bank, date(2026, 4, 27), date(2026, 6, 1))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert plan.ended_on == date(2026, 4, 27)
    assert plan.missed_instalment == 2
    assert [n for n, *_ in collections_of(plan)] == [1, 2, 2]  # no third attempt, no T3
    assert not plan.holds.filter(released_at__isnull=True).exists()  # dunning resumed
    assert sum(i.open_amount for i in with_balance(plan.invoices.all())) == Decimal("1210.00")
    [stopped] = Message.objects.filter(kind=MessageKind.MANDATE_STOPPED)
    assert stopped.context["direct_debit"] | {"creditor_id": "-"} == {
        "amount": "605.00",
        "collection_date": "2026-04-22",
        "returned_on": "2026-04-24",
        "return_code": "AM04",
        "mandate_reference": "MND-PLAN-1",
        "debtor_iban": DEBTOR_IBAN,
        "creditor_id": "-",
    }
    assert stopped.context["instalment"]["number"] == 2
    assert stopped.context["total"] == "605.00"  # pay the instalment by transfer instead
    assert stopped.context["payment_reference"] == invoices[0].payment_reference


@pytest.mark.parametrize("reason", ["MD01", "AC04", "MS02"])
def test_a_return_that_stops_the_mandate_is_not_presented_again(
    organisation, plan_with_mandate, reason
):
    plan, _invoices = plan_with_mandate
    bank = Bank(organisation, returns={f"PLAN{plan.pk}-T1-1": (3, reason)})
    live(organisation, bank, START, date(2026, 3, 27))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    assert (plan.missed_instalment, plan.ended_on) == (1, date(2026, 3, 27))
    assert collections_of(plan) == [(1, 1, date(2026, 3, 16), "605.00")]
    mandate = plan.customer.mandates.get()
    assert (mandate.status, mandate.stopped_reason) == (MandateStatus.STOPPED, reason)
    [stopped] = Message.objects.filter(kind=MessageKind.MANDATE_STOPPED)
    assert stopped.context["direct_debit"]["return_code"] == reason
    assert stopped.unique_key == f"sepa:mandate-stopped:{mandate.pk}"
    # the plan goes back to reminders by transfer once the mandate is stopped: the reminder
    # of instalment 2 is not sent because the plan broke first (on 27 March)
    assert not Message.objects.filter(kind=MessageKind.PLAN_INSTALMENT_REMINDER).exists()


def test_the_plan_page_shows_the_collections_and_links_the_files(
    organisation, plan_with_mandate, client, owner, settings
):
    from django.urls import reverse

    plan, _invoices = plan_with_mandate
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    assert "Collected by direct debit (mandate MND-PLAN-1, NL91ABNA0417164300)" in page
    assert page.count("to be collected") == 3
    bank = Bank(organisation, returns={f"PLAN{plan.pk}-T1-1": (3, "AM04")})
    live(organisation, bank, START, date(2026, 3, 19))
    batch = DirectDebitLine.objects.get(end_to_end_id=f"PLAN{plan.pk}-T1-1").batch
    page = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    assert "collected on 03/16/2026 (€\xa0605,00)" in page
    assert "collected on 03/23/2026 (€\xa0605,00)" in page  # AM04: presented once more
    assert reverse("bank:direct_debit_file", args=[batch.pk]) in page
    assert "returned (AM04)" in page
    download = client.get(reverse("bank:direct_debit_file", args=[batch.pk]))
    assert download["Content-Type"] == "application/xml"
    assert download.content.decode() == batch.xml
    other = MembershipFactory().user  # another organisation: the file is not there
    client.force_login(other)
    assert client.get(reverse("bank:direct_debit_file", args=[batch.pk])).status_code == 404


def test_a_retry_and_the_next_instalment_in_one_file_name_different_invoices(
    organisation, plan_with_mandate
):
    """The matcher books one payment per invoice per statement: two collections of one plan in
    one file each carry the kenmerk of another open plan invoice, so both are booked."""
    from betaald.bank.models import BankTransaction, TransactionStatus

    plan, invoices = plan_with_mandate
    plan.instalments.all().delete()
    for number in range(1, 4):  # weekly: 16, 23 and 30 March
        plan.instalments.create(
            number=number, due_on=FIRST_DUE + timedelta(weeks=number - 1), amount="605.00"
        )
    bank = Bank(organisation, returns={f"PLAN{plan.pk}-T2-1": (3, "AM04")})
    live(organisation, bank, START, date(2026, 4, 3))
    lines = DirectDebitLine.objects.filter(collection_on=date(2026, 3, 30)).order_by("pk")
    assert [(line.end_to_end_id, line.remittance.split()[-1]) for line in lines] == [
        (f"PLAN{plan.pk}-T2-2", invoices[0].payment_reference),
        (f"PLAN{plan.pk}-T3-1", invoices[1].payment_reference),
    ]
    credits = BankTransaction.objects.filter(is_credit=True)
    assert set(credits.values_list("status", flat=True)) == {TransactionStatus.MATCHED}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    assert [i.open_amount for i in with_balance(plan.invoices.order_by("pk"))] == [0, 0]
