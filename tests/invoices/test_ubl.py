"""UBL 2.1 e-invoices (Peppol BIS Billing 3.0, EN 16931; docs/algorithms/ubl.md).

Every document made here is validated against the official OASIS UBL 2.1 schemas in
../shared/realdata/xsd/ubl-2.1, compared in structure with the real Peppol, NLCIUS and
SimplerInvoicing files in ../shared/realdata/ubl/, and read back for its amounts.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from defusedxml import DTDForbidden
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import etree

from betaald.core.invoicing import VatRate
from betaald.core.money import round_cents
from betaald.invoices.models import Invoice, InvoiceStatus
from betaald.invoices.services import (
    LineInput,
    credit_note_create,
    invoice_create_draft,
    invoice_issue,
)
from betaald.invoices.ubl import (
    CUSTOMIZATION_ID,
    PROFILE_ID,
    UblNotAvailable,
    buyer_endpoint,
    invoice_ubl,
    parse_ubl,
    tax_category,
    ubl_errors,
    ubl_schema,
    unit_code,
)
from betaald.organisations.models import Role
from betaald.organisations.services import api_token_create
from tests.factories import CustomerFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

REALDATA = Path(settings.SHARED_DIR) / "realdata"
XSD_DIR = REALDATA / "xsd" / "ubl-2.1"
REAL_FILES = sorted((REALDATA / "ubl").glob("*.xml"))
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}

LINES = [
    LineInput("Metselwerk", "8", "55.00", "21", unit="uur"),
    LineInput("Tegels", "12.5", "19.99", "9", unit="m2"),
    LineInput("Afvoer puin", "1", "35.00", "21"),
    LineInput("Boek over metselen", "2", "12.50", "0"),
]


def issue(customer, lines=LINES, issued_on=date(2026, 3, 2), **kwargs) -> Invoice:
    draft = invoice_create_draft(
        organisation=customer.organisation, customer=customer, actor=None, lines=lines, **kwargs
    )
    invoice, _warnings = invoice_issue(invoice=draft, actor=None, issued_on=issued_on)
    return invoice


def valid(document: bytes) -> etree._Element:
    """The parsed document, after checking it against the official UBL 2.1 XSD."""
    assert ubl_errors(document, XSD_DIR) == []
    root = parse_ubl(document)
    assert_business_rules(root)
    return root


def text(root: etree._Element, path: str) -> str:
    found = root.findall(path, NS)
    assert len(found) == 1, f"{path}: {len(found)} elements"
    return found[0].text or ""


def amount(root: etree._Element, path: str) -> Decimal:
    return Decimal(text(root, path))


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.findall(path, NS)]


CREDIT_NOTE_NAMES = {
    "CreditNoteLine": "InvoiceLine",
    "CreditedQuantity": "InvoicedQuantity",
    "CreditNoteTypeCode": "InvoiceTypeCode",
}


def paths(root: etree._Element) -> set[str]:
    """Every element path of a document, by local name, without positions; a credit note's
    own names are read as the invoice's (CreditNoteLine as InvoiceLine, ...)."""
    result = set()
    for element in root.iter(etree.Element):
        names = [etree.QName(element).localname]
        names += [etree.QName(parent).localname for parent in element.iterancestors()]
        names = [CREDIT_NOTE_NAMES.get(name, name) for name in names[:-1]]  # not the root
        result.add("/".join(reversed(names)))
    result.discard("")
    return result


