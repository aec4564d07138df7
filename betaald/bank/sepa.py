"""SEPA direct debit: mandates, pain.008 collection files, and what a return does to a mandate.

- A mandate's IBAN is checked at input (ISO 13616 checksum, length, country and structure, by
  schwifty in `mandate_iban`); a bad one is refused with a message saying what is wrong.
- `direct_debit_create` collects the open invoices of customers with an active mandate of one
  scheme into a pain.008 file (001.001.02 or 001.001.08) built by sepaxml and validated against
  the official XSD shipped in `betaald/bank/xsd/`. The collection date must respect the
  pre-notification period of every mandate and, for Core, reach the bank at least one TARGET2
  business day before (D-1); B2B likewise D-1.
- Payment plan instalments of customers with a mandate are collected too (`_instalments_due`),
  one `DirectDebitLine` per presentation; each collected customer gets a pre-notification in
  the outbox (letters, kind `sepa_pre_notification`).
- `mandate_after_return` applies the action per return reason: AM04 (insufficient funds) may
  be retried once, MD01 / AC04 / MS02 (no mandate, account closed, refused by the debtor) stop
  the mandate and the customer gets a `mandate_stopped` message.
- `mandate_amend` records a new account or mandate reference; the next collection reports it
  (`with_amendments`: AmdmntInd + AmdmntInfDtls, which sepaxml cannot write; "SMNDA" and FRST
  for a move to another bank) and then forgets it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree
from sepaxml import SepaDD

from betaald.audit.services import event_record
from betaald.bank.models import (
    DirectDebitBatch,
    Mandate,
    MandateScheme,
    MandateStatus,
    SequenceType,
)
from betaald.bank.statements.camt import XSD_DIR, parse_xml
from betaald.core.calendar import add_business_days, easter_sunday
from betaald.core.errors import DomainError
from betaald.core.money import CENT
from betaald.identifiers import InvalidIdentifier, normalise_iban
from betaald.organisations.models import Organisation

VERSIONS = ("pain.008.001.02", "pain.008.001.08")
RETRY_REASONS = frozenset({"AM04"})
STOP_REASONS = frozenset({"MD01", "AC04", "MS02"})
#: An invoice in a collection of the last 14 days is not collected again (its money or its
#: return is still on the way; a return reopens it through the reversal).
PENDING_DAYS = timedelta(days=14)
#: A collection returned with AM04 is presented once more (issue 7: retry once).
MAX_ATTEMPTS = 2


class DirectDebitError(DomainError):
    """A mandate or collection cannot be made as asked."""


class Target2Holidays(Container[date]):
    """TARGET2 closing days: New Year, Good Friday, Easter Monday, 1 May, 25 and 26 December
    (weekends are closed too; `add_business_days` skips those itself)."""

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        easter = easter_sunday(day.year)
        fixed = {(1, 1), (5, 1), (12, 25), (12, 26)}
        return (day.month, day.day) in fixed or day in (
            easter - timedelta(days=2),
            easter + timedelta(days=1),
        )


TARGET2 = Target2Holidays()


def earliest_collection_on(today: date) -> date:
    """The first date a file submitted today can be collected on: one TARGET2 business day
    later (Core and B2B, D-1)."""
    return add_business_days(today, 1, TARGET2)


def mandate_iban(value: str, *, field: str = "iban") -> str:
    """The debtor's IBAN in electronic form, or `InvalidIdentifier` saying what is wrong in
    words a credit controller can act on (the value as typed, then why)."""
    from schwifty import IBAN
    from schwifty import exceptions as iban_errors

    typed = " ".join((value or "").split())
    try:
        return str(IBAN(typed).compact)
    except iban_errors.InvalidChecksumDigits:
        reason = _("the check digits do not match the rest (a typing error?)")
    except iban_errors.InvalidLength:
        reason = _("it has the wrong number of characters for its country")
    except iban_errors.InvalidCountryCode:
        reason = _("it does not start with a known country code")
    except (iban_errors.SchwiftyException, ValueError):
        reason = _("it has characters that do not belong there, or its bank part is wrong")
    if not typed:
        raise InvalidIdentifier(
            _("Give the IBAN the customer signed the mandate for."), field=field
        )
    raise InvalidIdentifier(
        _("%(iban)s is not a valid IBAN: %(reason)s.") % {"iban": typed, "reason": reason},
        field=field,
    )


@transaction.atomic
def mandate_create(
    *,
    organisation: Organisation,
    customer: Any,
    reference: str,
    signed_on: date,
    iban: str,
    bic: str = "",
    scheme: str = MandateScheme.CORE,
    pre_notification_days: int = 14,
    actor: Any = None,
) -> Mandate:
    """Register a signed mandate; the IBAN must be valid (a bad checksum is refused)."""
    if customer.organisation_id != organisation.pk:
        raise DirectDebitError("unknown customer", field="customer")
    reference = reference.strip()
    if not reference or len(reference) > 35:
        raise DirectDebitError("the mandate reference has 1 to 35 characters", field="reference")
    if scheme not in MandateScheme.values:
        raise DirectDebitError("the scheme is CORE or B2B", field="scheme")
    if Mandate.objects.filter(organisation=organisation, reference=reference).exists():
        raise DirectDebitError(
            "mandate %(reference)s exists already",
            field="reference",
            params={"reference": reference},
        )
    mandate = Mandate.objects.create(
        organisation=organisation,
        customer=customer,
        reference=reference,
        signed_on=signed_on,
        iban=mandate_iban(iban),
        bic=bic.strip().upper(),
        scheme=scheme,
        pre_notification_days=pre_notification_days,
    )
    event_record(
        name="bank.mandate.created",
        organisation=organisation,
        actor=actor,
        customer=customer,
        subject=mandate,
        after={"reference": reference, "iban": mandate.iban, "scheme": scheme},
    )
    return mandate


def _bank_of(iban: str) -> str:
    """The bank an IBAN belongs to: its country and national bank code (schwifty)."""
    from schwifty import IBAN

    parsed = IBAN(iban)
    return f"{parsed.country_code}{parsed.bank_code}"


def is_other_bank(mandate: Mandate) -> bool:
    """An amendment moved the debtor's account to another bank (EPC: "SMNDA", and the next
    collection is a FRST)."""
    return bool(mandate.original_iban) and _bank_of(mandate.original_iban) != _bank_of(mandate.iban)


@transaction.atomic
def mandate_amend(
    *,
    mandate: Mandate,
    iban: str | None = None,
    reference: str | None = None,
    bic: str | None = None,
    actor: Any = None,
) -> Mandate:
    """The debtor moved to another account, or the creditor renumbered the mandate: the next
    collection reports the amendment (AmdmntInd, AmdmntInfDtls with the original mandate id
    or debtor account) and then forgets it.

    The original is what the debtor's bank last saw: amending twice before a collection keeps
    the first original, and amending back to it leaves nothing to report. A move to another
    bank makes the next collection a FRST (EPC rulebook, "SMNDA")."""
    mandate = Mandate.objects.select_for_update().get(pk=mandate.pk)
    if mandate.status != MandateStatus.ACTIVE:
        raise DirectDebitError("only an active mandate can be amended", field="mandate")
    before = {"iban": mandate.iban, "reference": mandate.reference}
    fields: list[str] = []
    if iban is not None:
        new_iban = mandate_iban(iban)
        if new_iban != mandate.iban:
            mandate.original_iban = mandate.original_iban or mandate.iban
            if mandate.original_iban == new_iban:
                mandate.original_iban = ""
            mandate.iban = new_iban
            fields += ["iban", "original_iban"]
    if reference is not None:
        new_reference = reference.strip()
        if not new_reference or len(new_reference) > 35:
            raise DirectDebitError(
                "the mandate reference has 1 to 35 characters", field="reference"
            )
        if new_reference != mandate.reference:
            taken = Mandate.objects.filter(
                organisation_id=mandate.organisation_id, reference=new_reference
            ).exclude(pk=mandate.pk)
            if taken.exists():
                raise DirectDebitError(
                    "mandate %(reference)s exists already",
                    field="reference",
                    params={"reference": new_reference},
                )
            mandate.original_reference = mandate.original_reference or mandate.reference
            if mandate.original_reference == new_reference:
                mandate.original_reference = ""
            mandate.reference = new_reference
            fields += ["reference", "original_reference"]
    if bic is not None and bic.strip().upper() != mandate.bic:
        mandate.bic = bic.strip().upper()
        fields.append("bic")
    elif "iban" in fields and mandate.bic and _bank_of(before["iban"]) != _bank_of(mandate.iban):
        mandate.bic = ""  # the old bank's BIC; the new one is optional (IBAN-only)
        fields.append("bic")
    if not fields:
        return mandate
    if is_other_bank(mandate) and mandate.sequence == SequenceType.RECURRING:
        mandate.sequence = SequenceType.FIRST
        fields.append("sequence")
    mandate.save(update_fields=fields)
    event_record(
        name="bank.mandate.amended",
        organisation=mandate.organisation,
        actor=actor,
        customer=mandate.customer,
        subject=mandate,
        before=before,
        after={
            "iban": mandate.iban,
            "reference": mandate.reference,
            "original_iban": mandate.original_iban,
            "original_reference": mandate.original_reference,
            "sequence": mandate.sequence,
        },
    )
    return mandate


@cache
def _schema(version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{version}.xsd")))


def validate_pain008(xml: bytes, version: str) -> None:
    """Raise DirectDebitError naming the first XSD error when `xml` is not a valid `version`."""
    schema = _schema(version)
    if not schema.validate(parse_xml(xml)):
        error = schema.error_log[0]
        raise DirectDebitError(
            "%(version)s does not validate at line %(line)s: %(error)s",
            field="xml",
            params={"version": version, "line": error.line, "error": error.message},
        )


#: EPC: "same mandate, new debtor agent" in OrgnlDbtrAgt/FinInstnId/Othr/Id.
SMNDA = "SMNDA"


def with_amendments(xml: bytes, version: str, mandates: dict[str, Mandate]) -> bytes:
    """Add the amendment details sepaxml cannot write to every transaction of an amended
    mandate (keyed by its current reference): ``AmdmntInd`` true and ``AmdmntInfDtls`` with
    ``OrgnlMndtId`` (a new reference), ``OrgnlDbtrAcct`` (a new account at the same bank) or
    ``OrgnlDbtrAgt`` "SMNDA" (an account at another bank). Element order follows the XSD
    (MandateRelatedInformation6 / 14): after ``DtOfSgntr``."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:{version}"

    def element(parent: Any, name: str, text: str | None = None) -> Any:
        child = etree.SubElement(parent, f"{{{ns}}}{name}")
        if text is not None:
            child.text = text
        return child

    root = parse_xml(xml)
    for info in root.iter(f"{{{ns}}}MndtRltdInf"):
        mandate = mandates.get(info.findtext(f"{{{ns}}}MndtId") or "")
        if mandate is None or not (mandate.original_iban or mandate.original_reference):
            continue
        indicator = etree.Element(f"{{{ns}}}AmdmntInd")
        indicator.text = "true"
        details = etree.Element(f"{{{ns}}}AmdmntInfDtls")
        if mandate.original_reference:
            element(details, "OrgnlMndtId", mandate.original_reference)
        if mandate.original_iban and not is_other_bank(mandate):
            account = element(details, "OrgnlDbtrAcct")
            element(element(account, "Id"), "IBAN", mandate.original_iban)
        elif mandate.original_iban:
            agent = element(element(details, "OrgnlDbtrAgt"), "FinInstnId")
            element(element(agent, "Othr"), "Id", SMNDA)
        signed = info.find(f"{{{ns}}}DtOfSgntr")
        assert signed is not None  # sepaxml always writes it
        signed.addnext(indicator)
        indicator.addnext(details)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@dataclass(frozen=True)
