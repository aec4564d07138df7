"""Mandate amendments in pain.008 (EPC SDD Core rulebook, AT-24 "reason for amendment";
Betaalvereniging implementation guidelines for pain.008): sepaxml writes no amendment, so
`with_amendments` adds ``AmdmntInd`` + ``AmdmntInfDtls`` and the file is validated again against
the official XSDs in realdata/xsd.

- a new mandate reference: ``OrgnlMndtId`` is the old one;
- a new account at the same bank: ``OrgnlDbtrAcct/Id/IBAN`` is the old account;
- a new account at another bank: ``OrgnlDbtrAgt/FinInstnId/Othr/Id`` = "SMNDA" and the
  collection is a FRST;
- after the first collection that reports it, the amendment is forgotten.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import pytest
from django.conf import settings
from lxml import etree

from betaald.audit.models import Event
from betaald.bank.models import MandateStatus, SequenceType
from betaald.bank.sepa import DirectDebitError, direct_debit_create, mandate_amend, mandate_create
from tests.factories import CustomerFactory, OrganisationFactory, issued_invoice

pytestmark = pytest.mark.django_db

XSD = Path(settings.SHARED_DIR) / "realdata" / "xsd"
TODAY = date(2026, 3, 2)
ABN = "NL91ABNA0417164300"
ABN_OTHER = "NL02ABNA0123456789"
ING = "NL20INGB0001234567"
VERSIONS = ["pain.008.001.02", "pain.008.001.08"]


@cache
def official_schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD / f"{version}.xsd")))


def parsed(batch, version):
    """The batch's XML, checked against the official XSD from realdata (not the shipped copy)."""
    root = etree.fromstring(batch.xml.encode())
    schema = official_schema(version)
    assert schema.validate(root), schema.error_log
    return root, {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}


def transaction_of(root, ns, mandate_reference):
    (tx,) = [
        tx
        for tx in root.iterfind(".//p:DrctDbtTxInf", namespaces=ns)
        if tx.findtext(".//p:MndtId", namespaces=ns) == mandate_reference
    ]
    return tx


def sequence_of(tx, ns):
    return tx.getparent().findtext("p:PmtTpInf/p:SeqTp", namespaces=ns)


@pytest.fixture
def organisation():
    return OrganisationFactory(sepa_creditor_id="NL08ZZZ502057730000")


@pytest.fixture
def customer(organisation):
    return CustomerFactory(organisation=organisation)


@pytest.fixture
def mandate(organisation, customer):
    return mandate_create(
        organisation=organisation,
        customer=customer,
        reference="MND-1",
        signed_on=date(2026, 1, 1),
        iban=ABN,
        pre_notification_days=5,
    )