def assert_totals_add_up(root: etree._Element) -> None:
    """EN 16931 BR-CO-10, -13, -14, -15, -16, BR-S-08 and the lines: every total follows from
    the lines, to the cent."""
    line_tag = "CreditNoteLine" if etree.QName(root).localname == "CreditNote" else "InvoiceLine"
    line_amounts = [Decimal(t) for t in texts(root, f"cac:{line_tag}/cbc:LineExtensionAmount")]
    monetary = "cac:LegalMonetaryTotal/cbc:"
    assert sum(line_amounts, Decimal(0)) == amount(root, monetary + "LineExtensionAmount")
    assert amount(root, monetary + "TaxExclusiveAmount") == amount(
        root, monetary + "LineExtensionAmount"
    )
    tax = amount(root, "cac:TaxTotal/cbc:TaxAmount")
    assert amount(root, monetary + "TaxInclusiveAmount") == (
        amount(root, monetary + "TaxExclusiveAmount") + tax
    )
    assert amount(root, monetary + "PayableAmount") == amount(root, monetary + "TaxInclusiveAmount")
    subtotals = root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    assert sum((Decimal(s.findtext("cbc:TaxAmount", namespaces=NS)) for s in subtotals), 0) == tax
    assert sum(
        (Decimal(s.findtext("cbc:TaxableAmount", namespaces=NS)) for s in subtotals), 0
    ) == amount(root, monetary + "TaxExclusiveAmount")
    categories = set()
    for subtotal in subtotals:
        category = subtotal.find("cac:TaxCategory", NS)
        key = (
            category.findtext("cbc:ID", namespaces=NS),
            category.findtext("cbc:Percent", namespaces=NS),
        )
        assert key not in categories, "one subtotal per category and rate"
        categories.add(key)
        base = Decimal(subtotal.findtext("cbc:TaxableAmount", namespaces=NS))
        vat = Decimal(subtotal.findtext("cbc:TaxAmount", namespaces=NS))
        assert vat == round_cents(base * Decimal(key[1]) / 100)
        lines_in_category = [
            Decimal(line.findtext("cbc:LineExtensionAmount", namespaces=NS))
            for line in root.findall(f"cac:{line_tag}", NS)
            if (
                line.findtext("cac:Item/cac:ClassifiedTaxCategory/cbc:ID", namespaces=NS),
                line.findtext("cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", namespaces=NS),
            )
            == key
        ]
        assert sum(lines_in_category, Decimal(0)) == base
    quantity_tag = "CreditedQuantity" if line_tag == "CreditNoteLine" else "InvoicedQuantity"
    for line in root.findall(f"cac:{line_tag}", NS):
        price = Decimal(line.findtext("cac:Price/cbc:PriceAmount", namespaces=NS))
        quantity = Decimal(line.findtext(f"cbc:{quantity_tag}", namespaces=NS))
        assert price >= 0, "BR-27: the net price is never negative"
        assert round_cents(quantity * price) == Decimal(
            line.findtext("cbc:LineExtensionAmount", namespaces=NS)
        )