class _Collectable:
    mandate: Mandate
    amount: Decimal
    end_to_end_id: str
    description: str
    invoice: Any = None
    instalment: Any = None
    attempt: int = 1
    reference: str = ""  # the betalingskenmerk the collection pays


class NothingToCollect(DirectDebitError):
    """No open invoice or instalment is due for collection (a daily run just moves on)."""


def first_collection_on(today: date, pre_notification_days: int) -> date:
    """The first TARGET2 business day a file submitted today may collect on when the debtor
    was notified today: D-1 and the pre-notification period both respected."""
    day = max(earliest_collection_on(today), today + timedelta(days=pre_notification_days))
    while day.weekday() >= 5 or day in TARGET2:
        day += timedelta(days=1)
    return day


def longest_pre_notification(organisation: Organisation, scheme: str) -> int:
    """The longest pre-notification period of the organisation's active mandates of `scheme`
    (14 days, the rulebook's default, when there are none)."""
    from django.db.models import Max

    longest = Mandate.objects.filter(
        organisation=organisation, status=MandateStatus.ACTIVE, scheme=scheme
    ).aggregate(days=Max("pre_notification_days"))["days"]
    return int(longest or 14)


def lines_returned(organisation: Organisation, lines: Any) -> dict[int, str]:
    """For the collections among `lines` that came back (a return transaction on a statement
    with the same end-to-end id): line id -> return reason ("" when the bank gave none)."""
    from betaald.bank.models import BankTransaction

    lines = list(lines)
    by_id: dict[str, list[int]] = {}
    for line in lines:
        by_id.setdefault(line.end_to_end_id, []).append(line.pk)
    returns = BankTransaction.objects.filter(
        organisation=organisation, is_return=True, end_to_end_id__in=list(by_id)
    ).values_list("end_to_end_id", "return_reason")
    return {pk: reason for end_to_end_id, reason in returns for pk in by_id[end_to_end_id]}


