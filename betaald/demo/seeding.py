"""Realistic Dutch demo data: an organisation, users, consumers and businesses with valid KvK,
BTW-id and IBAN numbers, and a history of invoices paid in every way from always early to never.

Everything is written through the services, so the demo exercises the same rules (numbering,
completeness, allocation, audit) as real use.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from faker import Faker
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.nl import btw

from betaald.debtors.models import ContactRole, Customer, CustomerKind
from betaald.debtors.services import contact_add, customer_create, customer_iban_add
from betaald.invoices.services import LineInput, invoice_create_draft, invoice_issue
from betaald.organisations.models import Organisation, Role
from betaald.organisations.services import membership_add, organisation_create, user_create
from betaald.payments.services import payment_register

DEMO_PASSWORD = "betaald-demo"  # noqa: S105 - the public demo login, printed by `betaald demo`


@dataclass(frozen=True)
class Behaviour:
    """How a customer pays: days relative to the due date, or never, and how much."""

    name: str
    weight: int
    days: tuple[int, int] | None  # range of days after due (negative = early); None = never
    partial: bool = False


BEHAVIOURS = (
    Behaviour("always early", 15, (-10, -1)),
    Behaviour("on time", 30, (-2, 0)),
    Behaviour("a little late", 25, (3, 20)),
    Behaviour("late", 15, (25, 75)),
    Behaviour("pays in part", 8, (10, 40), partial=True),
    Behaviour("never pays", 7, None),
)

SERVICES = [
    ("Installatie cv-ketel", Decimal("1450.00"), "21"),
    ("Onderhoud cv-installatie", Decimal("125.00"), "21"),
    ("Arbeid monteur (uur)", Decimal("62.50"), "21"),
    ("Voorrijkosten", Decimal("35.00"), "21"),
    ("Warmtepomp lucht/water", Decimal("6850.00"), "21"),
    ("Radiator 600x1000", Decimal("289.00"), "21"),
    ("Advies duurzaamheid (uur)", Decimal("95.00"), "21"),
    ("Isolatiewerkzaamheden woning", Decimal("1200.00"), "9"),
    ("Thermostaat slim", Decimal("219.00"), "21"),
    ("Lekkage opsporen", Decimal("145.00"), "21"),
]


def valid_btw_id(rng: random.Random) -> str:
    while True:
        candidate = f"NL{rng.randrange(10**8, 10**9):09d}B{rng.randrange(1, 100):02d}"
        if btw.is_valid(candidate):
            return candidate


def valid_iban(rng: random.Random) -> str:
    banks = ["INGB", "RABO", "ABNA", "SNSB", "TRIO", "ASNB", "KNAB", "BUNQ"]
    while True:
        try:
            return str(
                IBAN.generate(
                    "NL",
                    bank_code=rng.choice(banks),
                    account_code=f"{rng.randrange(10**9, 10**10)}",
                ).compact
            )
        except SchwiftyException:
            continue


def valid_kvk(rng: random.Random) -> str:
    return f"{rng.randrange(10**7, 10**8):08d}"


def demo_organisation() -> Organisation:
    existing = Organisation.objects.filter(kvk_number="68750110").first()
    if existing is not None:
        return existing
    return organisation_create(
        legal_name="Van den Berg Installatietechniek B.V.",
        trade_name="Van den Berg Installatie",
        legal_form="B.V.",
        seat="Amersfoort",
        kvk_number="68750110",
        vat_number="NL725763863B01",
        iban="NL91ABNA0417164300",
        bic="ABNANL2A",
        sepa_creditor_id="NL21ZZZ687501100000",
        street="Industrieweg 12",
        postal_code="3821 AB",
        city="Amersfoort",
        email="debiteuren@vandenberg-installatie.nl",
        phone="033 123 45 67",
        website="vandenberg-installatie.nl",
        default_payment_term_days=14,
        can_deduct_vat=True,
    )


def demo_users(organisation: Organisation) -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model

    logins = [
        ("demo", Role.OWNER, "Demi", "Debiteur"),
        ("accountant", Role.ACCOUNTANT, "Anne", "Accountant"),
    ]
    users = get_user_model().objects
    for username, role, first, last in logins:
        user = users.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                password=DEMO_PASSWORD,
                email=f"{username}@vandenberg-installatie.nl",
                first_name=first,
                last_name=last,
            )
            if role == Role.OWNER:
                user.is_staff = True
                user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            membership_add(organisation=organisation, user=user, role=role)
    return [(username, DEMO_PASSWORD) for username, *_rest in logins]


def _customer(organisation: Organisation, fake: Faker, rng: random.Random) -> Customer:
    is_business = rng.randrange(100) < 60
    fields: dict[str, Any] = {
        "kind": CustomerKind.BUSINESS if is_business else CustomerKind.CONSUMER,
        "street": fake.street_address(),
        "postal_code": fake.postcode(),
        "city": fake.city(),
        "phone": fake.phone_number(),
        "language": "en" if rng.randrange(100) < 8 else "nl",
    }
    if is_business:
        company = fake.company()
        fields.update(
            name=company,
            kvk_number=valid_kvk(rng),
            vat_number=valid_btw_id(rng),
            email=f"crediteuren@{fake.domain_name()}",
        )
    else:
        fields.update(name=fake.name(), email=fake.email())
    customer = customer_create(organisation=organisation, actor="demo", **fields)
    if is_business:
        contact_add(
            customer=customer,
            actor="demo",
            name=fake.name(),
            role=ContactRole.ACCOUNTS_PAYABLE,
            email=fields["email"],
            phone=fake.phone_number(),
        )
    customer_iban_add(customer=customer, iban=valid_iban(rng), actor="demo", source="demo")
    return customer


def seed(*, customers: int, invoices: int, today: date, seed_value: int = 2026) -> dict[str, int]:
    """Create `customers` customers and about `invoices` invoices over the past eight months."""
    rng = random.Random(seed_value)
    fake = Faker("nl_NL")
    fake.seed_instance(seed_value)
    organisation = demo_organisation()
    created = {"customers": 0, "invoices": 0, "payments": 0}
    people = []
    for _ in range(customers):
        with transaction.atomic():
            people.append(
                (
                    _customer(organisation, fake, rng),
                    rng.choices(BEHAVIOURS, [b.weight for b in BEHAVIOURS])[0],
                )
            )
        created["customers"] += 1
    if not people:
        return created
    planned = []
    for _ in range(invoices):
        customer, behaviour = rng.choice(people)
        issued_on = today - timedelta(days=rng.randrange(1, 240))
        planned.append((issued_on, customer, behaviour))
    planned.sort(key=lambda item: item[0])  # issue in date order, as a business does
    for issued_on, customer, behaviour in planned:
        with transaction.atomic():
            lines = [
                LineInput(description, Decimal(rng.choice([1, 1, 1, 2, 3, 4, 8])), price, rate)
                for description, price, rate in rng.sample(SERVICES, rng.randrange(1, 4))
            ]
            draft = invoice_create_draft(
                organisation=organisation,
                customer=customer,
                actor="demo",
                lines=lines,
                delivered_on=issued_on - timedelta(days=rng.randrange(0, 5)),
            )
            # The history was sent long ago: only today's dunning fills the outbox.
            invoice, _warnings = invoice_issue(
                invoice=draft, actor="demo", issued_on=issued_on, send=False
            )
            created["invoices"] += 1
            if behaviour.days is None or invoice.due_on is None:
                continue
            paid_on = invoice.due_on + timedelta(days=rng.randint(*behaviour.days))
            if paid_on > today:
                continue
            amount = invoice.total
            if behaviour.partial:
                amount = (invoice.total * Decimal(rng.choice([25, 40, 50, 60])) / 100).quantize(
                    Decimal("0.01")
                )
            payment_register(
                organisation=organisation,
                customer=customer,
                amount=amount,
                received_on=paid_on,
                description=f"Betaling {invoice.number} {invoice.payment_reference}",
                designated_invoice=invoice,
                actor="demo",
            )
            created["payments"] += 1
    return created
