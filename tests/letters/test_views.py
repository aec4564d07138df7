"""The outbox pages: scoped to the organisation, writes only for writers, evidence export."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from betaald.letters.delivery import message_deliver_now
from betaald.letters.models import Message, MessageTemplate
from betaald.letters.services import invoice_send, message_queue
from betaald.organisations.models import Membership, Role
from tests.letters.conftest import make_customer, make_organisation

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def login(client, organisation, role=Role.OWNER, name="anna"):
    user = get_user_model().objects.create_user(username=name, password="x-very-secret-1")
    Membership.objects.create(organisation=organisation, user=user, role=role)
    client.force_login(user)
    return user


def test_the_outbox_lists_and_filters_only_this_organisations_messages(
    client, organisation, customer
):
    other = make_organisation(legal_name="Ander B.V.")
    stranger = make_customer(other, "X1", name="Vreemde Klant")
    for org, cust, key in ((organisation, customer, "a"), (other, stranger, "b")):
        message_queue(
            organisation=org,
            customer=cust,
            kind="reminder",
            channel="email",
            context={},
            unique_key=key,
        )
    login(client, organisation)
    page = client.get(reverse("letters:index"))
    assert page.status_code == 200
    assert "Jan Jansen" in page.content.decode()
    assert "Vreemde Klant" not in page.content.decode()
    assert (
        "Jan Jansen"
        not in client.get(reverse("letters:index"), {"channel": "sms"}).content.decode()
    )
    foreign = Message.objects.get(unique_key="b")
    assert client.get(reverse("letters:message_detail", args=[foreign.pk])).status_code == 404
    assert client.get(reverse("letters:message_pdf", args=[foreign.pk])).status_code == 404


def test_the_message_page_shows_the_evidence_and_the_pdf_downloads(
    client, smtp_server, media, organisation, invoice
):
    message, _ = invoice_send(invoice=invoice, actor=None)
    message_deliver_now(message.pk, now=NOW)
    message.refresh_from_db()
    login(client, organisation)
    page = client.get(reverse("letters:message_detail", args=[message.pk])).content.decode()
    assert message.pdf_sha256 in page
    assert "250 2.0.0 OK queued as" in page
    assert "jan@example.nl" in page
    pdf = client.get(reverse("letters:message_pdf", args=[message.pk]))
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    preview = client.get(reverse("letters:message_preview", args=[message.pk]))
    assert preview.status_code == 200
    assert "8000000020250417" in preview.content.decode()

    archive = client.get(reverse("letters:evidence", args=[invoice.customer_id]))
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        names = bundle.namelist()
        data = json.loads(bundle.read("messages.json"))
    assert f"pdf/{message.pk}-invoice-{message.pdf_sha256}.pdf" in names
    assert data["messages"][0]["smtp_response"].startswith("250")


def test_a_read_only_member_cannot_resend_or_edit_templates(client, organisation, customer, media):
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="letter",
        context={},
        unique_key="k",
    )
    login(client, organisation, role=Role.ACCOUNTANT, name="acc")
    url = reverse("letters:message_resend", args=[message.pk])
    assert client.post(url, {"reason": "x"}).status_code == 403
    edit = reverse("letters:template_edit", args=["reminder", "nl"])
    assert client.get(edit).status_code == 200
    assert client.post(edit, {"subject": "x", "body": "y", "sms_text": ""}).status_code == 403


def test_the_template_editor_refuses_unknown_placeholders_and_previews_on_real_data(
    client, organisation, invoice
):
    login(client, organisation)
    edit = reverse("letters:template_edit", args=["reminder", "nl"])
    page = client.get(edit).content.decode()
    assert "2026-0001" in page  # the preview uses the organisation's real invoice
    refused = client.post(edit, {"subject": "Hoi", "body": "{{ klant }}", "sms_text": ""})
    assert refused.status_code == 422
    assert "onbekende plaatshouder {{ klant }}" in refused.content.decode()
    assert not MessageTemplate.objects.exists()
    preview = client.post(
        reverse("letters:template_preview", args=["reminder", "nl"]),
        {"subject": "Hoi {{ customer.name }}", "body": "<p>Te betalen: {{ total }}</p>"},
    ).content.decode()
    assert "Hoi Jan Jansen" in preview
    assert "€\xa01.210,00" in preview
    saved = client.post(edit, {"subject": "Hoi", "body": "<p>{{ total }}</p>", "sms_text": ""})
    assert saved.status_code == 302
    assert MessageTemplate.objects.get().body == "<p>{{ total }}</p>"


def test_a_resend_from_the_message_page_queues_a_copy_with_the_reason(
    client, organisation, customer, media
):
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="letter",
        context={},
        unique_key="k",
    )
    message_deliver_now(message.pk, now=NOW)
    login(client, organisation)
    response = client.post(
        reverse("letters:message_resend", args=[message.pk]),
        {"reason": "adres gewijzigd", "channel": "email"},
    )
    copy = Message.objects.get(unique_key="k:resend:1")
    assert response.url == reverse("letters:message_detail", args=[copy.pk])
    assert copy.channel == "email"


def test_the_print_page_downloads_todays_batch(client, organisation, customer, media):
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="letter",
        context={"total": "10.00"},
        unique_key="k",
    )
    message_deliver_now(message.pk, now=NOW)
    login(client, organisation)
    assert "Kerkstraat 12" in client.get(reverse("letters:print")).content.decode()
    csv_file = client.post(reverse("letters:print_batch"), {"day": "2026-10-01", "format": "csv"})
    assert "1234 AB" in csv_file.content.decode()
    pdf = client.post(reverse("letters:print_batch"), {"day": "2026-10-01", "format": "pdf"})
    assert pdf.content.startswith(b"%PDF")