def instalment_end_to_end_id(instalment: Any, attempt: int) -> str:
    """Names the plan, the instalment and the presentation: ``PLAN12-T3-1``."""
    return f"PLAN{instalment.plan_id}-T{instalment.number}-{attempt}"


def instalment_open_parts(amounts: list[Decimal], paid: Decimal) -> list[Decimal]:
    """What each instalment still needs when `paid` went towards them oldest first (as
    `betaald.core.installments` counts): ``min(amount, cumulative - paid)``, never below zero.
    Invariant: the parts sum to ``total - min(max(paid, 0), total)``."""
    parts = []
    cumulative = Decimal("0")
    for amount in amounts:
        cumulative += amount
        parts.append(max(Decimal("0"), min(amount, cumulative - paid)))
    return parts


def _instalments_due(
    organisation: Organisation,
    mandates: dict[int, Mandate],
    collection_on: date,
    today: date,
) -> list[_Collectable]:
    """Instalments of active payment plans whose customer has a mandate, due on or before the
    collection date and not paid: the first presentation, or the second after an AM04 return.
    The amount is what the payments so far leave open of the instalment (oldest first)."""
    from betaald.bank.models import DirectDebitLine
    from betaald.invoices.selectors import with_balance
    from betaald.plans.models import Instalment, InstalmentStatus, PaymentPlan, PlanStatus
    from betaald.plans.selectors import plan_payments

    # Only plans with an unpaid instalment due by the collection date (the states the daily
    # `plans_evaluate` keeps): the cost follows what is due, not the number of plans.
    plans = list(
        PaymentPlan.objects.filter(
            organisation=organisation,
            status=PlanStatus.ACTIVE,
            customer_id__in=list(mandates),
            pk__in=Instalment.objects.filter(
                due_on__lte=collection_on,
                status__in=[InstalmentStatus.OPEN, InstalmentStatus.MISSED],
            ).values("plan_id"),
        )
        .prefetch_related("instalments")
        .order_by("pk")
    )
    if not plans:
        return []
    earlier = list(
        DirectDebitLine.objects.filter(instalment__plan__in=plans).order_by("attempt", "pk")
    )
    returned = lines_returned(organisation, earlier)
    attempts: dict[int, list[Any]] = {}
    for line in earlier:
        assert line.instalment_id is not None
        attempts.setdefault(line.instalment_id, []).append(line)
    due = []
    for plan in plans:
        # The betalingskenmerken of the plan invoices still open, oldest first: the credit on
        # the statement matches one ("reference in text") and is allocated to the plan's
        # invoices. The matcher books one payment per invoice per statement, so collections of
        # one plan in one file each name another invoice; more wait for the next file.
        references = [
            invoice.payment_reference
            for invoice in with_balance(plan.invoices.all()).order_by("due_on", "pk")
            if invoice.open_amount > 0  # type: ignore[attr-defined]
        ] or [""]
        instalments = list(plan.instalments.all())
        paid = sum((p.amount for p in plan_payments(plan) if p.on <= today), Decimal("0"))
        parts = instalment_open_parts([i.amount for i in instalments], paid)
        for instalment, open_part in zip(instalments, parts, strict=True):
            if instalment.due_on > collection_on:
                break
            if open_part <= 0:
                continue
            tried = attempts.get(instalment.pk, [])
            if tried:
                reason = returned.get(tried[-1].pk)
                if reason is None:
                    continue  # on its way, or collected and not yet on a statement
                if reason not in RETRY_REASONS or len(tried) >= MAX_ATTEMPTS:
                    continue  # not presented again: the plan's terms decide
            if not references:
                break  # every open invoice named once in this file: the rest next time
            reference = references.pop(0)
            attempt = len(tried) + 1
            description = (
                f"Regeling {plan.pk} termijn {instalment.number}/{len(instalments)} {reference}"
            )
            due.append(
                _Collectable(
                    mandate=mandates[plan.customer_id],
                    amount=open_part,
                    end_to_end_id=instalment_end_to_end_id(instalment, attempt),
                    description=description.strip(),
                    instalment=instalment,
                    attempt=attempt,
                    reference=reference,
                )
            )
    return due


