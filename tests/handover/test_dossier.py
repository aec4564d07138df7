"""The hand-over dossier (reference §10; art. 700 lid 2 Rv) and its pages: what is in the ZIP,
the summary PDF as a person reads it, the limitation of each claim, the refusals, roles and
tenancy."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

import pytest
from django.urls import reverse
from django.utils import timezone

from betaald.debtors.models import CustomerIban
from betaald.dunning.services import dunning_run
from betaald.handover.models import Handover, HandoverStatus, PartyKind
from betaald.handover.selectors import claim_limitation
from betaald.handover.services import handover_create
from betaald.letters.delivery import message_deliver_now
from betaald.letters.models import Message
from betaald.organisations.models import Role
from betaald.payments.services import payment_register
from tests.factories import MembershipFactory, OrganisationFactory
from tests.letters.conftest import pdf_text

from .conftest import DUE, HANDOVER_DAY, invoice_for


@pytest.fixture
def client_owner(client, owner, settings):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def deliver_queued(day):
    """What the mail worker does that day: render and send every queued message."""
    moment = timezone.make_aware(datetime.combine(day, time(10)))
    for pk in Message.objects.filter(status="queued").values_list("pk", flat=True):
        message_deliver_now(pk, now=moment)


@pytest.fixture
def handed_over(business):
    """A business claim with a part payment from a known IBAN, reminded by the real dunning
    run for six weeks, then handed over to a lawyer with conservatoir beslag asked for."""
    invoice = invoice_for(business)
    CustomerIban.objects.create(customer=business, iban="NL91ABNA0417164300", source="manual")
    payment_register(
        organisation=business.organisation,
        customer=business,
        amount=Decimal("210.00"),
        received_on=DUE + timedelta(days=3),
        counterparty_iban="NL02RABO0123456789",
        designated_invoice=invoice,
    )
    day = DUE
    while day < DUE + timedelta(days=42):
        dunning_run(organisation=business.organisation, today=day)
        deliver_queued(day)
        day += timedelta(days=1)
    return handover_create(
        customer=business,
        invoices=[invoice],
        party_kind=PartyKind.LAWYER,
        party_name="Advocatenkantoor De Wit",
        party_reference="DW-2026-117",
        attachment_requested=True,
        known_assets="Bedrijfsbus NL-123-X",
        dissipation_facts="Verkoopt zijn voorraad onder de prijs.",
        actor=None,
        today=day,
    )


def test_the_zip_holds_the_whole_dossier(handed_over):
    from betaald.handover.dossier import dossier_zip

    archive = zipfile.ZipFile(io.BytesIO(dossier_zip(handed_over)))
    names = set(archive.namelist())
    invoice = handed_over.claims.get().invoice
    assert {
        "dossier.json",
        "dossier.pdf",
        "claims.csv",
        "messages.csv",
        "payments.csv",
        "audit.csv",
        f"invoices/{invoice.number}.pdf",
    } <= names
    assert any(name.startswith("invoices/") and name.endswith(".xml") for name in names)
    data = json.loads(archive.read("dossier.json"))
    assert data["debtor"]["name"] == handed_over.customer.name
    assert data["debtor"]["class"] == "business"
    assert data["party"] == {
        "kind": "lawyer",
        "name": "Advocatenkantoor De Wit",
        "email": "",
        "reference": "DW-2026-117",
        "justis_number": "",
    }
    assert data["claim"]["principal"] == "1000.00"  # 1210.00 less the part payment
    # The rentenota behind the interest: its years add up to the interest claimed, at the
    # commercial rate of the period (art. 6:119a BW; 10.15 % since 2025-07-01).
    calculation = data["claim"]["claims"][0]["interest_calculation"]
    assert sum(Decimal(y["interest"]) for y in calculation["years"]) == Decimal(
        data["claim"]["claims"][0]["interest"]
    )
    assert {Decimal(r["percent"]) for r in calculation["rates"]} == {Decimal("10.15")}
    assert data["claim"]["total"] == str(handed_over.total)
    assert data["claim"]["court"] == "kantonrechter"
    assert data["claim"]["appeal_possible"] is False  # art. 332 Rv: not above EUR 1,750
    ibans = {row["iban"]: row["source"] for row in data["attachment"]["known_ibans"]}
    assert ibans == {"NL91ABNA0417164300": "manual", "NL02RABO0123456789": "payment"}
    assert data["attachment"]["requested"] is True
    assert data["attachment"]["amount_to_secure"] == str(handed_over.amount_to_secure)
    assert [p["amount"] for p in data["payments"]] == ["210.00"]
    kinds = [m["kind"] for m in data["messages"]]
    assert "reminder" in kinds
    assert "handover_notice" in kinds
    audit = archive.read("audit.csv").decode()
    assert "handover.handover.created" in audit
    # The invoice PDF is the invoice: number and total in its text.
    text = pdf_text(archive.read(f"invoices/{invoice.number}.pdf"))
    assert invoice.number in text
    assert "1.210,00" in text


def test_the_limitation_counts_the_part_payment_and_the_reminders(handed_over):
    """Art. 3:307 BW: five years from the day after the due date (2031-01-19); the part
    payment (art. 3:318) and each reminder that reached the debtor (art. 3:317) start a new
    five-year term the day after (art. 3:319), so the last act decides."""
    invoice = handed_over.claims.get().invoice
    result = claim_limitation(invoice)
    assert result.original_last_day == DUE.replace(year=2031)
    kinds = {row.kind.value for row in result.rows}
    assert kinds == {"acknowledgement", "written_demand"}
    last_act = max(row.on for row in result.rows)
    assert result.last_day == last_act.replace(year=last_act.year + 5)
    assert not result.is_barred(HANDOVER_DAY)


def test_the_summary_pdf_reads_as_a_dossier(handed_over, settings):
    from betaald.handover.dossier import dossier_pdf

    content = dossier_pdf(handed_over)
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "handover-dossier.pdf").write_bytes(content)  # to look at (pdftoppm)
    text = pdf_text(content)
    flat = " ".join(text.split())
    assert handed_over.customer.name in flat
    assert "Advocatenkantoor De Wit" in flat
    assert "kantonrechter" in flat
    assert "NL02RABO0123456789" in flat
    assert "1.000,00" in flat  # the principal, written the Dutch way
    assert "art. 700" in flat


def test_pages_hand_over_and_withdraw(client_owner, business):
    invoice = invoice_for(business)
    form = client_owner.get(reverse("handover:create") + f"?customer={business.pk}")
    assert form.status_code == 200
    assert invoice.number in form.content.decode()
    refused = client_owner.post(
        reverse("handover:create"),
        {"customer": business.pk, "invoices": [invoice.pk], "party_kind": "bailiff"},
    )
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()
    response = client_owner.post(
        reverse("handover:create"),
        {
            "customer": business.pk,
            "invoices": [invoice.pk],
            "party_kind": "bailiff",
            "party_name": "Deurwaarders Van Dam",
        },
    )
    handover = Handover.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("handover:detail", args=[handover.pk])
    page = client_owner.get(response.url).content.decode()
    assert "Deurwaarders Van Dam" in page
    assert "Limitation (verjaring)" in page
    assert client_owner.get(reverse("handover:index")).status_code == 200
    download = client_owner.get(reverse("handover:dossier_zip", args=[handover.pk]))
    assert download["Content-Type"] == "application/zip"
    assert client_owner.get(reverse("handover:dossier_pdf", args=[handover.pk])).status_code == 200
    client_owner.post(reverse("handover:withdraw", args=[handover.pk]), {"reason": "Betaald"})
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.WITHDRAWN


def test_the_form_speaks_dutch(client, owner, business):
    invoice_for(business)
    client.force_login(owner)
    page = client.get(reverse("handover:create") + f"?customer={business.pk}").content.decode()
    assert "Uit handen geven" in page
    assert "Gerechtsdeurwaarder" in page


def test_a_reader_cannot_hand_over_and_another_organisation_sees_nothing(
    client, organisation, business, handed_over
):
    accountant = MembershipFactory(organisation=organisation, role=Role.ACCOUNTANT).user
    client.force_login(accountant)
    assert client.get(reverse("handover:detail", args=[handed_over.pk])).status_code == 200
    invoice = invoice_for(business)
    response = client.post(
        reverse("handover:create"),
        {
            "customer": business.pk,
            "invoices": [invoice.pk],
            "party_kind": "bailiff",
            "party_name": "X",
        },
    )
    assert response.status_code == 403
    assert (
        client.post(
            reverse("handover:withdraw", args=[handed_over.pk]), {"reason": "x"}
        ).status_code
        == 403
    )
    other = MembershipFactory(organisation=OrganisationFactory()).user
    client.force_login(other)
    for url in (
        reverse("handover:detail", args=[handed_over.pk]),
        reverse("handover:dossier_zip", args=[handed_over.pk]),
        reverse("handover:create") + f"?customer={business.pk}",
    ):
        assert client.get(url).status_code == 404, url


def test_limitation_alerts_warn_ahead_and_count_acknowledgements(organisation, business, consumer):
    """Art. 7:28 BW: a consumer sale is barred two years after the due date; a part payment
    (art. 3:318 BW) starts a new term (art. 3:319 BW). Business claims run five years
    (art. 3:307 BW) and are not near."""
    from datetime import date

    from betaald.handover.selectors import limitation_alerts
    from tests.factories import issued_invoice

    old = issued_invoice(consumer, issued_on=date(2024, 1, 5), term=14)  # due 2024-01-19
    paid_on = issued_invoice(consumer, amount="500.00", issued_on=date(2024, 1, 5), term=14)
    payment_register(
        organisation=organisation,
        customer=consumer,
        amount=Decimal("100.00"),
        received_on=date(2025, 6, 1),
        designated_invoice=paid_on,
    )
    issued_invoice(business, issued_on=date(2024, 1, 5), term=14)
    alerts = limitation_alerts(organisation, date(2025, 10, 1))
    assert [(invoice.number, result.last_day) for invoice, result in alerts] == [
        (old.number, date(2026, 1, 19))
    ]
    assert alerts[0][1].days_left(date(2025, 10, 1)) == 110
    # Past the last day it is listed as barred (the debtor must invoke it, art. 3:322 BW).
    late = limitation_alerts(organisation, date(2026, 2, 1))
    assert [invoice.number for invoice, _r in late] == [old.number]
    assert late[0][1].is_barred(date(2026, 2, 1))


def test_the_collection_page_lists_the_alerts(client_owner, consumer):
    from datetime import date

    from tests.factories import issued_invoice

    old = issued_invoice(consumer, issued_on=date(2024, 1, 5), term=14)
    page = client_owner.get(reverse("handover:index")).content.decode()
    assert "Limitation ahead" in page
    assert old.number in page  # barred since 2026-01-20 (two years, art. 7:28 BW)
    assert "barred" in page


def test_a_stuitingsbrief_interrupts_limitation_once_received(client_owner, consumer, media):
    """Art. 3:317 lid 1 BW: a written reservation of the right to payment interrupts
    limitation once it reaches the debtor (art. 3:37 lid 3 BW; a posted letter on its
    presumed day of receipt); the new two-year term (art. 7:28, 3:319 BW) runs from then."""
    from datetime import date

    from betaald.handover.selectors import claim_limitation
    from tests.factories import issued_invoice
    from tests.letters.conftest import pdf_text

    old = issued_invoice(consumer, issued_on=date(2024, 1, 5), term=14)  # due 2024-01-19
    day = date(2025, 12, 1)
    before = claim_limitation(old)
    assert before.last_day == date(2026, 1, 19)
    with patch("betaald.handover.views.local_today", return_value=day):
        response = client_owner.post(reverse("handover:limitation_notice"), {"invoice": old.pk})
        client_owner.post(reverse("handover:limitation_notice"), {"invoice": old.pk})
    assert response.status_code == 302
    letter = Message.objects.get(kind="limitation_notice")  # once per day, not twice
    assert letter.channel == "letter"
    deliver_queued(day)
    letter.refresh_from_db()
    assert letter.status == "sent"
    with letter.pdf.open("rb") as handle:
        text = " ".join(pdf_text(handle.read()).split())
    assert "3:317" in text
    assert old.number in text
    after = claim_limitation(old)
    received = after.rows[-1].on  # the presumed day of receipt, after the posting day
    assert received > day
    assert after.last_day == received.replace(year=received.year + 2)


def test_the_dossier_holds_only_the_handed_over_invoices(handed_over, business):
    """A third party gets what concerns the claims handed over: not the customer's other
    invoices' letters or audit trail, and no staff names or internal notes."""
    from betaald.handover.dossier import dossier_zip

    other = invoice_for(business)
    other_event = f"invoice {other.number}"
    archive = zipfile.ZipFile(io.BytesIO(dossier_zip(handed_over)))
    data = json.loads(archive.read("dossier.json"))
    assert all(other.number not in m["invoices"].split() for m in data["messages"])
    audit = archive.read("audit.csv").decode()
    assert other.number not in audit, other_event
    assert audit.splitlines()[0] == "occurred_at,event,invoice,before,after"
    assert "handover.handover.created" in audit


def test_the_dunning_proposal_task_leads_to_the_hand_over_form(client, owner, business):
    """The dunning policy's hand-over proposal lands on the worklist; its page links to the
    hand-over form for that customer (in Dutch, the default language)."""
    from betaald.dunning.models import CallTask, TaskKind

    invoice = invoice_for(business)
    task = CallTask.objects.create(
        organisation=business.organisation,
        customer=business,
        invoice=invoice,
        kind=TaskKind.HANDOVER,
        unique_key=f"handover:{business.pk}:test",
        due_on=HANDOVER_DAY,
        overdue_since=DUE,
        amount=Decimal("1210.00"),
    )
    client.force_login(owner)
    page = client.get(reverse("dunning:task_detail", args=[task.pk])).content.decode()
    assert f"{reverse('handover:create')}?customer={business.pk}" in page
    assert "Deze taak sluit vanzelf" in page
