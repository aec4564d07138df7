"""PDFs: identical on re-render, the QR code pays the exact amount, long letters hold together."""

from __future__ import annotations

import dataclasses
import subprocess
from decimal import Decimal

import pytest
from django.utils.safestring import mark_safe

from betaald.letters.pdf import epc_payload, letter_pdf, sha256_of
from betaald.letters.rendering import SAMPLE_RECIPIENT, Payment, render_message, sample_context
from tests.letters.conftest import pdf_text, qr_payloads

LONG_NAME = (
    "Stichting Vrienden van het Allerlangste Museum voor Hedendaagse Kunst en "
    "Cultuurhistorisch Erfgoed in de Gemeente Súdwest-Fryslân en Omstreken"
)


def forty_invoice_letter(language: str = "nl"):
    context = sample_context()
    context["invoices"] = [
        {
            "number": f"2026-{n:05}-{'X' * 12}",
            "issued_on": "2026-09-01",
            "due_on": "2026-09-15",
            "principal": f"{1000 + n * 37}.{n:02}",
            "interest": "3.21",
            "costs": "0.00",
        }
        for n in range(40)
    ]
    context["costs_if_unpaid"] = "1234.56"
    recipient = {
        "name": LONG_NAME,
        "address_lines": [
            "Van Oldenbarneveltstraat 1234 bis, achterzijde derde verdieping links",
            "9999 ZZ  Sint-Michielsgestel-aan-de-Dommel",
        ],
    }
    return render_message(
        organisation_id=None,
        kind="final_notice_14_day",
        language=language,
        context=context,
        recipient=recipient,
    )


def test_rendering_the_same_frozen_context_twice_gives_identical_bytes():
    rendered = render_message(
        organisation_id=None,
        kind="demand",
        language="nl",
        context=sample_context(),
        recipient=SAMPLE_RECIPIENT,
    )
    first = letter_pdf(rendered)
    second = letter_pdf(rendered)
    assert first == second
    assert sha256_of(first) == sha256_of(second)
    info = subprocess.run(["pdfinfo", "-isodates", "-"], input=first, capture_output=True)
    assert "CreationDate:    2026-11-30T00:00:00Z" in info.stdout.decode()


@pytest.mark.parametrize("kind", ["final_notice_14_day", "mandate_stopped"])
def test_the_pre_parsed_stylesheet_gives_the_same_bytes_as_the_inlined_one(kind):
    from betaald.letters.pdf import document_html, html_to_pdf, layout_for

    rendered = render_message(
        organisation_id=None,
        kind=kind,
        language="en",
        context=sample_context(),
        recipient=SAMPLE_RECIPIENT,
    )
    inlined = document_html(rendered, template=layout_for(rendered))
    assert "@page" in inlined
    assert letter_pdf(rendered) == html_to_pdf(inlined)
    long = forty_invoice_letter()
    assert letter_pdf(long) == html_to_pdf(document_html(long, template=layout_for(long)))


def test_a_letter_with_40_invoices_and_the_longest_names_lists_them_all_and_the_total():
    rendered = forty_invoice_letter()
    pdf = letter_pdf(rendered)
    text = pdf_text(pdf)
    for n in range(40):
        assert f"2026-{n:05}-" in text
    total = sum(Decimal(f"{1000 + n * 37}.{n:02}") + Decimal("3.21") for n in range(40))
    assert total == Decimal("68996.20")
    assert "€ 68.996,20" in text
    assert "€ 1.234,56" in text
    assert "Súdwest-Fryslân" in text
    pages = text.count("\f")
    assert 2 <= pages <= 3
    assert f"Pagina {pages} / {pages}" in text