def _invoice_retries(organisation: Organisation, today: date) -> dict[int, int]:
    """Invoices whose latest recent collection came back with AM04 and may be presented once
    more: invoice id -> the attempt number of the next presentation. A return counts for a
    collection when it has its end-to-end id and was booked on or after its collection date."""
    from betaald.bank.models import BankTransaction, DirectDebitLine

    lines = list(
        DirectDebitLine.objects.filter(
            organisation=organisation,
            invoice__isnull=False,
            collection_on__gte=today - PENDING_DAYS,
        ).order_by("invoice_id", "attempt", "pk")
    )
    latest = {line.invoice_id: line for line in lines}
    returns: dict[str, list[tuple[date | None, str]]] = {}
    for end_to_end_id, booked_on, reason in BankTransaction.objects.filter(
        organisation=organisation,
        is_return=True,
        end_to_end_id__in=[line.end_to_end_id for line in latest.values()],
    ).values_list("end_to_end_id", "booking_date", "return_reason"):
        returns.setdefault(end_to_end_id, []).append((booked_on, reason))
    retry = {}
    for invoice_id, line in latest.items():
        came_back = [
            reason
            for booked_on, reason in returns.get(line.end_to_end_id, [])
            if booked_on is None or booked_on >= line.collection_on
        ]
        if came_back and came_back[-1] in RETRY_REASONS and line.attempt < MAX_ATTEMPTS:
            assert invoice_id is not None
            retry[invoice_id] = line.attempt + 1
    return retry


