"""The print batch: every letter to post today as one PDF in envelope order, plus a CSV for a
print-and-mail service. Building the batch for a day sets `posted_on` on its letters (the date
the 14-day term of a 14-dagenbrief counts from, via presumed receipt); building it again for the
same day gives the same letters, in the same order.

The batch is safe to print duplex: every letter starts on an odd page (the front of a sheet),
so a letter with an odd number of pages is followed by a blank page. The CSV gives per letter
its own page count, whether a blank back page follows, its first page in the batch and its
number of sheets.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q

from betaald.audit.services import event_record
from betaald.letters.models import Channel, Message, MessageStatus
from betaald.letters.pdf import blank_page, letter_document

POSTCODE = re.compile(r"\b(\d{4})\s?([A-Z]{2})\b")
CSV_COLUMNS = [
    "sequence",
    "message_id",
    "kind",
    "name",
    "address",
    "postal_code",
    "country",
    "pages",
    "first_page",
    "pdf_sha256",
    "blank_back_page",
    "sheets",
]


@dataclass(frozen=True, slots=True)
class PrintBatch:
    day: date
    pdf: bytes
    csv: str
    count: int
    pages: int


def envelope_key(message: Message) -> tuple[str, str, str, int]:
    """Sort for the postal service: country, then postal code, then name."""
    recipient = message.recipient or {}
    lines = [str(line) for line in recipient.get("address_lines") or []]
    match = POSTCODE.search(" ".join(lines))
    postcode = f"{match.group(1)}{match.group(2)}" if match else "~"
    return (
        str(recipient.get("country") or "NL"),
        postcode,
        str(recipient.get("name", "")),
        message.pk,
    )


def letters_to_post(organisation: Any, day: date) -> list[Message]:
    messages = Message.objects.filter(
        organisation=organisation, channel=Channel.LETTER, status=MessageStatus.SENT
    ).filter(Q(posted_on__isnull=True) | Q(posted_on=day))
    return sorted(messages, key=envelope_key)


def print_batch_build(*, organisation: Any, day: date, actor: Any = None) -> PrintBatch:
    from betaald.letters.delivery import message_render

    with transaction.atomic():
        messages = letters_to_post(organisation, day)
        new = [message.pk for message in messages if message.posted_on is None]
        if new:
            Message.objects.filter(pk__in=new, posted_on__isnull=True).update(posted_on=day)
            event_record(
                name="letters.print_batch.built",
                organisation=organisation,
                actor=actor,
                after={"day": day.isoformat(), "letters": new},
            )
    documents = []
    rows = []
    pages: list[Any] = []
    blank = None
    for sequence, message in enumerate(messages, start=1):
        document = letter_document(message_render(message))
        documents.append(document)
        first_page = len(pages) + 1
        pages += document.pages
        padded = len(document.pages) % 2 == 1
        if padded:
            blank = blank or blank_page()
            pages.append(blank)
        recipient = message.recipient or {}
        lines = [str(line) for line in recipient.get("address_lines") or []]
        match = POSTCODE.search(" ".join(lines))
        rows.append(
            {
                "sequence": sequence,
                "message_id": message.pk,
                "kind": message.kind,
                "name": recipient.get("name", ""),
                "address": " | ".join(lines),
                "postal_code": f"{match.group(1)} {match.group(2)}" if match else "",
                "country": recipient.get("country") or "NL",
                "pages": len(document.pages),
                "first_page": first_page,
                "pdf_sha256": message.pdf_sha256,
                "blank_back_page": "yes" if padded else "no",
                "sheets": (len(document.pages) + 1) // 2,
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    pdf = documents[0].copy(pages).write_pdf(pdf_identifier=False) if documents else b""
    return PrintBatch(day=day, pdf=pdf, csv=out.getvalue(), count=len(messages), pages=len(pages))