def test_the_epc_qr_code_pays_the_exact_amount_to_the_iban_with_the_reference(tmp_path):
    rendered = render_message(
        organisation_id=None,
        kind="reminder",
        language="nl",
        context=sample_context(),
        recipient=SAMPLE_RECIPIENT,
    )
    payloads = qr_payloads(letter_pdf(rendered), tmp_path)
    assert len(payloads) == 1
    lines = payloads[0].split("\n")
    assert lines[5:8] == ["Voorbeeld", "NL20INGB0001234567", "EUR3000"]
    assert lines[-1] == "8000000020250417" or "8000000020250417" in lines
    assert payloads[0].rstrip("\n") == epc_payload(rendered.payment).rstrip("\n")


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00"), Decimal("1000000000.00")])
def test_no_qr_code_when_the_amount_cannot_be_paid_by_transfer(amount):
    payment = Payment(name="X", iban="NL20INGB0001234567", bic="", amount=amount, reference="")
    assert epc_payload(payment) is None


@pytest.mark.django_db
def test_the_organisations_logo_is_on_the_letterhead(organisation, media, tmp_path):
    import segno
    from django.core.files.base import ContentFile

    from betaald.letters.services import sender_snapshot

    buffer = tmp_path / "logo.png"
    segno.make("LOGO").save(str(buffer), scale=10)
    organisation.logo.save("logo.png", ContentFile(buffer.read_bytes()))
    context = {**sample_context(), "sender": sender_snapshot(organisation)}
    rendered = render_message(
        organisation_id=None,
        kind="reminder",
        language="nl",
        context=context,
        recipient=SAMPLE_RECIPIENT,
    )
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(letter_pdf(rendered))
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, check=True)
    lines = images.stdout.decode().strip().splitlines()
    assert len(lines) == 4  # two header lines, the logo and the QR code


@pytest.mark.django_db
def test_the_print_command_writes_the_batch(organisation, customer, media, tmp_path):
    from datetime import UTC, datetime

    from django.core.management import call_command

    from betaald.letters.delivery import message_deliver_now
    from betaald.letters.services import message_queue

    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="letter",
        context={"total": "10.00"},
        unique_key="p",
    )
    message_deliver_now(message.pk, now=datetime(2026, 10, 1, tzinfo=UTC))
    call_command(
        "letters_print", organisation=organisation.pk, date="2026-10-02", out=str(tmp_path)
    )
    assert (tmp_path / "print-2026-10-02.pdf").read_bytes().startswith(b"%PDF")
    assert "Kerkstraat 12" in (tmp_path / "print-2026-10-02.csv").read_text()


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_narrowed_user_agent_stylesheet_gives_the_same_bytes_for_every_kind(language):
    """pdf.html_document narrows WeasyPrint's universal ::marker and footnote/note rules for
    speed; every letter must come out byte for byte as with WeasyPrint's stock stylesheet."""
    from weasyprint import HTML

    from betaald.letters.models import MessageKind
    from betaald.letters.pdf import (
        LAYOUT_DIR,
        _weasyprint_state,
        document_html,
        layout_for,
        letter_stylesheet,
    )

    fonts, cache = _weasyprint_state()
    rendered_all = [
        render_message(
            organisation_id=None,
            kind=kind,
            language=language,
            context=sample_context(),
            recipient=SAMPLE_RECIPIENT,
        )
        for kind in MessageKind.values
        if kind != "invoice"
    ]
    rendered_all.append(forty_invoice_letter(language))
    # a body with a list, where ::marker does apply
    rendered_all.append(
        dataclasses.replace(rendered_all[0], html=mark_safe("<ul><li>één</li><li>twee</li></ul>"))
    )
    for rendered in rendered_all:
        html = document_html(rendered, template=layout_for(rendered), inline_css=False)
        stock = (
            HTML(string=html, base_url=str(LAYOUT_DIR))
            .render(font_config=fonts, cache=cache, stylesheets=[letter_stylesheet()])
            .write_pdf(pdf_identifier=False)
        )
        assert letter_pdf(rendered) == stock, rendered.subject


def test_the_narrowed_user_agent_stylesheet_fails_loudly_when_weasyprint_changes(monkeypatch):
    import weasyprint.html

    from betaald.letters.pdf import ua_stylesheet_text

    assert "\nli::marker, summary::marker {" in ua_stylesheet_text()
    monkeypatch.setattr(weasyprint.html, "UA", weasyprint.html.UA.replace("::marker {", "x {"))
    with pytest.raises(RuntimeError, match="::marker"):
        ua_stylesheet_text()