@transaction.atomic
def direct_debit_create(
    *,
    organisation: Organisation,
    collection_on: date,
    today: date,
    scheme: str = MandateScheme.CORE,
    version: str = "pain.008.001.02",
    actor: Any = None,
) -> DirectDebitBatch:
    """Collect into one pain.008 file, from customers with an active mandate of `scheme`: their
    open invoices (except those in an active payment plan), and the instalments of their
    active payment plans due on or before the collection date (see `_instalments_due`)."""
    from betaald.bank.models import DirectDebitLine
    from betaald.invoices.selectors import invoices_open
    from betaald.plans.models import PlanStatus

    if version not in VERSIONS:
        raise DirectDebitError(
            "version is one of %(versions)s",
            field="version",
            params={"versions": ", ".join(VERSIONS)},
        )
    if not organisation.sepa_creditor_id:
        raise DirectDebitError("the organisation has no SEPA creditor id", field="creditor_id")
    earliest = earliest_collection_on(today)
    if collection_on < earliest:
        raise DirectDebitError(
            "a file submitted on %(today)s can be collected on %(earliest)s at the earliest "
            "(D-1, TARGET2 business days)",
            field="collection_on",
            params={"today": today, "earliest": earliest},
        )
    mandates = {
        mandate.customer_id: mandate
        for mandate in Mandate.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(organisation=organisation, status=MandateStatus.ACTIVE, scheme=scheme)
        .order_by("signed_on", "pk")
    }
    open_invoices = (
        invoices_open(organisation)
        .filter(customer_id__in=list(mandates), currency="EUR")
        .exclude(payment_plans__status=PlanStatus.ACTIVE)
        .select_related("customer")
        .order_by("due_on", "pk")
    )
    retry = _invoice_retries(organisation, today)
    pending = {
        int(item["invoice"])  # files made before collections had lines of their own
        for batch in DirectDebitBatch.objects.filter(
            organisation=organisation,
            collection_on__gte=today - PENDING_DAYS,
            lines__isnull=True,
        )
        for item in batch.items
        if item.get("invoice")
    }
    pending |= set(
        DirectDebitLine.objects.filter(
            organisation=organisation,
            invoice__isnull=False,
            collection_on__gte=today - PENDING_DAYS,
        )
        .exclude(invoice_id__in=list(retry))
        .values_list("invoice_id", flat=True)
    )
    collectable = []
    for invoice in open_invoices:
        if invoice.pk in pending:
            continue  # in a recent collection whose money is not booked yet: never twice
        open_amount = Decimal(invoice.open_amount).quantize(CENT)  # type: ignore[attr-defined]
        attempt = retry.get(invoice.pk, 1)
        end_to_end_id = (invoice.payment_reference or invoice.number)[:32]
        if attempt > 1:
            end_to_end_id = f"{end_to_end_id}-R{attempt}"  # a return finds its own collection
        if open_amount > 0:
            collectable.append(
                _Collectable(
                    mandate=mandates[invoice.customer_id],
                    amount=open_amount,
                    end_to_end_id=end_to_end_id,
                    description=f"{invoice.number} {invoice.payment_reference}".strip(),
                    invoice=invoice,
                    attempt=attempt,
                    reference=invoice.payment_reference,
                )
            )
    collectable += _instalments_due(organisation, mandates, collection_on, today)
    late = sorted(
        {
            c.mandate.reference
            for c in collectable
            if collection_on < today + timedelta(days=c.mandate.pre_notification_days)
        }
    )
    if late:
        raise DirectDebitError(
            "collection on %(on)s is within the pre-notification period of mandate(s) %(mandates)s",
            field="collection_on",
            params={"on": collection_on, "mandates": ", ".join(late)},
        )
    if not collectable:
        raise NothingToCollect(
            "no open invoice or plan instalment of a customer with an active mandate"
        )
    config = {
        "name": organisation.display_name[:70],
        "IBAN": normalise_iban(organisation.iban),
        "batch": True,
        "creditor_id": organisation.sepa_creditor_id,
        "currency": "EUR",
        "instrument": scheme,
    }
    if organisation.bic:
        config["BIC"] = organisation.bic
    elif version == "pain.008.001.02":
        raise DirectDebitError("pain.008.001.02 needs the organisation's BIC", field="bic")
    document = SepaDD(config, schema=version, clean=True)
    items = []
    total = Decimal("0")
    for item in collectable:
        mandate = item.mandate
        payment: dict[str, Any] = {
            "name": mandate.customer.name,
            "IBAN": mandate.iban,
            "amount": int(item.amount * 100),
            "type": mandate.sequence,
            "collection_date": collection_on,
            "mandate_id": mandate.reference,
            "mandate_date": mandate.signed_on,
            "description": item.description[:140],
            "endtoend_id": item.end_to_end_id,
        }
        if mandate.bic:
            payment["BIC"] = mandate.bic
        document.add_payment(dict(payment))  # sepaxml mutates the dict it gets
        row: dict[str, Any] = {
            "invoice": item.invoice.pk if item.invoice is not None else None,
            "mandate": mandate.reference,
            "amount": str(item.amount),
            "end_to_end_id": item.end_to_end_id,
            "sequence": mandate.sequence,
        }
        if item.instalment is not None:
            row |= {
                "plan": item.instalment.plan_id,
                "instalment": item.instalment.number,
                "attempt": item.attempt,
            }
        items.append(row)
        total += item.amount
    collected = {c.mandate.reference: c.mandate for c in collectable}
    xml = with_amendments(document.export(validate=False), version, collected)
    validate_pain008(xml, version)
    batch = DirectDebitBatch.objects.create(
        organisation=organisation,
        version=version,
        collection_on=collection_on,
        scheme=scheme,
        count=len(items),
        total=total,
        items=items,
        xml=xml.decode("utf-8"),
        sha256=hashlib.sha256(xml).hexdigest(),
    )
    DirectDebitLine.objects.bulk_create(
        DirectDebitLine(
            organisation=organisation,
            batch=batch,
            mandate=item.mandate,
            customer_id=item.mandate.customer_id,
            invoice=item.invoice,
            instalment=item.instalment,
            attempt=item.attempt,
            amount=item.amount,
            collection_on=collection_on,
            end_to_end_id=item.end_to_end_id,
            sequence=row["sequence"],
            remittance=item.description[:140],
        )
        for item, row in zip(collectable, items, strict=True)
    )
    notices = _pre_notifications(organisation, collectable, collection_on, today, actor)
    _after_collection(list(collected.values()), actor)
    event_record(
        name="bank.direct_debit.created",
        organisation=organisation,
        actor=actor,
        subject=batch,
        after={
            "collection_on": collection_on.isoformat(),
            "count": len(items),
            "total": str(total),
            "pre_notifications": notices,
        },
    )
    return batch


