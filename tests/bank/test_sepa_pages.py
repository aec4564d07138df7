"""The direct debit page: a mandate with a bad IBAN is refused at input with a message that
says what is wrong (on the IBAN field, nothing saved); a mandate is amended from the page and
the next file reports it; read-only roles cannot change anything."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from lxml import etree

from betaald.bank.models import DirectDebitBatch, Mandate
from betaald.bank.sepa import mandate_create
from betaald.identifiers import InvalidIdentifier
from betaald.organisations.models import Role
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice

pytestmark = pytest.mark.django_db

GOOD = "NL91ABNA0417164300"


@pytest.fixture
def member():
    membership = MembershipFactory(role=Role.OWNER)
    membership.organisation.sepa_creditor_id = "NL08ZZZ502057730000"
    membership.organisation.save()
    return membership


def browser_for(member, language="en"):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(member.user)
    return client


def add(client, customer, iban, reference="M-1"):
    return client.post(
        reverse("bank:mandates"),
        {
            "action": "add",
            "customer": customer.pk,
            "reference": reference,
            "signed_on": "2026-01-01",
            "iban": iban,
            "scheme": "CORE",
            "pre_notification_days": "5",
        },
    )


@pytest.mark.parametrize(
    ("iban", "says"),
    [
        ("NL91 ABNA 0417 1643 01", "NL91 ABNA 0417 1643 01 is not a valid IBAN: the check digits"),
        ("NL91ABNA041716430", "the wrong number of characters for its country"),
        ("XX91ABNA0417164300", "does not start with a known country code"),
        ("NL91ABNA04171643OO", "characters that do not belong there"),
    ],
)
def test_a_bad_iban_is_refused_on_its_field_with_what_is_wrong(member, iban, says):
    customer = CustomerFactory(organisation=member.organisation)
    response = add(browser_for(member), customer, iban)
    assert response.status_code == 200
    errors = response.context["mandate_form"].errors
    assert list(errors) == ["iban"]
    assert says in errors["iban"][0]
    assert says in response.content.decode()
    assert not Mandate.objects.exists()


def test_the_service_refuses_it_too_and_in_dutch(member):
    from django.utils import translation

    customer = CustomerFactory(organisation=member.organisation)
    with translation.override("nl"), pytest.raises(InvalidIdentifier) as refused:
        mandate_create(
            organisation=member.organisation,
            customer=customer,
            reference="M-1",
            signed_on=date(2026, 1, 1),
            iban="NL91ABNA0417164301",
        )
    assert refused.value.field == "iban"
    assert "NL91ABNA0417164301 is geen geldige IBAN" in refused.value.message
    with pytest.raises(InvalidIdentifier, match="Give the IBAN"):
        mandate_create(
            organisation=member.organisation,
            customer=customer,
            reference="M-1",
            signed_on=date(2026, 1, 1),
            iban="  ",
        )


def test_a_good_mandate_is_added_and_a_duplicate_reference_is_named(member):
    client = browser_for(member)
    customer = CustomerFactory(organisation=member.organisation)
    assert add(client, customer, "nl91 abna 0417 1643 00").status_code == 302
    mandate = Mandate.objects.get()
    assert (mandate.iban, mandate.pre_notification_days) == (GOOD, 5)
    again = add(client, customer, GOOD)
    assert again.context["mandate_form"].errors == {"reference": ["mandate M-1 exists already"]}


def test_a_mandate_is_amended_from_the_page_and_the_next_file_reports_it(member):
    client = browser_for(member)
    customer = CustomerFactory(organisation=member.organisation)
    issued_invoice(customer, amount="10.00")
    mandate = mandate_create(
        organisation=member.organisation,
        customer=customer,
        reference="M-1",
        signed_on=date(2026, 1, 1),
        iban=GOOD,
    )
    url = reverse("bank:mandates")
    nothing = client.post(url, {"action": "amend", "mandate": mandate.pk})
    assert "Give the new IBAN, BIC or mandate reference." in nothing.content.decode()
    bad = client.post(url, {"action": "amend", "mandate": mandate.pk, "iban": "NL20INGB0001234568"})
    assert "not a valid IBAN" in bad.context["amend_form"].errors["iban"][0]
    done = client.post(
        url, {"action": "amend", "mandate": mandate.pk, "iban": "NL20INGB0001234567"}
    )
    assert done.status_code == 302
    mandate.refresh_from_db()
    assert (mandate.iban, mandate.original_iban, mandate.sequence) == (
        "NL20INGB0001234567",
        GOOD,
        "FRST",
    )
    assert "amended" in client.get(url).content.decode()
    download = client.post(
        url,
        {
            "action": "collect",
            "collection_on": "2099-01-05",
            "scheme": "CORE",
            "version": "pain.008.001.02",
        },
    )
    assert download.status_code == 200
    root = etree.fromstring(download.content)
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
    assert root.findtext(".//p:OrgnlDbtrAgt/p:FinInstnId/p:Othr/p:Id", namespaces=ns) == "SMNDA"
    batch = DirectDebitBatch.objects.get()
    assert reverse("bank:direct_debit_file", args=[batch.pk]) in client.get(url).content.decode()


def test_a_read_only_role_cannot_add_or_amend(member):
    reader = MembershipFactory(organisation=member.organisation, role=Role.ACCOUNTANT)
    customer = CustomerFactory(organisation=member.organisation)
    assert add(browser_for(reader), customer, GOOD).status_code == 403
    assert not Mandate.objects.exists()
