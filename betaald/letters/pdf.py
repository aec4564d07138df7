"""Letters and invoices as PDF (WeasyPrint), with an EPC payment QR code (segno).

A PDF depends only on the message's frozen context: the creation date written into the PDF is
the letter date from that context, and the file identifier is derived from the content, so a
re-render is byte-identical and its SHA-256 proves what was sent.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import threading
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import segno
import segno.helpers
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from betaald.letters.rendering import Payment, Rendered

LAYOUT_DIR = Path(__file__).resolve().parent / "templates" / "letters" / "layout"
EPC_MAX = Decimal("999999999.99")
EPC_MIN = Decimal("0.01")


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return (LAYOUT_DIR / "style.css").read_text(encoding="utf-8")


def epc_payload(payment: Payment) -> str | None:
    """The EPC069-12 (GiroCode) text for a credit transfer of the exact amount, or None when a
    QR code cannot be made (nothing to pay, no IBAN). The betalingskenmerk goes in the
    unstructured remittance: EPC's structured field is for ISO 11649 references only."""
    qr = epc_qr(payment)
    if qr is None:
        return None
    make_data = getattr(segno.helpers, "_make_epc_qr_data")  # noqa: B009 - the payload segno encodes
    data = make_data(
        payment.name,
        payment.iban,
        payment.amount,
        text=payment.reference or "-",
        bic=payment.bic or None,
    )
    return data.decode("utf-8") if isinstance(data, bytes) else str(data)


def epc_qr(payment: Payment) -> segno.QRCode | None:
    if not payment.iban or not EPC_MIN <= payment.amount <= EPC_MAX:
        return None
    return segno.helpers.make_epc_qr(
        name=payment.name,
        iban=payment.iban,
        amount=payment.amount,
        text=payment.reference or "-",
        bic=payment.bic or None,
    )


def epc_qr_data_uri(payment: Payment) -> str | None:
    """The QR code as a PNG: WeasyPrint draws a bitmap far faster than an SVG path of
    hundreds of modules, and a module of 4 px at 30 mm still scans."""
    qr = epc_qr(payment)
    if qr is None:
        return None
    return str(qr.png_data_uri(scale=4, border=0))