def _invoice_rows(invoices: list[tuple[Any, Decimal]]) -> list[dict[str, Any]]:
    """Invoices as a message lists them: the amount is what this message is about."""
    return [
        {
            "number": invoice.number,
            "issued_on": invoice.issued_on.isoformat() if invoice.issued_on else None,
            "due_on": invoice.due_on.isoformat() if invoice.due_on else None,
            "principal": str(amount),
            "interest": "0.00",
            "costs": "0.00",
            "payment_reference": invoice.payment_reference,
        }
        for invoice, amount in invoices
    ]


def _pre_notifications(
    organisation: Organisation,
    collectable: list[_Collectable],
    collection_on: date,
    today: date,
    actor: Any,
) -> int:
    """One pre-notification per collected customer (message kind `sepa_pre_notification`):
    amount, collection date, mandate reference, creditor id, the invoices or the plan
    instalment. Keyed by customer, collection date and the end-to-end ids, so making the same
    collection again queues nothing twice. Returns how many were queued."""
    from betaald.letters.models import MessageKind
    from betaald.letters.services import MessageDraft, messages_queue_bulk

    per_customer: dict[int, list[_Collectable]] = {}
    for item in collectable:
        per_customer.setdefault(item.mandate.customer_id, []).append(item)
    drafts = []
    for customer_id, own in per_customer.items():
        mandate = own[0].mandate
        ids = ",".join(sorted(item.end_to_end_id for item in own))
        key = hashlib.sha256(ids.encode()).hexdigest()[:24]
        invoices = [(item.invoice, item.amount) for item in own if item.invoice is not None]
        context: dict[str, Any] = {
            "date": today.isoformat(),
            "payment_reference": next((item.reference for item in own if item.reference), ""),
            "invoices": _invoice_rows(invoices),
            "direct_debit": {
                "amount": str(sum((item.amount for item in own), Decimal("0"))),
                "collection_date": collection_on.isoformat(),
                "mandate_reference": mandate.reference,
                "creditor_id": organisation.sepa_creditor_id,
                "debtor_iban": mandate.iban,
                "pre_notification_days": mandate.pre_notification_days,
                "end_to_end_ids": ids.split(","),
            },
        }
        instalment = next((item for item in own if item.instalment is not None), None)
        if instalment is not None:
            context["instalment"] = {
                "number": instalment.instalment.number,
                "due_on": instalment.instalment.due_on.isoformat(),
                "amount": str(instalment.amount),
                "plan": instalment.instalment.plan_id,
            }
        drafts.append(
            MessageDraft(
                organisation=organisation,
                customer=mandate.customer,
                kind=MessageKind.SEPA_PRE_NOTIFICATION,
                channel="email",
                fallback_channels=["letter"],
                context=context,
                unique_key=f"sepa:pre-notification:{customer_id}:{collection_on}:{key}",
                invoices=[invoice for invoice, _amount in invoices],
                actor=actor,
            )
        )
    return messages_queue_bulk(drafts)


