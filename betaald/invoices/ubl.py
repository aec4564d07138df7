"""UBL 2.1 e-invoices: an issued invoice or credit note as Peppol BIS Billing 3.0 (EN 16931).

`invoice_ubl(invoice)` renders the document the customer's bookkeeping (or the government,
through Peppol) reads: an `Invoice` (type 380) or, for a credit note, a `CreditNote` (type 381)
that refers to the invoice it corrects. Everything comes from what was frozen at issue: the
seller's and buyer's details as issued (`Invoice.seller`, `Invoice.buyer`) and the lines; the
VAT breakdown is recomputed by the core (`invoice_totals`) and must equal the stored totals,
so the XML says exactly what the PDF says.

Conventions (docs/algorithms/ubl.md):
- Amounts with two decimals. A credit note states positive amounts (the sign is in the
  document type); a line with a negative price is written as a negative quantity at a
  positive price (EN 16931 BR-27: a net price is never negative).
- VAT categories (UNCL 5305): 21 % and 9 % -> S; 0 % -> K to a business elsewhere in the EU
  (intra-community supply), G to a customer outside the EU (export), Z otherwise;
  reverse-charged -> AE; exempt -> E.
- Buyer reference: the customer's reference (on a credit note: else the credited invoice's),
  else the customer number (Peppol requires a buyer reference or an order reference).
- Endpoints: the seller by KvK number (scheme 0106); the buyer by KvK number, else by VAT id
  where the Peppol EAS list has a VAT scheme for the country; a consumer has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from defusedxml.ElementTree import fromstring as defused_fromstring
from lxml import etree

from betaald.core.errors import DomainError
from betaald.core.invoicing import Line, VatRate, invoice_totals
from betaald.core.money import ZERO
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NSMAP: dict[str | None, str] = {"cac": CAC, "cbc": CBC}

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
KVK_SCHEME = "0106"  # ISO 6523 ICD: Kamer van Koophandel number
SEPA_CREDIT_TRANSFER = "58"  # UNCL 4461

# Peppol EAS (electronic address scheme) codes for a VAT id, per country: the endpoint of a
# buyer without a KvK number. Italy is left out: its VAT scheme 9906 is deprecated in Peppol.
VAT_ENDPOINT_SCHEMES = {
    "AT": "9914", "BE": "9925", "BG": "9926", "CH": "9927", "CY": "9928", "CZ": "9929",
    "DE": "9930", "EE": "9931", "ES": "9920", "FR": "9957", "GB": "9932", "GR": "9933",
    "HR": "9934", "IE": "9935", "LT": "9937", "LU": "9938", "LV": "9939", "MT": "9943",
    "NL": "9944", "PL": "9945", "PT": "9946", "RO": "9947", "SI": "9949", "SK": "9950",
}  # fmt: skip

EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

# UN/ECE Recommendation 20 unit codes for the units people type on a Dutch invoice.
UNIT_CODES = {
    "uur": "HUR",
    "uren": "HUR",
    "u": "HUR",
    "hour": "HUR",
    "hours": "HUR",
    "dag": "DAY",
    "dagen": "DAY",
    "day": "DAY",
    "days": "DAY",
    "week": "WEE",
    "weken": "WEE",
    "maand": "MON",
    "maanden": "MON",
    "month": "MON",
    "jaar": "ANN",
    "year": "ANN",
    "stuk": "H87",
    "stuks": "H87",
    "st": "H87",
    "piece": "H87",
    "pieces": "H87",
    "pcs": "H87",
    "m": "MTR",
    "meter": "MTR",
    "m1": "MTR",
    "m2": "MTK",
    "m²": "MTK",
    "m3": "MTQ",
    "m³": "MTQ",
    "km": "KMT",
    "kg": "KGM",
    "ton": "TNE",
    "l": "LTR",
    "liter": "LTR",
    "set": "SET",
}
DEFAULT_UNIT = "C62"  # "one": a unit of count

TAX_TEXTS = {
    "nl": {
        "AE": "BTW verlegd",
        "E": "Vrijgesteld van btw",
        "K": "Intracommunautaire levering",
        "G": "Uitvoer buiten de EU",
        "terms": "Betalen binnen {days} dagen, uiterlijk {due}, o.v.v. betalingskenmerk {ref}.",
        "terms_no_ref": "Betalen binnen {days} dagen, uiterlijk {due}.",
        "credit": "Creditnota bij factuur {number}.",
    },
    "en": {
        "AE": "VAT reverse-charged",
        "E": "Exempt from VAT",
        "K": "Intra-community supply",
        "G": "Export outside the EU",
        "terms": "Pay within {days} days, by {due}, quoting payment reference {ref}.",
        "terms_no_ref": "Pay within {days} days, by {due}.",
        "credit": "Credit note for invoice {number}.",
    },
}
EXEMPTION_CODES = {"AE": "VATEX-EU-AE", "K": "VATEX-EU-IC", "G": "VATEX-EU-G"}

_SEPARATORS = re.compile(r"[\s.\-]")


class UblNotAvailable(DomainError):
    """Only an issued invoice or credit note has a UBL document."""


@dataclass(frozen=True, slots=True)
class TaxCategory:
    code: str  # UNCL 5305
    percent: Decimal


def tax_category(rate: VatRate, *, buyer_country: str, buyer_is_business: bool) -> TaxCategory:
    """The EN 16931 VAT category of a betaald VAT treatment (see the module docstring)."""
    country = (buyer_country or "NL").upper()
    if rate in (VatRate.STANDARD, VatRate.REDUCED):
        return TaxCategory("S", rate.percent)
    if rate is VatRate.REVERSE_CHARGE:
        return TaxCategory("AE", ZERO)
    if rate is VatRate.EXEMPT:
        return TaxCategory("E", ZERO)
    if country not in EU_COUNTRIES:
        return TaxCategory("G", ZERO)
    if country != "NL" and buyer_is_business:
        return TaxCategory("K", ZERO)
    return TaxCategory("Z", ZERO)


def unit_code(unit: str) -> str:
    return UNIT_CODES.get(unit.strip().lower().rstrip("."), DEFAULT_UNIT)


def money(amount: Decimal) -> str:
    """Two decimals; a negated zero is written as 0.00, never -0.00."""
    return f"{abs(amount) if amount == 0 else amount:.2f}"


def number(value: Decimal) -> str:
    """A quantity or percentage without trailing zeros and never in exponent form."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def compact(identifier: str) -> str:
    return _SEPARATORS.sub("", identifier or "").upper()


