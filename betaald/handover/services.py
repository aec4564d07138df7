"""Every write of a hand-over: create (freeze the claims, pause dunning, tell the debtor) and
withdraw (dunning resumes). See docs/algorithms/handover.md."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from betaald.audit.services import acting_user, event_record
from betaald.core.attachment import amount_to_secure
from betaald.core.money import ZERO, round_cents
from betaald.core.rates import RateKind, rate_on
from betaald.debtors.models import Customer, CustomerKind
from betaald.dunning import charges as charging
from betaald.dunning.models import HoldKind
from betaald.dunning.report_display import warning_text
from betaald.dunning.selectors import charges_on
from betaald.dunning.services import dunning_refresh_invoices, hold_add, hold_release
from betaald.handover.models import Handover, HandoverClaim, HandoverStatus, PartyKind
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from betaald.invoices.selectors import invoices_for


def _open_invoices(
    customer: Customer,
    invoices: Sequence[Invoice],
    today: date,
    *,
    allow_handed_over: bool = False,
) -> list[Invoice]:
    """The chosen invoices, locked, checked to be the customer's, issued, open and overdue."""
    ids = sorted({invoice.pk for invoice in invoices})
    if not ids:
        raise ValidationError({"invoices": _("Choose at least one open invoice.")})
    rows = list(
        invoices_for(customer.organisation)
        .filter(pk__in=ids)
        .select_related("organisation", "customer")
        .order_by("due_on", "pk")
    )
    # Lock the invoices so that two hand-overs of the same invoice cannot both pass the check.
    list(Invoice.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
    if len(rows) != len(ids):
        raise ValidationError({"invoices": _("An invoice belongs to another organisation.")})
    for invoice in rows:
        if invoice.customer_id != customer.pk:
            raise ValidationError(
                {
                    "invoices": _("Invoice %(number)s is not this customer's.")
                    % {"number": invoice.number}
                }
            )
        if (
            invoice.status != InvoiceStatus.ISSUED
            or invoice.kind != InvoiceKind.INVOICE
            or getattr(invoice, "open_amount", ZERO) <= 0
        ):
            raise ValidationError(
                {"invoices": _("Invoice %(number)s is not open.") % {"number": invoice.number}}
            )
        if invoice.due_on is None or invoice.due_on >= today:
            raise ValidationError(
                {
                    "invoices": _("Invoice %(number)s is not overdue: there is nothing to collect.")
                    % {"number": invoice.number}
                }
            )
    if allow_handed_over:
        return rows
    taken = list(
        HandoverClaim.objects.filter(invoice_id__in=ids, is_active=True)
        .select_related("invoice", "handover")
        .order_by("invoice__number")
    )
    if taken:
        raise ValidationError(
            {
                "invoices": _("Invoice %(number)s is already handed over to %(party)s.")
                % {"number": taken[0].invoice.number, "party": taken[0].handover.party_name}
            }
        )
    return rows


def yearly_rate(charge: charging.GroupCharge, customer: Customer, today: date) -> Decimal:
    """The yearly percentage the claim goes on bearing: the agreed contractual rate, or the
    statutory rate of the debtor's class today (art. 6:119 / 6:119a BW)."""
    terms = charge.terms
    if terms is not None and terms.contractual_rate is not None:
        return terms.contractual_rate
    kind = RateKind.STATUTORY if customer.kind == CustomerKind.CONSUMER else RateKind.COMMERCIAL
    # An estimate of what is still to come: past the table's confirmed half-year the last
    # known rate runs on (the dunning run warns about the stale table).
    return rate_on(charging.rate_table(kind).unbounded(), today)


def _check_party(
    customer: Customer, party_kind: str, party_name: str, justis_number: str
) -> list[str]:
    """Refusals on the party; returns warnings that do not refuse."""
    errors: dict[str, str] = {}
    if party_kind not in PartyKind.values:
        errors["party_kind"] = _("Choose an agency, a bailiff or a lawyer.")
    if not party_name.strip():
        errors["party_name"] = _("Name the agency, bailiff or lawyer.")
    if (
        customer.kind == CustomerKind.CONSUMER
        and party_kind == PartyKind.AGENCY
        and not justis_number.strip()
    ):
        errors["justis_number"] = _(
            "A collection agency may collect from a consumer only when registered with Justis "
            "(Wet kwaliteit incassodienstverlening, since 1 April 2024): give its registration "
            "number, or hand over to a bailiff or lawyer."
        )
    if errors:
        raise ValidationError(errors)
    return []


@transaction.atomic
def handover_create(
    *,
    customer: Customer,
    invoices: Sequence[Invoice],
    party_kind: str,
    party_name: str,
    actor: Any,
    today: date,
    party_email: str = "",
    party_reference: str = "",
    justis_number: str = "",
    attachment_requested: bool = False,
    known_assets: str = "",
    dissipation_facts: str = "",
    note: str = "",
    notify_debtor: bool = True,
) -> Handover:
    """Hand these open invoices of one customer over to an agency, bailiff or lawyer.

    Freezes each claim as it stands today (principal, interest, costs: `charges_on`), pauses
    dunning of each invoice (a HANDOVER hold), queues the hand-over notice to the debtor and
    records an audit event. An invoice can be in one active hand-over at a time."""
    _check_party(customer, party_kind, party_name, justis_number)
    rows = _open_invoices(customer, invoices, today)
    charge = charges_on(rows, today)
    by_invoice = {item.invoice_id: item for item in charge.invoices}
    warnings = [warning_text(str(w)) for w in charge.warnings]
    if attachment_requested and party_kind != PartyKind.LAWYER:
        warnings.append(
            _(
                "Conservatoir beslag is petitioned by a lawyer (art. 700 Rv): the %(party)s "
                "will need one."
            )
            % {"party": PartyKind(party_kind).label}
        )
    if attachment_requested and known_assets.strip() and not dissipation_facts.strip():
        warnings.append(
            _(
                "Movables and real estate can be attached only on a well-founded fear of "
                "dissipation (art. 711, 725 Rv); bank balances and receivables need none "
                "(art. 718 Rv)."
            )
        )
    # Amounts read from SQL sums can carry more decimal places than cents (SQLite).
    principal = round_cents(charge.principal)
    interest = round_cents(charge.interest + charge.late_fee)
    costs = round_cents(charge.costs_total)
    total = principal + interest + costs
    rate = yearly_rate(charge, customer, today)
    handover = Handover(
        organisation=customer.organisation,
        customer=customer,
        party_kind=party_kind,
        party_name=party_name.strip(),
        party_email=party_email.strip(),
        party_reference=party_reference.strip(),
        justis_number=justis_number.strip(),
        handed_over_on=today,
        attachment_requested=attachment_requested,
        known_assets=known_assets.strip(),
        dissipation_facts=dissipation_facts.strip(),
        note=note.strip(),
        principal=principal,
        interest=interest,
        costs=costs,
        total=total,
        amount_to_secure=amount_to_secure(
            principal=principal, claim_to_date=total, yearly_rate_percent=rate
        ),
        interest_kind=charge.interest_kind or "",
        rate_percent=rate,
        warnings=warnings,
        created_by=acting_user(actor),
    )
    handover.full_clean()
    handover.save()
    for invoice in rows:
        item = by_invoice[invoice.pk]
        hold = hold_add(
            customer=customer,
            kind=HoldKind.HANDOVER,
            actor=actor,
            starts_on=today,
            invoice=invoice,
            reason=_("Handed over to %(party)s") % {"party": handover.party_name},
        )
        claim = HandoverClaim(
            handover=handover,
            invoice=invoice,
            principal=round_cents(item.principal),
            interest=round_cents(item.interest + item.late_fee),
            interest_from=item.interest_from,
            costs=round_cents(item.costs + item.costs_vat),
            hold=hold,
        )
        try:
            with transaction.atomic():
                claim.save(force_insert=True)
        except IntegrityError as error:  # a concurrent hand-over won the race
            raise ValidationError(
                {
                    "invoices": _("Invoice %(number)s is already handed over.")
                    % {"number": invoice.number}
                }
            ) from error
    event_record(
        name="handover.handover.created",
        organisation=customer.organisation,
        actor=actor,
        subject=handover,
        customer=customer,
        after={
            "party_kind": party_kind,
            "party": handover.party_name,
            "invoices": [invoice.number for invoice in rows],
            "principal": str(principal),
            "interest": str(interest),
            "costs": str(costs),
            "total": str(total),
            "amount_to_secure": str(handover.amount_to_secure),
            "attachment_requested": attachment_requested,
        },
        message=note,
    )
    if notify_debtor:
        _notify(handover, rows, charge, today, actor)
    return handover


def _letter_context(
    customer: Customer, rows: list[Invoice], charge: charging.GroupCharge, today: date
) -> dict[str, Any]:
    """The frozen context of a letter about these invoices (as the dunning letters have it):
    amounts as strings, dates ISO."""
    organisation = customer.organisation
    by_invoice = {item.invoice_id: item for item in charge.invoices}
    invoices = []
    for invoice in rows:
        item = by_invoice[invoice.pk]
        invoices.append(
            {
                "number": invoice.number,
                "issued_on": invoice.issued_on.isoformat() if invoice.issued_on else None,
                "due_on": invoice.due_on.isoformat() if invoice.due_on else None,
                "days_overdue": (today - invoice.due_on).days if invoice.due_on else 0,
                "total": str(invoice.total),
                "principal": str(item.principal),
                "interest": str(item.interest),
                "interest_from": item.interest_from.isoformat() if item.interest_from else None,
                "late_fee": str(item.late_fee),
                "costs": str(item.costs + item.costs_vat),
                "payment_reference": invoice.payment_reference,
            }
        )
    return {
        "date": today.isoformat(),
        "organisation": {
            "name": organisation.display_name,
            "iban": organisation.iban,
            "bic": organisation.bic,
        },
        "customer": {"number": customer.number, "name": customer.name, "kind": customer.kind},
        "invoices": invoices,
        "principal": str(charge.principal),
        "interest": str(charge.interest),
        "interest_kind": charge.interest_kind,
        "late_fee": str(charge.late_fee),
        "costs": charging.costs_context(charge.costs),
        "total": str(charge.total),
        "payment_reference": rows[0].payment_reference,
    }


def _by_post(customer: Customer) -> tuple[str, list[str]]:
    """By post where the customer has an address (email as the fallback), else by email."""
    from betaald.letters.models import Channel

    has_address = bool(
        (customer.postal_street or customer.street) and (customer.postal_city or customer.city)
    )
    if not has_address:
        return Channel.EMAIL, []
    return Channel.LETTER, [Channel.EMAIL] if customer.email else []


def _notify(
    handover: Handover,
    rows: list[Invoice],
    charge: charging.GroupCharge,
    today: date,
    actor: Any,
) -> None:
    """Queue the hand-over notice to the debtor."""
    from betaald.letters.services import message_queue

    customer = handover.customer
    channel, fallback = _by_post(customer)
    context = {
        "source": "handover",
        **_letter_context(customer, rows, charge, today),
        "handover": {"party": handover.party_name, "kind": handover.party_kind},
    }
    message_queue(
        organisation=customer.organisation,
        customer=customer,
        kind="handover_notice",
        channel=channel,
        fallback_channels=fallback,
        context=context,
        unique_key=f"handover:{handover.pk}:notice",
        invoices=rows,
        actor=actor,
    )


@transaction.atomic
def limitation_notice_send(
    *, customer: Customer, invoices: Sequence[Invoice], actor: Any, today: date
) -> Any:
    """Queue a stuitingsbrief for these overdue invoices: a written, unambiguous reservation of
    the right to payment that interrupts limitation once it reaches the debtor (art. 3:317
    lid 1, 3:37 lid 3 BW), by post where an address is known. Once per customer, invoices and
    day (a second call returns the same message)."""
    from betaald.letters.services import message_queue

    rows = _open_invoices(customer, invoices, today, allow_handed_over=True)
    charge = charges_on(rows, today)
    channel, fallback = _by_post(customer)
    ids = "-".join(str(invoice.pk) for invoice in rows)
    message, created = message_queue(
        organisation=customer.organisation,
        customer=customer,
        kind="limitation_notice",
        channel=channel,
        fallback_channels=fallback,
        context={"source": "limitation", **_letter_context(customer, rows, charge, today)},
        unique_key=f"stuiting:{customer.pk}:{today.isoformat()}:{ids}",
        invoices=rows,
        actor=actor,
    )
    if created:
        event_record(
            name="handover.stuiting.queued",
            organisation=customer.organisation,
            actor=actor,
            subject=message,
            customer=customer,
            after={"invoices": [invoice.number for invoice in rows], "channel": channel},
        )
    return message


@transaction.atomic
def handover_withdraw(*, handover: Handover, reason: str, actor: Any, today: date) -> Handover:
    """Take the claims back (paid to the party, a settlement, a mistake): dunning resumes
    where it paused. The hand-over and its frozen claims stay as they were."""
    handover = Handover.objects.select_for_update().get(pk=handover.pk)
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    if handover.status == HandoverStatus.WITHDRAWN:
        return handover
    handover.status = HandoverStatus.WITHDRAWN
    handover.withdrawn_at = timezone.now()
    handover.withdrawn_reason = reason.strip()
    handover.save(update_fields=["status", "withdrawn_at", "withdrawn_reason"])
    claims = list(handover.claims.select_related("hold", "invoice"))
    HandoverClaim.objects.filter(handover=handover).update(is_active=False)
    for claim in claims:
        if claim.hold is not None:
            hold_release(hold=claim.hold, actor=actor, reason=reason, today=today)
    dunning_refresh_invoices(invoice_ids=[c.invoice_id for c in claims], today=today)
    event_record(
        name="handover.handover.withdrawn",
        organisation=handover.organisation,
        actor=actor,
        subject=handover,
        customer=handover.customer,
        before={"status": HandoverStatus.ACTIVE},
        after={"status": HandoverStatus.WITHDRAWN},
        message=reason,
    )
    return handover


def open_principal(handover: Handover) -> Decimal:
    """The principal of the handed-over invoices still open today."""
    ids = list(handover.claims.values_list("invoice_id", flat=True))
    rows = invoices_for(handover.organisation).filter(pk__in=ids)
    return sum((getattr(i, "open_amount", ZERO) for i in rows), ZERO)