def _mandate_stopped_message(mandate: Mandate, reason: str, today: date | None, actor: Any) -> None:
    """Tell the customer we no longer collect (message kind `mandate_stopped`): the returned
    collection and its reason, and what to transfer instead. Once per mandate."""
    from betaald.bank.models import BankTransaction, DirectDebitLine
    from betaald.invoices.selectors import invoices_open
    from betaald.letters.models import MessageKind
    from betaald.letters.services import message_queue

    returned = (
        BankTransaction.objects.filter(
            organisation_id=mandate.organisation_id,
            mandate_id=mandate.reference,
            is_return=True,
        )
        .order_by("-booking_date", "-pk")
        .first()
    )
    if today is None:
        today = (returned.booking_date if returned else None) or timezone.localdate()
    line = None
    if returned is not None and returned.end_to_end_id:
        line = (
            DirectDebitLine.objects.filter(
                organisation_id=mandate.organisation_id, end_to_end_id=returned.end_to_end_id
            )
            .select_related("instalment")
            .order_by("-collection_on", "-pk")
            .first()
        )
    debit: dict[str, Any] = {
        "mandate_reference": mandate.reference,
        "creditor_id": mandate.organisation.sepa_creditor_id,
        "debtor_iban": mandate.iban,
        "return_code": reason,
    }
    if returned is not None:
        debit["amount"] = str(returned.amount)
        if returned.booking_date:
            debit["returned_on"] = returned.booking_date.isoformat()
    if line is not None:
        debit["collection_date"] = line.collection_on.isoformat()
    context: dict[str, Any] = {
        "date": today.isoformat(),
        "pay_by": (today + timedelta(days=14)).isoformat(),
        "direct_debit": debit,
    }
    invoices: list[Any] = []
    if line is not None and line.instalment is not None:
        # A plan instalment: transfer that instalment; the plan's terms stay as agreed.
        context["total"] = str(line.amount)
        context["instalment"] = {
            "number": line.instalment.number,
            "due_on": line.instalment.due_on.isoformat(),
            "amount": str(line.amount),
            "plan": line.instalment.plan_id,
        }
        context["invoices"] = []
        context["payment_reference"] = next(
            (part for part in line.remittance.split() if part.isdigit() and len(part) == 16), ""
        )
    else:
        rows = list(
            invoices_open(mandate.organisation)
            .filter(customer_id=mandate.customer_id)
            .order_by("due_on", "pk")
        )
        opened = [
            (invoice, Decimal(invoice.open_amount).quantize(CENT))  # type: ignore[attr-defined]
            for invoice in rows
            if invoice.open_amount > 0  # type: ignore[attr-defined]
        ]
        invoices = [invoice for invoice, _amount in opened]
        context["invoices"] = _invoice_rows(opened)
        context["payment_reference"] = invoices[0].payment_reference if invoices else ""
    message_queue(
        organisation=mandate.organisation,
        customer=mandate.customer,
        kind=MessageKind.MANDATE_STOPPED,
        channel="email",
        fallback_channels=["letter"],
        context=context,
        unique_key=f"sepa:mandate-stopped:{mandate.pk}",
        invoices=invoices,
        actor=actor,
    )