@lru_cache(maxsize=32)
def logo_data_uri(name: str) -> str | None:
    """The organisation's logo embedded in the PDF (no network, no paths in the document)."""
    if not name:
        return None
    try:
        with default_storage.open(name, "rb") as handle:
            content = handle.read()
    except OSError:
        return None
    mime = mimetypes.guess_type(name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def document_html(
    rendered: Rendered,
    *,
    template: str = "letters/layout/letter.html",
    inline_css: bool = True,
) -> str:
    """The letter as one HTML page. For a PDF the stylesheet is left out (`inline_css=False`)
    and given to WeasyPrint already parsed (`letter_stylesheet`); the HTML preview inlines it."""
    display = rendered.display
    context: dict[str, Any] = {
        **display,
        "subject": rendered.subject,
        "body": rendered.html,
        "body_has_table": "claims" in rendered.html or not display["invoices"],
        "css": mark_safe(stylesheet()) if inline_css else "",  # noqa: S308 - our own file
        "created": display.get("date_iso", ""),
        "qr": epc_qr_data_uri(rendered.payment),
        "logo": logo_data_uri(str(display["sender"].get("logo", ""))),
        "payment": rendered.payment,
    }
    return render_to_string(template, context)


_local = threading.local()


# WeasyPrint's image cache is keyed by URL: every letter's QR code is a new data: URL, so a
# long-running worker clears it now and then (the logo is simply decoded again).
IMAGE_CACHE_LIMIT = 64


def _weasyprint_state() -> tuple[Any, dict[str, Any]]:
    """One font configuration and image cache per thread, reused by every document: building
    them is a large part of rendering a one-page letter."""
    if not hasattr(_local, "fonts"):
        from weasyprint.text.fonts import FontConfiguration

        _local.fonts = FontConfiguration()
        _local.cache = {}
    if len(_local.cache) > IMAGE_CACHE_LIMIT:
        _local.cache.clear()
    return _local.fonts, _local.cache


def letter_stylesheet() -> Any:
    """style.css parsed once per thread: parsing it for every letter cost about 10% of the
    letter. The PDF is byte for byte the same as with the stylesheet inlined (tested)."""
    if not hasattr(_local, "stylesheet"):
        from weasyprint import CSS

        fonts, _cache = _weasyprint_state()
        _local.stylesheet = CSS(string=stylesheet(), base_url=str(LAYOUT_DIR), font_config=fonts)
    return _local.stylesheet


# WeasyPrint's user-agent stylesheet gives *every* element six pseudo-elements (`::marker` and
# the footnote/note pseudo-elements of CSS GCPM), each of which gets its own computed style:
# about 600 style computations for the 100 elements of a letter. Our documents have no
# footnotes or notes, and markers only on list items, so the letters use the same stylesheet
# with those rules narrowed. The PDF is byte for byte the same (tested on every message kind).
UA_NARROWED = (
    ("\n::marker {", "\nli::marker, summary::marker {"),
    ("\n::footnote-call {", "\n.betaald-no-footnotes::footnote-call {"),
    ("\n::footnote-marker {", "\n.betaald-no-footnotes::footnote-marker {"),
    ("\n::note-call {", "\n.betaald-no-footnotes::note-call {"),
    ("\n::note-marker {", "\n.betaald-no-footnotes::note-marker {"),
    ("\n::note-callback {", "\n.betaald-no-footnotes::note-callback {"),
)


def ua_stylesheet_text() -> str:
    """WeasyPrint's own html5_ua.css with the universal pseudo-element rules narrowed
    (`UA_NARROWED`). Fails loudly when a WeasyPrint upgrade changes those rules, rather than
    silently rendering letters with a different default style."""
    from weasyprint.html import UA

    text: str = UA
    for old, new in UA_NARROWED:
        if text.count(old) != 1:
            raise RuntimeError(f"WeasyPrint's html5_ua.css no longer has the rule {old.strip()!r}")
        text = text.replace(old, new)
    return text


@lru_cache(maxsize=1)
def _ua_stylesheet() -> Any:
    """Built like WeasyPrint's own UA_STYLESHEET (no fonts, the shared counter styles), so it
    is immutable and can be shared by every thread."""
    import logging

    from weasyprint import CSS
    from weasyprint.html import UA_COUNTER_STYLE

    # WeasyPrint warns about two of its own @counter-style rules when it parses this sheet at
    # import time; parsing the narrowed copy would repeat those warnings in every worker.
    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return CSS(string=ua_stylesheet_text(), counter_style=UA_COUNTER_STYLE)
    finally:
        logger.setLevel(level)


@lru_cache(maxsize=1)
def _letter_html_class() -> Any:
    """`weasyprint.HTML` with the narrowed user-agent stylesheet (imported lazily: WeasyPrint
    loads Pango)."""
    from weasyprint import HTML
    from weasyprint.html import UA_FORM_STYLESHEET

    class LetterHTML(HTML):  # type: ignore[misc]
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            if forms:
                return [_ua_stylesheet(), UA_FORM_STYLESHEET]
            return [_ua_stylesheet()]

    return LetterHTML


def html_document(html: str, *, stylesheets: tuple[Any, ...] = ()) -> Any:
    fonts, cache = _weasyprint_state()
    return _letter_html_class()(string=html, base_url=str(LAYOUT_DIR)).render(
        font_config=fonts, cache=cache, stylesheets=list(stylesheets)
    )


def html_to_pdf(html: str, *, stylesheets: tuple[Any, ...] = ()) -> bytes:
    document = html_document(html, stylesheets=stylesheets)
    content: bytes = document.write_pdf(pdf_identifier=False)
    return content


def layout_for(rendered: Rendered) -> str:
    """An invoice has its own layout; every other message is a letter."""
    if rendered.display.get("invoice_document"):
        return "letters/layout/invoice.html"
    return "letters/layout/letter.html"


def letter_document(rendered: Rendered) -> Any:
    """The laid-out WeasyPrint document of a message, as `letter_pdf` writes it."""
    html = document_html(rendered, template=layout_for(rendered), inline_css=False)
    return html_document(html, stylesheets=(letter_stylesheet(),))


def letter_pdf(rendered: Rendered) -> bytes:
    content: bytes = letter_document(rendered).write_pdf(pdf_identifier=False)
    return content


BLANK_PAGE_HTML = (
    "<!doctype html><html><head><style>@page { size: A4; margin: 0 }</style></head>"
    "<body></body></html>"
)


def blank_page() -> Any:
    """An empty A4 page: the back of a letter with an odd number of pages in a duplex batch."""
    return html_document(BLANK_PAGE_HTML).pages[0]


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
