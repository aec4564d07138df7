"""Bank pages and API: login, tenancy, roles; upload imports and matches; the review queue
shows candidates with their reasons and its actions work."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from betaald.bank.models import BankAccount, BankTransaction, Statement, TransactionStatus
from betaald.invoices.selectors import invoice_open_amount
from betaald.organisations.models import Role
from tests.bank.test_statements_hostile import XXE
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice

pytestmark = pytest.mark.django_db

REALDATA = Path(settings.SHARED_DIR) / "realdata"
ING = REALDATA / "mt940/ing_mt940_sepa-structured_returns.940"
ACCOUNT = "NL77INGB0574908765"


@pytest.fixture
def member():
    membership = MembershipFactory(role=Role.OWNER)
    BankAccount.objects.create(organisation=membership.organisation, iban=ACCOUNT)
    return membership


@pytest.fixture
def browser(member):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # assertions read the English text
    client.force_login(member.user)
    return client


def upload(browser, data: bytes, name: str = "statement.940", **extra):
    return browser.post(reverse("bank:upload"), {"file": SimpleUploadedFile(name, data), **extra})


def ing_paying(invoice) -> bytes:
    """The real ING file with one line turned into a payment of `invoice` (kenmerk + amount)."""
    text = ING.read_text()
    text = text.replace("C32,00NTRF9001123412341234", f"C{invoice.total},00NTRF".replace(".", ","))
    text = text.replace("CUR/9001123412341234/", f"CUR/{invoice.payment_reference}/")
    return text.replace(",00,00", ",00").encode()


def test_bank_pages_need_a_login(client):
    for url in [reverse("bank:index"), reverse("bank:review")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_index_shows_accounts_and_the_upload_form(browser):
    response = browser.get(reverse("bank:index"))
    assert response.status_code == 200
    assert ACCOUNT in response.content.decode()
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_uploading_a_statement_imports_and_matches(member, browser):
    customer = CustomerFactory(organisation=member.organisation)
    invoice = issued_invoice(customer, amount="100.00")  # total 121.00
    response = upload(browser, ing_paying(invoice))
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 statement(s) and 8 transaction(s) imported" in body
    assert "Booked automatically: 1" in body  # the outcome by its label, not its code
    assert invoice_open_amount(invoice) == Decimal("0.00")
    assert BankTransaction.objects.filter(status=TransactionStatus.MATCHED).count() == 1
    index = browser.get(reverse("bank:index")).content.decode()
    assert "564,35" in index  # the closing balance as cash position
    # received on 2014-02-20: 1.56 + 1.45 + 121.00 (the 1.57 return is not money received)
    assert "124,01" in index


def test_a_dry_run_upload_saves_nothing(browser):
    response = upload(browser, ING.read_bytes(), dry_run="on")
    assert response.status_code == 200
    assert "nothing was saved" in response.content.decode()
    assert Statement.objects.count() == 0


def test_a_hostile_upload_is_refused_naming_the_place(browser):
    response = upload(browser, XXE, "evil.xml")
    assert response.status_code == 422
    assert "evil.xml: line 2" in response.content.decode()


def test_an_upload_for_another_account_names_it_and_offers_to_add_it(browser):
    data = ING.read_bytes().replace(ACCOUNT.encode(), b"NL91ABNA0417164300")
    response = upload(browser, data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "NL91ABNA0417164300" in body
    assert reverse("bank:account_add") in body
    assert BankTransaction.objects.count() == 0
    browser.post(reverse("bank:account_add"), {"iban": "NL91 ABNA 0417 1643 00", "name": "Spaar"})
    assert BankAccount.objects.filter(iban="NL91ABNA0417164300").exists()


def test_review_queue_shows_candidates_with_reasons_and_not_ours_works(member, browser):
    customer = CustomerFactory(organisation=member.organisation)
    invoice = issued_invoice(customer, amount="100.00")
    text = ING.read_text().replace("EV10001REP1000000T1000", f"Factuurnr {invoice.number}")
    upload(browser, text.encode())  # 1.56 naming the invoice: a candidate, amount differs
    lines = BankTransaction.objects.filter(status=TransactionStatus.REVIEW)
    assert lines.exists()
    page = browser.get(reverse("bank:review")).content.decode()
    assert f"invoice number {invoice.number} in the description" in page
    assert "Accept" in page
    assert "Not ours" in page
    first = lines.order_by("pk").first()
    response = browser.post(reverse("bank:review_not_ours", args=[first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == TransactionStatus.NOT_OURS


def test_accept_and_split_from_the_review_page(member, browser):
    customer = CustomerFactory(organisation=member.organisation)
    invoice = issued_invoice(customer, amount="1.00")  # 1.21
    text = ING.read_text().replace("EV10001REP1000000T1000", f"factuur {invoice.number}")
    upload(browser, text.encode())
    tx = BankTransaction.objects.get(amount=Decimal("1.56"))
    assert tx.status == TransactionStatus.REVIEW  # number found, amount differs
    split_page = browser.get(reverse("bank:review_split", args=[tx.pk]))
    assert split_page.status_code == 200
    assert invoice.number in split_page.content.decode()
    response = browser.post(
        reverse("bank:review_split", args=[tx.pk]),
        {"customer": customer.pk, f"amount_{invoice.pk}": "1.56"},
    )
    assert response.status_code == 302
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.ACCEPTED
    assert invoice_open_amount(invoice) == Decimal("0.00")


def test_accept_button_books_the_candidate(member, browser):
    customer = CustomerFactory(organisation=member.organisation)
    invoice = issued_invoice(customer, amount="1.00")
    text = ING.read_text().replace("EV10001REP1000000T1000", f"factuur {invoice.number}")
    upload(browser, text.encode())
    tx = BankTransaction.objects.get(amount=Decimal("1.56"))
    response = browser.post(reverse("bank:review_accept", args=[tx.pk, 0]))
    assert response.status_code == 302
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.ACCEPTED


def test_readers_cannot_upload_or_review(member):
    reader = MembershipFactory(organisation=member.organisation, role=Role.ACCOUNTANT)
    client = Client()
    client.force_login(reader.user)
    assert client.get(reverse("bank:index")).status_code == 200
    assert upload(client, ING.read_bytes()).status_code == 403
    assert client.post(reverse("bank:review_not_ours", args=[1])).status_code == 403


def test_another_organisations_transaction_is_a_404(member, browser):
    other = MembershipFactory(role=Role.OWNER)
    BankAccount.objects.create(organisation=other.organisation, iban=ACCOUNT)
    client = Client()
    client.force_login(other.user)
    upload(client, ING.read_bytes())
    foreign = BankTransaction.objects.filter(organisation=other.organisation).first()
    assert browser.post(reverse("bank:review_not_ours", args=[foreign.pk])).status_code == 404
    assert browser.get(reverse("bank:review_split", args=[foreign.pk])).status_code == 404


def test_api_dry_run_and_import(member, browser):
    url = "/api/v1/bank/statements"
    dry = browser.post(
        url + "?dry_run=true", {"file": SimpleUploadedFile("s.940", ING.read_bytes())}
    )
    assert dry.status_code == 200, dry.content
    assert dry.json()["entries"] == 8
    assert dry.json()["dry_run"] is True
    assert Statement.objects.count() == 0
    real = browser.post(url, {"file": SimpleUploadedFile("s.940", ING.read_bytes())})
    assert real.status_code == 200, real.content
    assert real.json()["transactions_created"] == 8
    review = browser.get("/api/v1/bank/review")
    assert review.status_code == 200
    assert all("candidates" in row for row in review.json())


def test_api_refuses_hostile_files_as_problem_json(browser):
    response = browser.post(
        "/api/v1/bank/statements", {"file": SimpleUploadedFile("evil.xml", XXE)}
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "evil.xml: line 2" in response.json()["detail"]


def test_api_needs_a_login(client):
    assert client.get("/api/v1/bank/review").status_code == 401


def test_an_htmx_upload_returns_only_the_result_fragment(browser):
    response = browser.post(
        reverse("bank:upload"),
        {"file": SimpleUploadedFile("s.940", ING.read_bytes()), "dry_run": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="import-result"' in body
    assert "<html" not in body


def test_matching_the_queue_again_books_lines_that_became_unambiguous(member, browser):
    from betaald.debtors.models import CustomerIban

    customer = CustomerFactory(organisation=member.organisation)
    upload(browser, ING.read_bytes())  # nothing of ours: J.Janssen's 32.00 goes to review
    tx = BankTransaction.objects.get(amount=Decimal("32.00"))
    assert tx.status == TransactionStatus.REVIEW
    issued_invoice(customer, amount="32.00", vat_rate="0")  # open 32.00
    CustomerIban.objects.create(customer=customer, iban=tx.counterparty_iban)
    response = browser.post(reverse("bank:review_match_again"))
    assert response.status_code == 302
    tx.refresh_from_db()
    assert tx.status == TransactionStatus.MATCHED
    assert tx.customer == customer


def test_mandates_page_adds_a_mandate_and_downloads_a_collection(member, browser):
    from betaald.bank.models import Mandate

    organisation = member.organisation
    organisation.sepa_creditor_id = "NL08ZZZ502057730000"
    organisation.save()
    customer = CustomerFactory(organisation=organisation)
    issued_invoice(customer, amount="10.00")
    url = reverse("bank:mandates")
    assert browser.get(url).status_code == 200
    bad = browser.post(
        url,
        {
            "customer": customer.pk,
            "reference": "M-1",
            "signed_on": "2026-01-01",
            "iban": "NL91ABNA0417164301",
            "scheme": "CORE",
        },
    )
    assert bad.status_code == 200
    assert "IBAN" in bad.content.decode()
    assert not Mandate.objects.exists()
    browser.post(
        url,
        {
            "customer": customer.pk,
            "reference": "M-1",
            "signed_on": "2026-01-01",
            "iban": "NL91ABNA0417164300",
            "scheme": "CORE",
        },
    )
    assert Mandate.objects.get().reference == "M-1"
    download = browser.post(
        url, {"collection_on": "2099-01-05", "scheme": "CORE", "version": "pain.008.001.08"}
    )
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"pain.008.001.08" in download.content
    too_early = browser.post(
        url, {"collection_on": "2000-01-05", "scheme": "CORE", "version": "pain.008.001.02"}
    )
    assert "earliest" in too_early.content.decode()


def test_a_duplicate_upload_is_refused_in_the_readers_language(member, browser):
    dutch = Client()
    dutch.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    dutch.force_login(member.user)
    data = ING.read_bytes()
    assert upload(dutch, data).status_code == 200
    again = upload(dutch, data)
    assert again.status_code == 409
    body = again.content.decode()
    assert "dit bestand is al eerder geïmporteerd" in body
    assert "er is niets gewijzigd" in body
    english = upload(browser, data).content.decode()
    assert "this file was imported before" in english