def collect(organisation, customer, version, *, on, amount="10.00"):
    issued_invoice(customer, amount=amount)
    return direct_debit_create(
        organisation=organisation, collection_on=on, today=TODAY, version=version
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_account_at_the_same_bank_reports_the_original_account_once(
    organisation, customer, mandate, version
):
    collect(organisation, customer, version, on=date(2026, 3, 9))  # FRST done, now RCUR
    mandate_amend(mandate=mandate, iban=ABN_OTHER)
    root, ns = parsed(collect(organisation, customer, version, on=date(2026, 3, 10)), version)
    tx = transaction_of(root, ns, "MND-1")
    assert tx.findtext(".//p:AmdmntInd", namespaces=ns) == "true"
    details = tx.find(".//p:AmdmntInfDtls", namespaces=ns)
    assert details.findtext("p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=ns) == ABN
    assert details.find("p:OrgnlDbtrAgt", namespaces=ns) is None
    assert details.find("p:OrgnlMndtId", namespaces=ns) is None
    assert tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=ns) == ABN_OTHER
    assert sequence_of(tx, ns) == "RCUR"  # same bank: the series goes on
    mandate.refresh_from_db()
    assert (mandate.original_iban, mandate.original_reference) == ("", "")
    assert Event.objects.filter(name="bank.mandate.amendment_reported").count() == 1
    root, ns = parsed(collect(organisation, customer, version, on=date(2026, 3, 11)), version)
    tx = transaction_of(root, ns, "MND-1")
    assert tx.find(".//p:AmdmntInd", namespaces=ns) is None  # reported once, then forgotten
    assert tx.find(".//p:AmdmntInfDtls", namespaces=ns) is None


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_account_at_another_bank_is_smnda_and_starts_again_with_frst(
    organisation, customer, mandate, version
):
    collect(organisation, customer, version, on=date(2026, 3, 9))
    mandate.refresh_from_db()
    assert mandate.sequence == SequenceType.RECURRING
    mandate = mandate_amend(mandate=mandate, iban="NL69 INGB 0123 4567 89")
    assert mandate.sequence == SequenceType.FIRST
    root, ns = parsed(collect(organisation, customer, version, on=date(2026, 3, 10)), version)
    tx = transaction_of(root, ns, "MND-1")
    assert tx.findtext(".//p:AmdmntInd", namespaces=ns) == "true"
    details = tx.find(".//p:AmdmntInfDtls", namespaces=ns)
    assert details.findtext("p:OrgnlDbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=ns) == "SMNDA"
    assert details.find("p:OrgnlDbtrAcct", namespaces=ns) is None  # only for the same bank
    assert sequence_of(tx, ns) == "FRST"
    mandate.refresh_from_db()
    assert mandate.sequence == SequenceType.RECURRING
    assert mandate.original_iban == ""


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_mandate_reference_reports_the_original_reference(
    organisation, customer, mandate, version
):
    other = CustomerFactory(organisation=organisation)
    mandate_create(
        organisation=organisation,
        customer=other,
        reference="MND-2",
        signed_on=date(2026, 1, 1),
        iban=ING,
        pre_notification_days=5,
    )
    issued_invoice(other, amount="30.00")
    mandate = mandate_amend(mandate=mandate, reference="MND-1-NEW", iban=ABN_OTHER)
    root, ns = parsed(collect(organisation, customer, version, on=date(2026, 3, 9)), version)
    tx = transaction_of(root, ns, "MND-1-NEW")
    details = tx.find(".//p:AmdmntInfDtls", namespaces=ns)
    assert details.findtext("p:OrgnlMndtId", namespaces=ns) == "MND-1"
    assert details.findtext("p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=ns) == ABN
    untouched = transaction_of(root, ns, "MND-2")
    assert untouched.find(".//p:AmdmntInd", namespaces=ns) is None


def test_amending_twice_keeps_the_first_original_and_amending_back_reports_nothing(
    organisation, mandate
):
    mandate = mandate_amend(mandate=mandate, iban=ABN_OTHER, reference="MND-1B")
    mandate = mandate_amend(mandate=mandate, iban="NL69INGB0123456789", reference="MND-1C")
    assert (mandate.original_iban, mandate.original_reference) == (ABN, "MND-1")
    mandate = mandate_amend(mandate=mandate, iban=ABN, reference="MND-1")
    assert (mandate.original_iban, mandate.original_reference) == ("", "")
    assert mandate_amend(mandate=mandate, iban=ABN) == mandate  # no change: no event
    assert Event.objects.filter(name="bank.mandate.amended").count() == 3


def test_amendment_input_is_checked(organisation, customer, mandate):
    mandate_create(
        organisation=organisation,
        customer=customer,
        reference="MND-2",
        signed_on=date(2026, 1, 1),
        iban=ING,
    )
    with pytest.raises(DirectDebitError, match="MND-2 exists already"):
        mandate_amend(mandate=mandate, reference="MND-2")
    with pytest.raises(DirectDebitError, match="1 to 35"):
        mandate_amend(mandate=mandate, reference="x" * 36)
    mandate.status = MandateStatus.STOPPED
    mandate.save()
    with pytest.raises(DirectDebitError, match="only an active mandate"):
        mandate_amend(mandate=mandate, iban=ING)


def test_a_move_to_another_bank_forgets_the_old_bic_unless_a_new_one_is_given(
    organisation, customer
):
    mandate = mandate_create(
        organisation=organisation,
        customer=customer,
        reference="MND-B",
        signed_on=date(2026, 1, 1),
        iban=ABN,
        bic="ABNANL2A",
    )
    assert mandate_amend(mandate=mandate, iban=ABN_OTHER).bic == "ABNANL2A"  # same bank
    assert mandate_amend(mandate=mandate, iban=ING).bic == ""
    assert mandate_amend(mandate=mandate, iban=ABN, bic="abnanl2a").bic == "ABNANL2A"