def vat_id(value: str, country: str) -> str:
    """A VAT id with its country prefix (BR-CO-09); Greece's prefix is EL."""
    value = compact(value)
    if value and not value[:2].isalpha():
        value = ("EL" if country.upper() == "GR" else country.upper()) + value
    return value


def _sub(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _cbc(parent: etree._Element, tag: str, text: str, **attrs: str) -> Any:
    return _sub(parent, CBC, tag, text, **attrs)


def _cac(parent: etree._Element, tag: str) -> Any:
    return _sub(parent, CAC, tag)


def _address(parent: etree._Element, tag: str, party: dict[str, Any]) -> None:
    address = _cac(parent, tag)
    for key, element in (("street", "StreetName"), ("city", "CityName")):
        if party.get(key):
            _cbc(address, element, party[key])
    if party.get("postal_code"):
        _cbc(address, "PostalZone", party["postal_code"])
    country = _cac(address, "Country")
    _cbc(country, "IdentificationCode", (party.get("country") or "NL").upper())


def _tax_scheme(parent: etree._Element) -> None:
    _cbc(_cac(parent, "TaxScheme"), "ID", "VAT")


def _seller(root: etree._Element, seller: dict[str, Any]) -> None:
    party = _cac(_cac(root, "AccountingSupplierParty"), "Party")
    kvk = compact(seller.get("kvk_number", ""))
    if kvk:
        _cbc(party, "EndpointID", kvk, schemeID=KVK_SCHEME)
    _cbc(_cac(party, "PartyName"), "Name", seller.get("trade_name") or seller.get("legal_name", ""))
    _address(party, "PostalAddress", seller)
    country = (seller.get("country") or "NL").upper()
    if seller.get("vat_number"):
        tax_scheme = _cac(party, "PartyTaxScheme")
        _cbc(tax_scheme, "CompanyID", vat_id(seller["vat_number"], country))
        _tax_scheme(tax_scheme)
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", seller.get("legal_name", ""))
    if kvk:
        _cbc(legal, "CompanyID", kvk, schemeID=KVK_SCHEME)
    legal_form = " ".join(
        part for part in (seller.get("legal_form", ""), seller.get("seat", "")) if part
    )
    if legal_form:
        _cbc(legal, "CompanyLegalForm", legal_form)
    if seller.get("phone") or seller.get("email"):
        contact = _cac(party, "Contact")
        if seller.get("phone"):
            _cbc(contact, "Telephone", seller["phone"])
        if seller.get("email"):
            _cbc(contact, "ElectronicMail", seller["email"])


def buyer_endpoint(buyer: dict[str, Any]) -> tuple[str, str] | None:
    """The buyer's electronic address (Peppol EAS scheme, id), if it has one."""
    country = (buyer.get("country") or "NL").upper()
    kvk = compact(buyer.get("kvk_number", ""))
    if kvk and country == "NL":
        return KVK_SCHEME, kvk
    vat = vat_id(buyer.get("vat_number", ""), country)
    scheme = VAT_ENDPOINT_SCHEMES.get(country)
    if vat and scheme:
        return scheme, vat
    return None


def _buyer(root: etree._Element, buyer: dict[str, Any]) -> None:
    party = _cac(_cac(root, "AccountingCustomerParty"), "Party")
    endpoint = buyer_endpoint(buyer)
    if endpoint is not None:
        _cbc(party, "EndpointID", endpoint[1], schemeID=endpoint[0])
    if buyer.get("number"):
        _cbc(_cac(party, "PartyIdentification"), "ID", buyer["number"])
    _cbc(_cac(party, "PartyName"), "Name", buyer.get("name", ""))
    _address(party, "PostalAddress", buyer)
    country = (buyer.get("country") or "NL").upper()
    if buyer.get("vat_number"):
        tax_scheme = _cac(party, "PartyTaxScheme")
        _cbc(tax_scheme, "CompanyID", vat_id(buyer["vat_number"], country))
        _tax_scheme(tax_scheme)
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", buyer.get("name", ""))
    kvk = compact(buyer.get("kvk_number", ""))
    if kvk and country == "NL":
        _cbc(legal, "CompanyID", kvk, schemeID=KVK_SCHEME)
    if buyer.get("email"):
        _cbc(_cac(party, "Contact"), "ElectronicMail", buyer["email"])


def _tax_category(
    parent: etree._Element, tag: str, category: TaxCategory, language: str, *, reason: bool
) -> None:
    element = _cac(parent, tag)
    _cbc(element, "ID", category.code)
    _cbc(element, "Percent", number(category.percent))
    if reason and category.code in ("AE", "E", "K", "G"):
        if category.code in EXEMPTION_CODES:
            _cbc(element, "TaxExemptionReasonCode", EXEMPTION_CODES[category.code])
        _cbc(element, "TaxExemptionReason", TAX_TEXTS[language][category.code])
    _tax_scheme(element)


@dataclass(frozen=True, slots=True)
class UblLine:
    description: str
    quantity: Decimal
    unit: str
    price: Decimal
    amount: Decimal
    rate: VatRate


def document_lines(invoice: Invoice, stored: list[InvoiceLine]) -> list[UblLine]:
    """The lines as the document states them: positive on a credit note, and never a negative
    price (a discount is a negative quantity at a positive price)."""
    sign = Decimal(-1) if invoice.kind == InvoiceKind.CREDIT_NOTE else Decimal(1)
    result = []
    for line in stored:
        quantity, price = sign * line.quantity, line.unit_price
        if price < 0:
            quantity, price = -quantity, -price
        result.append(
            UblLine(
                description=line.description,
                quantity=quantity,
                unit=line.unit,
                price=price,
                amount=sign * line.amount,
                rate=VatRate(line.vat_rate),
            )
        )
    return result


def invoice_ubl(invoice: Invoice) -> bytes:
    """The issued invoice or credit note as a UBL 2.1 document (Peppol BIS 3.0), UTF-8 bytes."""
    if invoice.status != InvoiceStatus.ISSUED or invoice.issued_on is None:
        raise UblNotAvailable("only an issued invoice has a UBL document", field="status")
    from betaald.invoices.services import customer_snapshot_for_invoice
    from betaald.organisations.services import organisation_snapshot

    # Issued invoices carry their parties as issued; the fallback serves rows issued before
    # the snapshots existed.
    seller: dict[str, Any] = invoice.seller or organisation_snapshot(invoice.organisation)
    buyer: dict[str, Any] = invoice.buyer or customer_snapshot_for_invoice(invoice.customer)
    language = "en" if buyer.get("language") == "en" else "nl"
    texts = TAX_TEXTS[language]
    is_credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    sign = Decimal(-1) if is_credit else Decimal(1)
    currency = invoice.currency or "EUR"
    buyer_country = (buyer.get("country") or "NL").upper()
    buyer_is_business = buyer.get("kind") == "business"

    def category(rate: VatRate) -> TaxCategory:
        return tax_category(rate, buyer_country=buyer_country, buyer_is_business=buyer_is_business)

    stored = list(invoice.lines.all())
    lines = document_lines(invoice, stored)
    totals = invoice_totals(
        [Line(line.quantity, line.unit_price, VatRate(line.vat_rate)) for line in stored]
    )
    if (
        totals.lines != tuple(line.amount for line in stored)
        or totals.excl_vat != invoice.total_excl_vat
        or totals.vat != invoice.total_vat
        or totals.incl_vat != invoice.total
    ):  # the stored invoice contradicts its own lines: never send that
        raise UblNotAvailable(
            f"invoice {invoice.number}: the stored totals do not match its lines", field="total"
        )

    root_ns = NS_CREDIT_NOTE if is_credit else NS_INVOICE
    root_tag = "CreditNote" if is_credit else "Invoice"
    nsmap: dict[str | None, str] = {None: root_ns, **NSMAP}
    root = etree.Element(f"{{{root_ns}}}{root_tag}", nsmap=nsmap)
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", invoice.number)
    _cbc(root, "IssueDate", invoice.issued_on.isoformat())
    if is_credit:
        _cbc(root, "CreditNoteTypeCode", "381")
    else:
        if invoice.due_on:
            _cbc(root, "DueDate", invoice.due_on.isoformat())
        _cbc(root, "InvoiceTypeCode", "380")
    if invoice.notes.strip():
        _cbc(root, "Note", invoice.notes.strip())
    _cbc(root, "DocumentCurrencyCode", currency)
    credited = invoice.credited_invoice if is_credit else None
    reference = invoice.customer_reference or (credited.customer_reference if credited else "")
    _cbc(root, "BuyerReference", reference or buyer.get("number") or "-")
    if credited is not None:
        billing = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(billing, "ID", credited.number)
        if credited.issued_on:
            _cbc(billing, "IssueDate", credited.issued_on.isoformat())
    _seller(root, seller)
    _buyer(root, buyer)
    categories = {category(group.rate) for group in totals.groups}
    delivery = _cac(root, "Delivery")
    # Art. 35a lid 1 g Wet OB: without a separate delivery date, it is the invoice date.
    delivered_on: date = invoice.delivered_on or invoice.issued_on
    _cbc(delivery, "ActualDeliveryDate", delivered_on.isoformat())
    if any(c.code == "K" for c in categories):  # BR-IC-12: the country delivered to
        location = _cac(delivery, "DeliveryLocation")
        address = _cac(location, "Address")
        _cbc(_cac(address, "Country"), "IdentificationCode", buyer_country)
    if not is_credit:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", SEPA_CREDIT_TRANSFER, name="SEPA credit transfer")
        if invoice.payment_reference:
            _cbc(means, "PaymentID", invoice.payment_reference)
        if seller.get("iban"):
            account = _cac(means, "PayeeFinancialAccount")
            _cbc(account, "ID", compact(seller["iban"]))
            _cbc(account, "Name", seller.get("legal_name", ""))
            if seller.get("bic"):
                _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", compact(seller["bic"]))
        due = invoice.due_on or invoice.issued_on
        due_text = due.strftime("%d-%m-%Y") if language == "nl" else due.isoformat()
        template = texts["terms"] if invoice.payment_reference else texts["terms_no_ref"]
        note = template.format(
            days=invoice.payment_term_days, due=due_text, ref=invoice.payment_reference
        )
        _cbc(_cac(root, "PaymentTerms"), "Note", note)
    elif credited is not None:
        _cbc(_cac(root, "PaymentTerms"), "Note", texts["credit"].format(number=credited.number))

    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", money(sign * totals.vat), currencyID=currency)
    for group in totals.groups:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", money(sign * group.base), currencyID=currency)
        _cbc(subtotal, "TaxAmount", money(sign * group.vat), currencyID=currency)
        _tax_category(subtotal, "TaxCategory", category(group.rate), language, reason=True)

    monetary = _cac(root, "LegalMonetaryTotal")
    excl, incl = sign * totals.excl_vat, sign * totals.incl_vat
    _cbc(monetary, "LineExtensionAmount", money(excl), currencyID=currency)
    _cbc(monetary, "TaxExclusiveAmount", money(excl), currencyID=currency)
    _cbc(monetary, "TaxInclusiveAmount", money(incl), currencyID=currency)
    _cbc(monetary, "PayableAmount", money(incl), currencyID=currency)

    line_tag = "CreditNoteLine" if is_credit else "InvoiceLine"
    quantity_tag = "CreditedQuantity" if is_credit else "InvoicedQuantity"
    for index, line in enumerate(lines, start=1):
        element = _cac(root, line_tag)
        _cbc(element, "ID", str(index))
        _cbc(element, quantity_tag, number(line.quantity), unitCode=unit_code(line.unit))
        _cbc(element, "LineExtensionAmount", money(line.amount), currencyID=currency)
        item = _cac(element, "Item")
        _cbc(item, "Name", line.description)
        _tax_category(item, "ClassifiedTaxCategory", category(line.rate), language, reason=False)
        _cbc(_cac(element, "Price"), "PriceAmount", money(line.price), currencyID=currency)
    document: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return document


def ubl_filename(invoice: Invoice) -> str:
    return f"{invoice.number}.xml"


@cache
def ubl_schema(xsd_dir: Path, *, credit_note: bool) -> etree.XMLSchema:
    """The official UBL 2.1 schema (maindoc + the common modules it imports by relative path),
    loaded from files only: no network, no entity expansion."""
    name = "UBL-CreditNote-2.1.xsd" if credit_note else "UBL-Invoice-2.1.xsd"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(xsd_dir / "maindoc" / name), parser))


def parse_ubl(document: bytes) -> etree._Element:
    """Parse a UBL document safely: defusedxml refuses DTDs, entities and external references
    first, then lxml parses without network, entity expansion or huge trees."""
    defused_fromstring(document, forbid_dtd=True)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(document, parser=parser)


def ubl_errors(document: bytes, xsd_dir: Path) -> list[str]:
    """What the official UBL 2.1 XSDs find wrong with `document` (empty when valid)."""
    root = parse_ubl(document)
    schema = ubl_schema(xsd_dir, credit_note=etree.QName(root).localname == "CreditNote")
    if schema.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