def _after_collection(mandates: list[Mandate], actor: Any) -> None:
    """Collected mandates move on: FRST becomes RCUR, FNAL/OOFF end them (one update each),
    and a reported amendment is forgotten (the debtor's bank now knows the new details)."""
    first = [m.pk for m in mandates if m.sequence == SequenceType.FIRST]
    Mandate.objects.filter(pk__in=first).update(sequence=SequenceType.RECURRING)
    last = [m.pk for m in mandates if m.sequence in (SequenceType.FINAL, SequenceType.ONE_OFF)]
    Mandate.objects.filter(pk__in=last).update(status=MandateStatus.ENDED)
    for mandate in mandates:
        reported = {
            "original_iban": mandate.original_iban,
            "original_reference": mandate.original_reference,
        }
        if not any(reported.values()):
            continue
        Mandate.objects.filter(pk=mandate.pk).update(original_iban="", original_reference="")
        event_record(
            name="bank.mandate.amendment_reported",
            organisation=mandate.organisation,
            actor=actor,
            customer=mandate.customer,
            subject=mandate,
            before=reported,
            after={"iban": mandate.iban, "reference": mandate.reference},
        )


def mandate_after_return(
    *,
    organisation: Organisation,
    mandate_reference: str,
    reason: str,
    actor: Any = None,
    today: date | None = None,
) -> str:
    """The action a returned collection takes on its mandate: ``"retry"`` (AM04, once),
    ``"stopped"`` (MD01, AC04, MS02, or a second AM04: the customer gets a `mandate_stopped`
    message), else ``"none"``."""
    mandate = (
        Mandate.objects.select_for_update()
        .filter(organisation=organisation, reference=mandate_reference)
        .first()
    )
    if mandate is None or mandate.status != MandateStatus.ACTIVE:
        return "none"
    if reason in RETRY_REASONS and mandate.retries_left > 0:
        mandate.retries_left -= 1
        mandate.save(update_fields=["retries_left"])
        action = "retry"
    elif reason in STOP_REASONS or reason in RETRY_REASONS:
        mandate.status = MandateStatus.STOPPED
        mandate.stopped_reason = reason
        mandate.save(update_fields=["status", "stopped_reason"])
        action = "stopped"
        _mandate_stopped_message(mandate, reason, today, actor)
    else:
        return "none"
    event_record(
        name=f"bank.mandate.{action}",
        organisation=organisation,
        actor=actor,
        customer=mandate.customer,
        subject=mandate,
        after={"reason": reason},
    )
    return action
