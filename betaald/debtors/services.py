"""Writes for customers (debtors), their contacts and IBANs. Each write has an audit event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.forms.models import model_to_dict

from betaald.audit.services import event_record
from betaald.debtors.models import Contact, Customer, CustomerIban, CustomerKind, CustomerStatus
from betaald.identifiers import normalise_btw_id, normalise_iban, normalise_kvk
from betaald.organisations.models import Organisation
from betaald.organisations.services import normalise_identifiers

CUSTOMER_IDENTIFIERS = {"kvk_number": normalise_kvk, "vat_number": normalise_btw_id}
SNAPSHOT_EXCLUDE = ["organisation", "id"]


def customer_snapshot(customer: Customer) -> dict[str, Any]:
    data = model_to_dict(customer, exclude=SNAPSHOT_EXCLUDE)
    return {key: (str(value) if value is not None else None) for key, value in data.items()}


def _clean_text(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
            if name in ("email",):
                value = value.lower()
            if name in ("postal_code", "postal_postal_code"):
                value = value.upper()
            if name == "country":
                value = value.upper()
        cleaned[name] = value
    return cleaned


def next_customer_number(organisation: Organisation) -> str:
    highest = (
        Customer.objects.filter(organisation=organisation, number__startswith="D")
        .aggregate(Max("number"))
        .get("number__max")
    )
    last = int(highest[1:]) if highest and highest[1:].isdigit() else 0
    return f"D{last + 1:05d}"


@transaction.atomic
def customer_create(*, organisation: Organisation, actor: Any = None, **fields: Any) -> Customer:
    """Create a customer. KvK and BTW-id are normalised; a business needs its KvK number only
    where known, a consumer must not carry business identifiers."""
    fields = normalise_identifiers(_clean_text(fields), CUSTOMER_IDENTIFIERS)
    if not fields.get("number"):
        fields["number"] = next_customer_number(organisation)
    customer = Customer(organisation=organisation, **fields)
    _validate_customer(customer)
    customer.full_clean()
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise ValidationError({"number": "this customer number is already in use"}) from None
    event_record(
        name="debtors.customer.created",
        organisation=organisation,
        actor=actor,
        customer=customer,
        subject=customer,
        after=customer_snapshot(customer),
    )
    return customer


def _validate_customer(customer: Customer) -> None:
    if customer.kind == CustomerKind.CONSUMER and customer.kvk_number:
        raise ValidationError({"kvk_number": "a consumer has no KvK number"})


@transaction.atomic
def customer_update(*, customer: Customer, actor: Any, **fields: Any) -> Customer:
    fields = normalise_identifiers(_clean_text(fields), CUSTOMER_IDENTIFIERS)
    before = customer_snapshot(customer)
    for name, value in fields.items():
        setattr(customer, name, value)
    _validate_customer(customer)
    customer.full_clean()
    customer.save()
    event_record(
        name="debtors.customer.updated",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        subject=customer,
        before=before,
        after=customer_snapshot(customer),
    )
    return customer


@transaction.atomic
def customer_set_status(*, customer: Customer, status: str, actor: Any, reason: str) -> Customer:
    """Block a customer for new work, require prepayment, or make them active again."""
    if status not in CustomerStatus.values:
        raise ValidationError({"status": f"unknown status {status!r}"})
    if not reason.strip():
        raise ValidationError({"reason": "say why the status changes"})
    before = customer.status
    if before == status:
        return customer
    customer.status = status
    customer.save(update_fields=["status"])
    event_record(
        name="debtors.customer.status_changed",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        subject=customer,
        before={"status": before},
        after={"status": status},
        message=reason,
    )
    return customer


@transaction.atomic
def contact_add(*, customer: Customer, actor: Any, **fields: Any) -> Contact:
    contact = Contact(customer=customer, **_clean_text(fields))
    contact.full_clean()
    contact.save()
    event_record(
        name="debtors.contact.added",
        organisation=customer.organisation,
        actor=actor,
        customer=customer,
        subject=contact,
        after={"name": contact.name, "role": contact.role, "email": contact.email},
    )
    return contact


@transaction.atomic
def customer_iban_add(
    *,
    customer: Customer,
    iban: str,
    actor: Any = None,
    source: str = "manual",
    seen_on: date | None = None,
) -> CustomerIban:
    """Remember an IBAN the customer pays from (idempotent)."""
    normalised = normalise_identifiers({"iban": iban}, {"iban": normalise_iban})["iban"]
    record, created = CustomerIban.objects.get_or_create(
        customer=customer,
        iban=normalised,
        defaults={"source": source, "first_seen_on": seen_on},
    )
    if created:
        event_record(
            name="debtors.customer.iban_added",
            organisation=customer.organisation,
            actor=actor,
            customer=customer,
            subject=record,
            after={"iban": normalised, "source": source},
        )
    return record
