"""Fixtures for the communications tests: an organisation, customers and issued invoices."""

from __future__ import annotations

import email
import email.message
import email.policy
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from betaald.debtors.models import Contact, ContactRole, Customer
from betaald.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from betaald.organisations.models import Organisation


def make_organisation(**overrides: object) -> Organisation:
    values: dict[str, object] = {
        "legal_name": "Bakkerij De Gouden Korst B.V.",
        "trade_name": "De Gouden Korst",
        "legal_form": "B.V.",
        "seat": "Utrecht",
        "kvk_number": "12345678",
        "vat_number": "NL123456789B13",
        "iban": "NL20INGB0001234567",
        "bic": "INGBNL2A",
        "street": "Oudegracht 1",
        "postal_code": "3511 AA",
        "city": "Utrecht",
        "email": "debiteuren@goudenkorst.nl",
        "phone": "030 123 45 67",
    }
    values.update(overrides)
    return Organisation.objects.create(**values)


def make_customer(
    organisation: Organisation, number: str = "C001", **overrides: object
) -> Customer:
    values: dict[str, object] = {
        "organisation": organisation,
        "number": number,
        "kind": "consumer",
        "name": "Jan Jansen",
        "email": "jan@example.nl",
        "phone": "+31612345678",
        "language": "nl",
        "street": "Kerkstraat 12",
        "postal_code": "1234 AB",
        "city": "Amsterdam",
    }
    values.update(overrides)
    return Customer.objects.create(**values)


def make_invoice(
    organisation: Organisation,
    customer: Customer,
    number: str = "2026-0001",
    amount: Decimal = Decimal("1000.00"),
    *,
    issued_on: date = date(2026, 10, 1),
    due_on: date = date(2026, 10, 15),
    reference: str = "8000000020250417",
) -> Invoice:
    vat = (amount * Decimal("0.21")).quantize(Decimal("0.01"))
    invoice = Invoice.objects.create(
        organisation=organisation,
        customer=customer,
        status=InvoiceStatus.DRAFT,
        number=number,
        issued_on=issued_on,
        delivered_on=issued_on,
        due_on=due_on,
        payment_reference=reference,
        total_excl_vat=amount,
        total_vat=vat,
        total=amount + vat,
        seller={
            "name": organisation.legal_name,
            "address_lines": [
                organisation.street,
                f"{organisation.postal_code}  {organisation.city}",
            ],
            "kvk_number": organisation.kvk_number,
            "vat_number": organisation.vat_number,
            "iban": organisation.iban,
        },
        buyer={
            "name": customer.name,
            "address_lines": customer.address_lines,
            "vat_number": customer.vat_number,
        },
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        description="Bruidstaart drie lagen",
        quantity=Decimal("1.000"),
        unit="st",
        unit_price=amount,
        vat_rate="21",
        amount=amount,
    )
    # Issued invoices are immutable: build as a draft, then mark issued as the issue service does.
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.ISSUED)
    invoice.status = InvoiceStatus.ISSUED
    return invoice


@pytest.fixture
def organisation(db: None) -> Organisation:
    return make_organisation()


@pytest.fixture
def customer(organisation: Organisation) -> Customer:
    return make_customer(organisation)


@pytest.fixture
def business(organisation: Organisation) -> Customer:
    customer = make_customer(
        organisation,
        "B001",
        kind="business",
        name="Jansen Installatietechniek B.V.",
        email="info@jansen.example",
        language="en",
        vat_number="NL000099998B57",
    )
    Contact.objects.create(
        customer=customer,
        name="Crediteurenadministratie",
        role=ContactRole.ACCOUNTS_PAYABLE,
        email="ap@jansen.example",
    )
    return customer


@pytest.fixture
def invoice(organisation: Organisation, customer: Customer) -> Invoice:
    return make_invoice(organisation, customer)


class RecordingHandler:
    """An SMTP peer: keeps every message; some addresses get a temporary or permanent no."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.peers: list[Any] = []
        self.lock = threading.Lock()
        self.received = threading.Condition(self.lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("later@"):
            return "451 4.3.0 try again later"
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.received:
            self.peers.append(session.peer)
            self.envelopes.append(envelope)
            number = len(self.envelopes)
            self.received.notify_all()
        return f"250 2.0.0 OK queued as Q{number:05d}"

    def wait_for(self, count: int, timeout: int = 30) -> bool:
        with self.received:
            return self.received.wait_for(lambda: len(self.envelopes) >= count, timeout)

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=email.policy.default)
            for envelope in self.envelopes
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[RecordingHandler]:
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "noreply@betaald.example"
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def pdf_text(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def qr_payloads(content: bytes, tmp_path: Any) -> list[str]:
    """Render each page at 150 dpi and decode the QR codes with zbarimg."""
    pdf = tmp_path / "qr.pdf"
    pdf.write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "150", str(pdf), str(tmp_path / "page")], check=True)
    payloads = []
    for png in sorted(tmp_path.glob("page*.png")):
        result = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sbinary", str(png)], capture_output=True
        )
        if result.returncode == 0:
            payloads.append(result.stdout.decode("utf-8"))
    return payloads
