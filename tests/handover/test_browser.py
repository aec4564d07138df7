"""End to end in chromium: from the customer page a credit controller hands an overdue invoice
over to a bailiff, sees the frozen claim and the limitation, and downloads the dossier.
Screenshots go to test-artifacts/handover-*.png."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from betaald.dunning.services import dunning_policies_install_defaults
from betaald.handover.models import Handover
from betaald.organisations.models import Role
from tests.factories import CustomerFactory, MembershipFactory, issued_invoice

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # As in the other browser tests: the live server's connection outlives the PostgreSQL
    # test database; the pages are the same on SQLite.
    pytest.mark.skipif(
        connection.vendor == "postgresql", reason="runs on SQLite (live server connection)"
    ),
]


def test_a_credit_controller_hands_over_and_downloads_the_dossier(live_server, page, screenshot):
    member = MembershipFactory(role=Role.CREDIT_CONTROLLER, user__username="sanne")
    organisation = member.organisation
    dunning_policies_install_defaults(organisation=organisation)
    customer = CustomerFactory(organisation=organisation, name="Bouwbedrijf Stilte B.V.")
    today = timezone.localdate()
    invoice = issued_invoice(customer, amount="4000.00", issued_on=today - timedelta(days=90))
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "sanne")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/customers/{customer.pk}/")
    page.click("text=Uit handen geven")
    page.wait_for_selector("h2:has-text('De vordering vandaag')")
    page.select_option("#id_party_kind", "bailiff")
    page.fill("#id_party_name", "Gerechtsdeurwaarders Van Dam")
    page.check("#id_attachment_requested")
    page.fill("#id_known_assets", "Bedrijfspand aan de Havenweg")
    screenshot("handover-01-form")
    page.click("button:has-text('Uit handen geven')")
    page.wait_for_selector("text=Uit handen gegeven aan Gerechtsdeurwaarders Van Dam")
    handover = Handover.objects.get(organisation=organisation)
    assert handover.claims.get().invoice == invoice
    assert handover.costs > 0
    assert page.is_visible("h2:has-text('Verjaring')")
    screenshot("handover-02-detail")
    with page.expect_download() as download:
        page.click("text=Dossier downloaden (ZIP)")
    names = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes())).namelist()
    assert "dossier.pdf" in names
    assert f"invoices/{invoice.number}.pdf" in names
