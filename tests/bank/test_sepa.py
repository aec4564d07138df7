"""SEPA direct debit: mandates refuse bad IBANs, generated pain.008 files validate against the
official XSD (001.001.02 and 001.001.08), D-1 on TARGET2 days, pre-notification, and the
action per return reason (AM04 retry once, MD01/AC04/MS02 stop)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from lxml import etree

from betaald.bank.models import MandateStatus, SequenceType
from betaald.bank.selectors import customers_with_repeated_returns
from betaald.bank.sepa import (
    TARGET2,
    DirectDebitError,
    direct_debit_create,
    earliest_collection_on,
    mandate_after_return,
    mandate_amend,
    mandate_create,
    validate_pain008,
)
from betaald.identifiers import InvalidIdentifier
from tests.factories import CustomerFactory, OrganisationFactory, issued_invoice

REALDATA = Path(settings.SHARED_DIR) / "realdata"
TODAY = date(2026, 3, 2)  # a Monday
DEBTOR_IBAN = "NL91ABNA0417164300"


@pytest.mark.parametrize(
    ("relative", "version"),
    [
        ("pain008/ing_pain008-001-02_voorbeeldbestand.xml", "pain.008.001.02"),
        ("pain008/php-sepa-xml_pain008-001-08.xml", "pain.008.001.08"),
    ],
)
def test_the_shipped_xsds_accept_the_real_bank_examples(relative, version):
    """ING's voorbeeldbestand (misspelt xsi namespace, harmless) and php-sepa-xml's 001.08."""
    validate_pain008((REALDATA / relative).read_bytes(), version)


def test_an_invalid_pain008_names_the_line():
    with pytest.raises(DirectDebitError, match="does not validate at line"):
        validate_pain008(
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"><x/></Document>',
            "pain.008.001.02",
        )


@pytest.mark.parametrize(
    ("today", "earliest"),
    [
        (date(2026, 3, 2), date(2026, 3, 3)),  # Monday -> Tuesday
        (date(2026, 3, 6), date(2026, 3, 9)),  # Friday -> Monday
        (date(2026, 4, 2), date(2026, 4, 7)),  # Thursday before Good Friday and Easter Monday
        (date(2026, 12, 24), date(2026, 12, 28)),  # Christmas and Boxing Day closed
        (date(2026, 4, 30), date(2026, 5, 4)),  # 1 May closed
    ],
)
def test_earliest_collection_is_one_target2_business_day_later(today, earliest):
    assert earliest_collection_on(today) == earliest


def test_target2_only_knows_dates():
    assert "2026-01-01" not in TARGET2
    assert date(2026, 1, 1) in TARGET2


pytestmark = pytest.mark.django_db


@pytest.fixture
def organisation():
    return OrganisationFactory(sepa_creditor_id="NL08ZZZ502057730000")


def test_a_mandate_with_a_bad_iban_checksum_is_refused(organisation):
    customer = CustomerFactory(organisation=organisation)
    with pytest.raises(InvalidIdentifier):
        mandate_create(
            organisation=organisation,
            customer=customer,
            reference="M-1",
            signed_on=date(2026, 1, 1),
            iban="NL91ABNA0417164301",
        )


def test_mandate_input_rules(organisation):
    customer = CustomerFactory(organisation=organisation)
    kwargs = {"organisation": organisation, "signed_on": date(2026, 1, 1), "iban": DEBTOR_IBAN}
    mandate_create(customer=customer, reference="M-1", **kwargs)
    with pytest.raises(DirectDebitError, match="exists already"):
        mandate_create(customer=customer, reference="M-1", **kwargs)
    with pytest.raises(DirectDebitError, match="1 to 35"):
        mandate_create(customer=customer, reference=" ", **kwargs)
    with pytest.raises(DirectDebitError, match="CORE or B2B"):
        mandate_create(customer=customer, reference="M-2", scheme="XX", **kwargs)
    with pytest.raises(DirectDebitError, match="unknown customer"):
        mandate_create(customer=CustomerFactory(), reference="M-3", **kwargs)


@pytest.mark.parametrize("version", ["pain.008.001.02", "pain.008.001.08"])
def test_collecting_open_invoices_gives_a_valid_pain008(organisation, version):
    customer = CustomerFactory(organisation=organisation, name="Bakkerij Ünal")
    first = issued_invoice(customer, amount="100.00")
    second = issued_invoice(customer, amount="50.00", issued_on=date(2026, 1, 6))
    CustomerFactory(organisation=organisation)  # no mandate: not collected
    mandate = mandate_create(
        organisation=organisation,
        customer=customer,
        reference="MND-2026-001",
        signed_on=date(2026, 1, 1),
        iban="NL91 ABNA 0417 1643 00",
        bic="ABNANL2A",
    )
    batch = direct_debit_create(
        organisation=organisation,
        collection_on=date(2026, 3, 20),
        today=TODAY,
        version=version,
    )
    assert batch.count == 2
    assert batch.total == Decimal("181.50")
    root = etree.fromstring(batch.xml.encode())
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "181.50"
    assert root.findtext(".//p:SeqTp", namespaces=ns) == "FRST"
    assert root.findtext(".//p:MndtId", namespaces=ns) == "MND-2026-001"
    assert {e.text for e in root.iterfind(".//p:EndToEndId", namespaces=ns)} == {
        first.payment_reference,
        second.payment_reference,
    }
    mandate.refresh_from_db()
    assert mandate.sequence == SequenceType.RECURRING  # the next collection is RCUR


def test_collection_date_rules(organisation):
    customer = CustomerFactory(organisation=organisation)
    issued_invoice(customer, amount="10.00")
    mandate_create(
        organisation=organisation,
        customer=customer,
        reference="M-1",
        signed_on=date(2026, 1, 1),
        iban=DEBTOR_IBAN,
        pre_notification_days=5,
    )
    with pytest.raises(DirectDebitError, match="earliest"):
        direct_debit_create(organisation=organisation, collection_on=TODAY, today=TODAY)
    with pytest.raises(DirectDebitError, match="pre-notification period of mandate"):
        direct_debit_create(organisation=organisation, collection_on=date(2026, 3, 4), today=TODAY)
    with pytest.raises(DirectDebitError, match="version"):
        direct_debit_create(
            organisation=organisation, collection_on=date(2026, 3, 9), today=TODAY, version="x"
        )
    organisation.bic = ""
    with pytest.raises(DirectDebitError, match="BIC"):
        direct_debit_create(organisation=organisation, collection_on=date(2026, 3, 9), today=TODAY)
    batch = direct_debit_create(
        organisation=organisation,
        collection_on=date(2026, 3, 9),
        today=TODAY,
        version="pain.008.001.08",
    )
    assert batch.count == 1


def test_no_creditor_id_or_nothing_to_collect_is_refused(organisation):
    with pytest.raises(DirectDebitError, match="no open invoice"):
        direct_debit_create(organisation=organisation, collection_on=date(2026, 4, 1), today=TODAY)
    organisation.sepa_creditor_id = ""
    with pytest.raises(DirectDebitError, match="creditor id"):
        direct_debit_create(organisation=organisation, collection_on=date(2026, 4, 1), today=TODAY)


def test_returns_act_on_the_mandate(organisation):
    customer = CustomerFactory(organisation=organisation)
    kwargs = {"organisation": organisation, "signed_on": date(2026, 1, 1), "iban": DEBTOR_IBAN}
    mandate = mandate_create(customer=customer, reference="M-1", **kwargs)
    assert mandate_after_return(
        organisation=organisation, mandate_reference="M-1", reason="AM04"
    ) == ("retry")
    assert mandate_after_return(
        organisation=organisation, mandate_reference="M-1", reason="AM04"
    ) == ("stopped")
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.STOPPED
    other = mandate_create(customer=customer, reference="M-2", **kwargs)
    assert mandate_after_return(
        organisation=organisation, mandate_reference="M-2", reason="MD06"
    ) == ("none")
    assert mandate_after_return(
        organisation=organisation, mandate_reference="M-2", reason="MS02"
    ) == ("stopped")
    other.refresh_from_db()
    assert other.stopped_reason == "MS02"
    assert mandate_after_return(
        organisation=organisation, mandate_reference="M-9", reason="AC04"
    ) == ("none")


def test_a_final_or_one_off_collection_ends_the_mandate(organisation):
    customer = CustomerFactory(organisation=organisation)
    issued_invoice(customer, amount="10.00")
    mandate = mandate_create(
        organisation=organisation,
        customer=customer,
        reference="M-1",
        signed_on=date(2026, 1, 1),
        iban=DEBTOR_IBAN,
    )
    mandate.sequence = SequenceType.ONE_OFF
    mandate.save()
    direct_debit_create(organisation=organisation, collection_on=date(2026, 3, 20), today=TODAY)
    mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ENDED


def test_amending_the_iban_keeps_the_original(organisation):
    customer = CustomerFactory(organisation=organisation)
    mandate = mandate_create(
        organisation=organisation,
        customer=customer,
        reference="M-1",
        signed_on=date(2026, 1, 1),
        iban=DEBTOR_IBAN,
    )
    mandate_amend(mandate=mandate, iban="NL20INGB0001234567")
    mandate_amend(mandate=mandate, iban="NL20INGB0001234567")  # no change: no-op
    mandate.refresh_from_db()
    assert (mandate.iban, mandate.original_iban) == ("NL20INGB0001234567", DEBTOR_IBAN)
    with pytest.raises(InvalidIdentifier):
        mandate_amend(mandate=mandate, iban="NL20INGB0001234568")


def test_a_returned_collection_stops_the_mandate_and_flags_repeat_customers(organisation):
    from betaald.bank.models import BankAccount, BankTransaction, TransactionStatus
    from betaald.bank.services import statement_file_import, transactions_match
    from betaald.bank.statements import Entry, ParsedFile, Statement, Transaction

    BankAccount.objects.create(organisation=organisation, iban="NL77INGB0574908765")
    customer = CustomerFactory(organisation=organisation)
    mandate_create(
        organisation=organisation,
        customer=customer,
        reference="M-1",
        signed_on=date(2026, 1, 1),
        iban=DEBTOR_IBAN,
    )

    def line(reference, amount, *, is_return, reason=""):
        tx = Transaction(
            amount=Decimal(amount),
            currency="EUR",
            counterparty_iban=DEBTOR_IBAN,
            mandate_id="M-1",
            end_to_end_id=reference,
            structured_reference="" if is_return else reference,
            is_return=is_return,
            return_reason=reason,
        )
        return Entry(
            amount=Decimal(amount),
            currency="EUR",
            is_credit=not is_return,
            booking_date=TODAY,
            value_date=TODAY,
            bank_reference=f"{reference}-{is_return}",
            is_return=is_return,
            return_reason=reason,
            transactions=(tx,),
        )

    invoice = issued_invoice(customer, amount="10.00")
    other = issued_invoice(customer, amount="20.00", issued_on=date(2026, 1, 6))
    entries = (
        line(invoice.payment_reference, "12.10", is_return=False),
        line(other.payment_reference, "24.20", is_return=False),
    )
    returns = (
        line(invoice.payment_reference, "12.10", is_return=True, reason="MS02"),
        line(other.payment_reference, "24.20", is_return=True, reason="MS02"),
    )
    for index, batch in enumerate((entries, returns)):
        statement = Statement(
            identifier=f"S{index}",
            account="NL77INGB0574908765",
            currency="EUR",
            opening_balance=None,
            closing_balance=None,
            entries=batch,
        )
        statement_file_import(
            organisation=organisation,
            parsed=ParsedFile(format="test", statements=(statement,)),
            data=f"{index}".encode(),
        )
        transactions_match(organisation=organisation)
    assert BankTransaction.objects.filter(status=TransactionStatus.RETURN_REVERSED).count() == 2
    assert customer.mandates.get().status == MandateStatus.STOPPED
    assert customers_with_repeated_returns(organisation) == [customer.pk]


def test_cli_writes_a_valid_direct_debit_file(organisation, tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    customer = CustomerFactory(organisation=organisation)
    issued_invoice(customer, amount="10.00")
    mandate_create(
        organisation=organisation,
        customer=customer,
        reference="M-1",
        signed_on=date(2026, 1, 1),
        iban=DEBTOR_IBAN,
    )
    output = tmp_path / "dd.xml"
    args = ["bank", "direct-debit", "--organisation", str(organisation.pk), "--date", "2026-03-02"]
    call_command(
        *args, "--collection-date", "2026-03-20", "--output", str(output), stderr=StringIO()
    )
    validate_pain008(output.read_bytes(), "pain.008.001.02")
    with pytest.raises(CommandError, match="earliest"):
        call_command(*args, "--collection-date", "2026-03-02")
    with pytest.raises(CommandError, match="not a date"):
        call_command(*args, "--collection-date", "soon")
    with pytest.raises(CommandError, match="no open invoice"):  # pending: never collected twice
        call_command(*args, "--collection-date", "2026-03-23")
    issued_invoice(customer, amount="20.00", issued_on=date(2026, 1, 6))
    out = StringIO()
    call_command(
        *args, "--collection-date", "2026-03-23", "--version", "pain.008.001.08", stdout=out
    )
    validate_pain008(out.getvalue().encode(), "pain.008.001.08")


def test_cli_first_collection_date_for_a_daily_run(organisation):
    """`--collection-date first`: the first TARGET2 day after the longest pre-notification of
    the active mandates; nothing to collect is not an error then (a daily run moves on)."""
    from io import StringIO

    from django.core.management import call_command

    from betaald.bank.models import DirectDebitBatch

    customer = CustomerFactory(organisation=organisation)
    issued_invoice(customer, amount="10.00")
    for reference, days in (("M-1", 5), ("M-2", 9)):
        mandate_create(
            organisation=organisation,
            customer=customer if reference == "M-1" else CustomerFactory(organisation=organisation),
            reference=reference,
            signed_on=date(2026, 1, 1),
            iban=DEBTOR_IBAN,
            pre_notification_days=days,
        )
    args = ["bank", "direct-debit", "--organisation", str(organisation.pk)]
    args += ["--date", "2026-03-02", "--collection-date", "first"]
    call_command(*args, stdout=StringIO())
    batch = DirectDebitBatch.objects.get()
    assert batch.collection_on == date(2026, 3, 11)  # 2 March + 9 days, a Wednesday
    err = StringIO()
    call_command(*args, stdout=StringIO(), stderr=err)  # again: nothing left, no error
    assert "no open invoice or plan instalment" in err.getvalue()
    assert DirectDebitBatch.objects.count() == 1