def assert_business_rules(root: etree._Element) -> None:
    """The Peppol BIS 3.0 / EN 16931 / NL rules that apply to what betaald writes, checked by
    hand (the official Schematron needs XSLT 2, which the stack lacks; docs/algorithms/ubl.md)."""
    is_credit = etree.QName(root).localname == "CreditNote"
    assert text(root, "cbc:CustomizationID") == CUSTOMIZATION_ID  # PEPPOL-EN16931-R004
    assert text(root, "cbc:ProfileID") == PROFILE_ID  # R001, R007
    assert text(root, "cbc:BuyerReference")  # R003: a buyer reference or an order reference
    assert len(root.findall("cbc:Note", NS)) <= 1  # R002
    assert len(root.findall("cac:TaxTotal", NS)) == 1  # R053
    for element in root.iter(etree.Element):  # R008: no empty elements
        assert len(element) or (element.text or "").strip(), etree.QName(element).localname
        assert not re.fullmatch(r"-[0.]+", element.text or ""), "no negative zero"
    seller = "cac:AccountingSupplierParty/cac:Party/"
    assert root.find(seller + "cbc:EndpointID", NS) is not None  # R020
    legal_id = root.find(seller + "cac:PartyLegalEntity/cbc:CompanyID", NS)
    assert legal_id is not None
    assert legal_id.get("schemeID") in ("0106", "0190")  # NL-R-003
    for part in ("StreetName", "CityName", "PostalZone"):  # NL-R-002
        assert text(root, seller + f"cac:PostalAddress/cbc:{part}")
    for vat in texts(root, "cac:*/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"):
        assert re.fullmatch(r"[A-Z]{2}[0-9A-Z]+", vat), vat  # BR-CO-09: country prefix
    codes = set(texts(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID"))
    for category in root.findall("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS):
        code = category.findtext("cbc:ID", namespaces=NS)
        has_reason = (
            category.find("cbc:TaxExemptionReason", NS) is not None
            or category.find("cbc:TaxExemptionReasonCode", NS) is not None
        )
        assert has_reason == (code in ("AE", "E", "K", "G")), code  # BR-x-10
    if codes & {"AE", "K"}:  # BR-AE-02, BR-IC-02: the buyer's VAT id
        assert texts(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID")
    if "K" in codes:  # BR-IC-11, BR-IC-12
        assert text(root, "cac:Delivery/cbc:ActualDeliveryDate")
        assert text(
            root, "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode"
        )
    if is_credit:  # NL-R-001: a credit note refers to the invoice
        assert text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")
    else:
        assert text(root, "cbc:InvoiceTypeCode") == "380"
        assert text(root, "cac:PaymentMeans/cbc:PaymentMeansCode") in {"30", "58"}  # NL-R-007
        assert text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")  # NL-R-008, BR-61
        assert text(root, "cbc:DueDate") or text(root, "cac:PaymentTerms/cbc:Note")  # BR-CO-25


# -- the schemas and the real files ---------------------------------------------------------


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_the_real_ubl_files_are_valid_against_the_schemas_we_validate_with(path):
    assert ubl_errors(path.read_bytes(), XSD_DIR) == []


def test_the_schema_check_finds_a_broken_document():
    customer = CustomerFactory()
    root = parse_ubl(invoice_ubl(issue(customer)))
    root.remove(root.find("cac:LegalMonetaryTotal", NS))  # mandatory in UBL 2.1
    errors = ubl_errors(etree.tostring(root), XSD_DIR)
    assert errors
    assert "InvoiceLine" in errors[0]


def test_the_schemas_load_from_files_without_the_network():
    schema = ubl_schema(XSD_DIR, credit_note=False)
    assert isinstance(schema, etree.XMLSchema)
    assert ubl_schema(XSD_DIR, credit_note=False) is schema  # loaded once


def test_reading_ubl_refuses_a_dtd_with_entities():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&b;</Invoice>'
    )
    with pytest.raises(DTDForbidden):
        parse_ubl(bomb)


# -- invoices -------------------------------------------------------------------------------


def test_an_invoice_with_several_vat_rates_is_valid_ubl_with_one_subtotal_per_rate():
    customer = CustomerFactory(vat_number="NL004495445B01")
    invoice = issue(customer, customer_reference="PO-4711", delivered_on=date(2026, 2, 27))
    root = valid(invoice_ubl(invoice))

    assert etree.QName(root).localname == "Invoice"
    assert text(root, "cbc:CustomizationID") == CUSTOMIZATION_ID
    assert text(root, "cbc:ProfileID") == PROFILE_ID
    assert text(root, "cbc:ID") == invoice.number == "2026-00001"
    assert text(root, "cbc:IssueDate") == "2026-03-02"
    assert text(root, "cbc:DueDate") == "2026-03-16"
    assert text(root, "cbc:InvoiceTypeCode") == "380"
    assert text(root, "cbc:DocumentCurrencyCode") == "EUR"
    assert text(root, "cbc:BuyerReference") == "PO-4711"
    assert text(root, "cac:Delivery/cbc:ActualDeliveryDate") == "2026-02-27"
    # 8 x 55 + 35 = 475.00 at 21 % -> 99.75; 12.5 x 19.99 = 249.88 at 9 % -> 22.49; 25.00 at 0 %
    subtotals = {
        (
            s.findtext("cac:TaxCategory/cbc:ID", namespaces=NS),
            s.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS),
        ): (
            s.findtext("cbc:TaxableAmount", namespaces=NS),
            s.findtext("cbc:TaxAmount", namespaces=NS),
        )
        for s in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    }
    assert subtotals == {
        ("S", "21"): ("475.00", "99.75"),
        ("S", "9"): ("249.88", "22.49"),
        ("Z", "0"): ("25.00", "0.00"),
    }
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "122.24"
    assert text(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount") == "749.88"
    assert text(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount") == "749.88"
    assert text(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount") == "872.12"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "872.12"
    assert invoice.total == Decimal("872.12")
    assert_totals_add_up(root)

    lines = root.findall("cac:InvoiceLine", NS)
    assert [line.findtext("cbc:ID", namespaces=NS) for line in lines] == ["1", "2", "3", "4"]
    assert lines[1].findtext("cac:Item/cbc:Name", namespaces=NS) == "Tegels"
    assert lines[1].find("cbc:InvoicedQuantity", NS).text == "12.5"
    assert lines[1].find("cbc:InvoicedQuantity", NS).get("unitCode") == "MTK"
    assert lines[0].find("cbc:InvoicedQuantity", NS).get("unitCode") == "HUR"
    assert lines[2].find("cbc:InvoicedQuantity", NS).get("unitCode") == "C62"


def test_the_invoice_carries_kvk_vat_ids_and_sepa_payment_details_of_the_seller_as_issued():
    organisation = OrganisationFactory(phone="030 123 4567")
    customer = CustomerFactory(organisation=organisation, vat_number="NL004495445B01")
    invoice = issue(customer)
    # The organisation changes afterwards: the UBL keeps what the invoice was issued with.
    organisation.iban = "NL91ABNA0417164300"
    organisation.legal_name = "Nieuwe Naam B.V."
    organisation.save()
    invoice.refresh_from_db()
    root = valid(invoice_ubl(invoice))

    seller = "cac:AccountingSupplierParty/cac:Party/"
    assert text(root, seller + "cbc:EndpointID") == "12345678"
    assert root.find(seller + "cbc:EndpointID", NS).get("schemeID") == "0106"
    assert text(root, seller + "cac:PartyLegalEntity/cbc:CompanyID") == "12345678"
    assert root.find(seller + "cac:PartyLegalEntity/cbc:CompanyID", NS).get("schemeID") == "0106"
    assert (
        text(root, seller + "cac:PartyLegalEntity/cbc:RegistrationName")
        == (invoice.seller["legal_name"])
    )
    assert text(root, seller + "cac:PartyName/cbc:Name") == "Jansen Bouw"
    assert text(root, seller + "cac:PartyTaxScheme/cbc:CompanyID") == "NL123456789B13"
    assert text(root, seller + "cac:PartyTaxScheme/cac:TaxScheme/cbc:ID") == "VAT"
    assert text(root, seller + "cac:PostalAddress/cbc:StreetName") == "Oudegracht 1"
    assert text(root, seller + "cac:PostalAddress/cbc:PostalZone") == "3511 AA"
    assert text(root, seller + "cac:PostalAddress/cac:Country/cbc:IdentificationCode") == "NL"
    assert text(root, seller + "cac:Contact/cbc:Telephone") == "030 123 4567"

    buyer = "cac:AccountingCustomerParty/cac:Party/"
    assert text(root, buyer + "cbc:EndpointID") == "87654321"
    assert text(root, buyer + "cac:PartyLegalEntity/cbc:CompanyID") == "87654321"
    assert text(root, buyer + "cac:PartyTaxScheme/cbc:CompanyID") == "NL004495445B01"
    assert text(root, buyer + "cac:PartyIdentification/cbc:ID") == customer.number

    means = "cac:PaymentMeans/"
    assert text(root, means + "cbc:PaymentMeansCode") == "58"
    assert text(root, means + "cbc:PaymentID") == invoice.payment_reference
    assert len(invoice.payment_reference) == 16
    assert text(root, means + "cac:PayeeFinancialAccount/cbc:ID") == "NL20INGB0001234567"
    assert text(
        root, means + "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"
    ) == ("INGBNL2A")
    terms = text(root, "cac:PaymentTerms/cbc:Note")
    assert "14 dagen" in terms
    assert "16-03-2026" in terms
    assert invoice.payment_reference in terms


def test_without_a_customer_reference_the_buyer_reference_is_the_customer_number():
    customer = CustomerFactory(vat_number="NL004495445B01")
    root = valid(invoice_ubl(issue(customer)))
    assert text(root, "cbc:BuyerReference") == customer.number


def test_reverse_charged_and_exempt_lines_get_categories_ae_and_e_with_their_reasons():
    customer = CustomerFactory(vat_number="NL004495445B01")
    invoice = issue(
        customer,
        lines=[
            LineInput("Onderaanneming stukadoorswerk", "10", "45.00", "reverse_charge"),
            LineInput("Cursus veilig werken", "1", "300.00", "exempt"),
            LineInput("Materiaal", "1", "100.00", "21"),
        ],
    )
    root = valid(invoice_ubl(invoice))
    categories = {
        c.findtext("cbc:ID", namespaces=NS): (
            c.findtext("cbc:Percent", namespaces=NS),
            c.findtext("cbc:TaxExemptionReasonCode", namespaces=NS),
            c.findtext("cbc:TaxExemptionReason", namespaces=NS),
        )
        for c in root.findall("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    }
    assert categories == {
        "S": ("21", None, None),
        "AE": ("0", "VATEX-EU-AE", "BTW verlegd"),
        "E": ("0", None, "Vrijgesteld van btw"),
    }
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "21.00"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "871.00"
    # BR-AE-02: both parties' VAT ids are present
    assert texts(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID")
    assert_totals_add_up(root)


def test_a_foreign_business_in_the_eu_gets_an_intra_community_supply_in_english():
    customer = CustomerFactory(
        name="Brouwerij De Klok BV",
        kvk_number="",
        vat_number="BE 0403.019.261",
        country="BE",
        street="Grote Markt 1",
        postal_code="1000",
        city="Brussel",
        language="en",
    )
    invoice = issue(customer, lines=[LineInput("Stellingkasten", "3", "410.00", "0")])
    root = valid(invoice_ubl(invoice))
    buyer = "cac:AccountingCustomerParty/cac:Party/"
    assert text(root, buyer + "cbc:EndpointID") == "BE0403019261"
    assert root.find(buyer + "cbc:EndpointID", NS).get("schemeID") == "9925"
    assert text(root, buyer + "cac:PartyTaxScheme/cbc:CompanyID") == "BE0403019261"
    assert text(root, buyer + "cac:PostalAddress/cac:Country/cbc:IdentificationCode") == "BE"
    assert root.find(buyer + "cac:PartyLegalEntity/cbc:CompanyID", NS) is None
    category = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/"
    assert text(root, category + "cbc:ID") == "K"
    assert text(root, category + "cbc:TaxExemptionReasonCode") == "VATEX-EU-IC"
    assert text(root, category + "cbc:TaxExemptionReason") == "Intra-community supply"
    # BR-IC-11/12: the delivery date and the country delivered to
    assert text(root, "cac:Delivery/cbc:ActualDeliveryDate") == "2026-03-02"
    assert (
        text(
            root, "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode"
        )
        == "BE"
    )
    assert "Pay within 14 days, by 2026-03-16" in text(root, "cac:PaymentTerms/cbc:Note")
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "1230.00"
    assert_totals_add_up(root)


def test_a_consumer_outside_the_eu_gets_an_export_and_no_endpoint():
    customer = CustomerFactory(
        kind="consumer",
        name="J. Smith",
        kvk_number="",
        country="US",
        street="1 Main Street",
        postal_code="10001",
        city="New York",
    )
    invoice = issue(customer, lines=[LineInput("Houten speelgoed", "1", "80.00", "0")])
    root = valid(invoice_ubl(invoice))
    assert root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS) is None
    assert text(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == "G"
    assert text(
        root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode"
    ) == ("VATEX-EU-G")


# -- credit notes ---------------------------------------------------------------------------


def test_a_credit_note_is_a_creditnote_document_with_positive_amounts_referring_to_the_invoice():
    customer = CustomerFactory(vat_number="NL004495445B01")
    invoice = issue(customer)
    credit = credit_note_create(
        invoice=invoice,
        actor=None,
        issued_on=date(2026, 3, 10),
        reason="Tegels retour",
        lines=[
            LineInput("Tegels", "2.5", "19.99", "9"),
            LineInput("Metselwerk", "1", "55.00", "21"),
        ],
    )
    assert credit.total < 0
    root = valid(invoice_ubl(credit))
    assert etree.QName(root).localname == "CreditNote"
    assert (
        etree.QName(root).namespace == "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
    )
    assert text(root, "cbc:ID") == credit.number == "2026-00002"
    assert text(root, "cbc:CreditNoteTypeCode") == "381"
    assert text(root, "cbc:Note") == "Tegels retour"
    assert text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == invoice.number
    assert text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == (
        "2026-03-02"
    )
    assert root.find("cac:PaymentMeans", NS) is None
    assert invoice.number in text(root, "cac:PaymentTerms/cbc:Note")
    # 2.5 x 19.99 = 49.975 -> 49.98 at 9 % -> 4.50; 55.00 at 21 % -> 11.55
    assert texts(root, "cac:CreditNoteLine/cbc:CreditedQuantity") == ["2.5", "1"]
    assert texts(root, "cac:CreditNoteLine/cbc:LineExtensionAmount") == ["49.98", "55.00"]
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "16.05"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "121.03"
    assert -credit.total == Decimal("121.03")
    assert_totals_add_up(root)


def test_a_credit_note_of_a_whole_invoice_mirrors_its_amounts_and_the_buyer_reference():
    customer = CustomerFactory(vat_number="NL004495445B01")
    invoice = issue(customer, customer_reference="PO-9")
    credit = credit_note_create(
        invoice=invoice, actor=None, issued_on=date(2026, 3, 10), reason="Geannuleerd"
    )
    original = valid(invoice_ubl(invoice))
    credited = valid(invoice_ubl(credit))
    assert text(credited, "cbc:BuyerReference") == text(original, "cbc:BuyerReference") == "PO-9"
    for path in [
        "cac:TaxTotal/cbc:TaxAmount",
        "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
        "cac:LegalMonetaryTotal/cbc:PayableAmount",
    ]:
        assert text(original, path) == text(credited, path)
    assert texts(original, "cac:InvoiceLine/cbc:LineExtensionAmount") == texts(
        credited, "cac:CreditNoteLine/cbc:LineExtensionAmount"
    )


def test_a_credit_note_without_vat_writes_zero_vat_as_0_00():
    customer = CustomerFactory(vat_number="NL004495445B01")
    invoice = issue(customer, lines=[LineInput("Cursus", "1", "300.00", "exempt")])
    credit = credit_note_create(invoice=invoice, actor=None, issued_on=date(2026, 3, 3), reason="x")
    root = valid(invoice_ubl(credit))
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "0.00"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "300.00"


# -- structure compared with the real files -------------------------------------------------


def test_every_element_we_write_also_appears_in_the_real_peppol_and_nlcius_documents():
    """We invent no structure: each element path of our documents is used by at least one real
    document of the same type, and the core paths of the Peppol base example are all there."""
    customer = CustomerFactory(vat_number="NL004495445B01", phone="020 555 0000")
    foreign = CustomerFactory(
        organisation=customer.organisation,
        kvk_number="",
        vat_number="BE0403019261",
        country="BE",
        postal_code="1000",
        city="Brussel",
    )
    invoice = issue(customer, customer_reference="PO-1")
    intra = issue(foreign, lines=[LineInput("Kasten", "1", "10.00", "0")])
    credit = credit_note_create(invoice=invoice, actor=None, issued_on=date(2026, 3, 3), reason="x")
    real: set[str] = set()
    for path in REAL_FILES:
        real |= paths(parse_ubl(path.read_bytes()))
    ours: set[str] = set()
    for document in (invoice, intra, credit):
        ours |= paths(valid(invoice_ubl(document)))
    # EN 16931 terms we state that none of the seven real files happens to carry:
    beyond_the_samples = {"BillingReference/InvoiceDocumentReference/IssueDate"}  # BT-26
    invented = ours - real - beyond_the_samples
    assert invented == set(), f"paths no real document uses: {sorted(invented)}"
    base = paths(parse_ubl((REALDATA / "ubl" / "peppol-bis3_base-example.xml").read_bytes()))
    core = {
        "CustomizationID",
        "ProfileID",
        "ID",
        "IssueDate",
        "DueDate",
        "InvoiceTypeCode",
        "DocumentCurrencyCode",
        "BuyerReference",
        "AccountingSupplierParty/Party/EndpointID",
        "AccountingSupplierParty/Party/PartyTaxScheme/CompanyID",
        "AccountingSupplierParty/Party/PartyLegalEntity/CompanyID",
        "AccountingCustomerParty/Party/PostalAddress/Country/IdentificationCode",
        "PaymentMeans/PaymentMeansCode",
        "PaymentMeans/PaymentID",
        "PaymentMeans/PayeeFinancialAccount/ID",
        "PaymentTerms/Note",
        "TaxTotal/TaxSubtotal/TaxCategory/Percent",
        "LegalMonetaryTotal/PayableAmount",
        "InvoiceLine/InvoicedQuantity",
        "InvoiceLine/Item/ClassifiedTaxCategory/ID",
        "InvoiceLine/Price/PriceAmount",
    }
    assert core <= base
    assert core <= ours


# -- round trip and the property ------------------------------------------------------------


def test_reading_the_ubl_back_gives_the_invoices_amounts_and_payment_reference():
    customer = CustomerFactory(vat_number="NL004495445B01")
    invoice = issue(customer)
    root = parse_ubl(invoice_ubl(invoice))
    assert amount(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount") == invoice.total_excl_vat
    assert amount(root, "cac:TaxTotal/cbc:TaxAmount") == invoice.total_vat
    assert amount(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == invoice.total
    assert text(root, "cac:PaymentMeans/cbc:PaymentID") == invoice.payment_reference
    assert [
        (
            line.findtext("cac:Item/cbc:Name", namespaces=NS),
            Decimal(line.findtext("cbc:InvoicedQuantity", namespaces=NS)),
            Decimal(line.findtext("cac:Price/cbc:PriceAmount", namespaces=NS)),
            Decimal(line.findtext("cbc:LineExtensionAmount", namespaces=NS)),
        )
        for line in root.findall("cac:InvoiceLine", NS)
    ] == [
        (line.description, line.quantity, line.unit_price, line.amount)
        for line in invoice.lines.all()
    ]


LINE = st.tuples(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5000"), places=3),
    st.decimals(min_value=Decimal("-500"), max_value=Decimal("10000"), places=2),
    st.sampled_from([rate.value for rate in VatRate]),
)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=st.lists(LINE, min_size=1, max_size=6), credit=st.booleans())
def test_totals_in_the_ubl_always_follow_from_its_lines(lines, credit):
    """Property: whatever the lines (quantities with 3 decimals, prices that may be negative,
    any VAT treatment), the document is XSD-valid, every total follows from the lines to the
    cent, and they equal the invoice's stored totals."""
    customer = CustomerFactory(vat_number="NL004495445B01")
    invoice = issue(
        customer,
        lines=[
            LineInput(f"Regel {i}", quantity, price, rate)
            for i, (quantity, price, rate) in enumerate(lines)
        ],
    )
    document = invoice
    if credit and invoice.total > 0:
        document = credit_note_create(
            invoice=invoice, actor=None, issued_on=date(2026, 3, 5), reason="Correctie"
        )
    root = valid(invoice_ubl(document))
    assert_totals_add_up(root)
    sign = -1 if document.is_credit_note else 1
    assert amount(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == sign * document.total
    assert amount(root, "cac:TaxTotal/cbc:TaxAmount") == sign * document.total_vat


# -- rules in tables ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "country", "business", "code", "percent"),
    [
        (VatRate.STANDARD, "NL", True, "S", "21"),
        (VatRate.REDUCED, "NL", False, "S", "9"),
        (VatRate.ZERO, "NL", True, "Z", "0"),
        (VatRate.ZERO, "DE", True, "K", "0"),
        (VatRate.ZERO, "DE", False, "Z", "0"),  # a consumer in the EU: no intra-EU supply
        (VatRate.ZERO, "CH", False, "G", "0"),
        (VatRate.ZERO, "us", True, "G", "0"),
        (VatRate.REVERSE_CHARGE, "NL", True, "AE", "0"),
        (VatRate.EXEMPT, "NL", False, "E", "0"),
        (VatRate.STANDARD, "", False, "S", "21"),
    ],
)
def test_vat_treatments_map_to_en16931_categories(rate, country, business, code, percent):
    category = tax_category(rate, buyer_country=country, buyer_is_business=business)
    assert (category.code, category.percent) == (code, Decimal(percent))


@pytest.mark.parametrize(
    ("unit", "code"),
    [("uur", "HUR"), ("Uren", "HUR"), ("st.", "H87"), ("m²", "MTK"), ("", "C62"), ("doos", "C62")],
)
def test_units_map_to_un_ece_recommendation_20_codes(unit, code):
    assert unit_code(unit) == code


@pytest.mark.parametrize(
    ("buyer", "endpoint"),
    [
        (
            {"country": "NL", "kvk_number": "8765 4321", "vat_number": "NL004495445B01"},
            ("0106", "87654321"),
        ),
        (
            {"country": "NL", "kvk_number": "", "vat_number": "NL004495445B01"},
            ("9944", "NL004495445B01"),
        ),
        (
            {"country": "DE", "kvk_number": "", "vat_number": "de 136 695 976"},
            ("9930", "DE136695976"),
        ),
        ({"country": "GR", "kvk_number": "", "vat_number": "094259216"}, ("9933", "EL094259216")),
        ({"country": "IT", "kvk_number": "", "vat_number": "IT00743110157"}, None),
        ({"country": "NL", "kvk_number": "", "vat_number": ""}, None),
    ],
)
def test_the_buyer_endpoint_is_its_kvk_number_else_its_vat_id_in_the_eas_scheme(buyer, endpoint):
    assert buyer_endpoint(buyer) == endpoint


def test_a_draft_has_no_ubl():
    customer = CustomerFactory()
    draft = invoice_create_draft(
        organisation=customer.organisation, customer=customer, actor=None, lines=LINES
    )
    with pytest.raises(UblNotAvailable):
        invoice_ubl(draft)


def test_an_invoice_whose_stored_totals_contradict_its_lines_is_refused():
    customer = CustomerFactory()
    invoice = issue(customer)
    Invoice.objects.filter(pk=invoice.pk).update(total=invoice.total + 1)  # a corrupted row
    invoice.refresh_from_db()
    with pytest.raises(UblNotAvailable, match="do not match"):
        invoice_ubl(invoice)


# -- web, API and the demo ------------------------------------------------------------------


@pytest.fixture
def member():
    return MembershipFactory(role=Role.ACCOUNTANT)  # reading is enough


def test_the_invoice_page_links_the_ubl_download_for_an_issued_invoice(member):
    client = Client()
    client.force_login(member.user)
    customer = CustomerFactory(organisation=member.organisation, vat_number="NL004495445B01")
    invoice = issue(customer)
    page = client.get(reverse("web:invoice_detail", args=[invoice.pk]))
    url = reverse("web:invoice_ubl", args=[invoice.pk])
    assert url.encode() in page.content
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.xml"'
    assert text(valid(response.content), "cbc:ID") == invoice.number


def test_the_ubl_download_is_404_for_a_draft_and_for_another_organisation(member):
    client = Client()
    client.force_login(member.user)
    own = CustomerFactory(organisation=member.organisation)
    draft = invoice_create_draft(
        organisation=own.organisation, customer=own, actor=None, lines=LINES
    )
    page = client.get(reverse("web:invoice_detail", args=[draft.pk]))
    assert reverse("web:invoice_ubl", args=[draft.pk]).encode() not in page.content
    assert client.get(reverse("web:invoice_ubl", args=[draft.pk])).status_code == 404
    other = issue(CustomerFactory())
    assert client.get(reverse("web:invoice_ubl", args=[other.pk])).status_code == 404


def test_the_api_serves_the_ubl_as_application_xml(member):
    _token, raw = api_token_create(membership=member, name="boekhouding")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    customer = CustomerFactory(organisation=member.organisation, vat_number="NL004495445B01")
    invoice = issue(customer)
    response = api.get(f"/api/v1/invoices/{invoice.pk}/ubl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    root = valid(response.content)
    assert text(root, "cac:PaymentMeans/cbc:PaymentID") == invoice.payment_reference
    other = issue(CustomerFactory())
    missing = api.get(f"/api/v1/invoices/{other.pk}/ubl")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"
    schema = Client().get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/invoices/{invoice_id}/ubl"]["get"]
    assert "application/xml" in operation["responses"]["200"]["content"]


def test_every_invoice_and_credit_note_of_the_demo_is_valid_ubl():
    call_command("demo", no_serve=True, customers=8, invoices=30, stdout=StringIO())
    issued = Invoice.objects.filter(status=InvoiceStatus.ISSUED).select_related("credited_invoice")
    assert issued.count() >= 30
    for invoice in issued:
        root = valid(invoice_ubl(invoice))
        assert_totals_add_up(root)
        assert text(root, "cbc:ID") == invoice.number
    one = issued.filter(kind="invoice", credit_notes__isnull=True).first()
    credit = credit_note_create(
        invoice=one, actor=None, issued_on=one.issued_on + timedelta(days=1), reason="demo"
    )
    assert_totals_add_up(valid(invoice_ubl(credit)))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_the_invoice_page_downloads_its_ubl(live_server, page, screenshot):
    member = MembershipFactory(role=Role.ACCOUNTANT, user__username="boekhouder")
    customer = CustomerFactory(organisation=member.organisation, vat_number="NL004495445B01")
    invoice = issue(customer, customer_reference="PO-4711")
    page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
    page.fill("#id_username", "boekhouder")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/invoices/{invoice.pk}/")
    screenshot("ubl-invoice-page")
    with page.expect_download() as download_info:
        page.click("[data-testid=ubl-download]")
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.xml"
    root = valid(Path(download.path()).read_bytes())
    assert text(root, "cbc:BuyerReference") == "PO-4711"
