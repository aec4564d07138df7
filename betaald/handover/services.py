"""Every write of a hand-over: create (freeze the claims, pause dunning, tell the debtor) and
withdraw (dunning resumes). See docs/algorithms/handover.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
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
from betaald.dunning.services import hold_add, hold_release
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
    # Lock the invoices first (two hand-overs of one invoice cannot both pass the checks),
    # then read them with their open amount.
    list(Invoice.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
    rows = list(
        invoices_for(customer.organisation)
        .filter(pk__in=ids)
        .select_related("organisation", "customer")
        .order_by("due_on", "pk")
    )
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


@dataclass(frozen=True, slots=True)
class Frozen:
    """One invoice as a hand-over claims it: what is still owed of each component."""

    invoice: Invoice
    principal: Decimal
    interest: Decimal
    interest_from: date | None
    costs: Decimal  # collection costs incl. VAT and any late fee

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.costs


def freeze(rows: list[Invoice], charge: charging.GroupCharge) -> tuple[list[Frozen], Decimal]:
    """Each invoice's claim, less what the debtor already paid towards its costs and interest
    (payments settle costs, then interest, then principal: art. 6:44 lid 1 BW), never below
    zero; and the VAT part of the costs. The interest runs on today's open principal; interest
    on principal already paid off is not claimed (the safe side: the party can claim more
    with a full rentenota, never less)."""
    from django.db.models import Sum

    from betaald.payments.models import Allocation, Component

    by_invoice = {item.invoice_id: item for item in charge.invoices}
    paid: dict[tuple[int, str], Decimal] = {
        (row["invoice_id"], row["component"]): row["amount"]
        for row in Allocation.objects.filter(
            invoice_id__in=[invoice.pk for invoice in rows],
            component__in=[Component.COSTS, Component.INTEREST],
        )
        .values("invoice_id", "component")
        .annotate(amount=Sum("amount"))
    }
    frozen = []
    charged = ZERO
    for invoice in rows:
        item = by_invoice[invoice.pk]
        costs = round_cents(item.costs + item.costs_vat + item.late_fee)
        charged += costs
        frozen.append(
            Frozen(
                invoice=invoice,
                principal=round_cents(item.principal),
                interest=max(
                    ZERO,
                    round_cents(item.interest) - paid.get((invoice.pk, Component.INTEREST), ZERO),
                ),
                interest_from=item.interest_from,
                costs=max(ZERO, costs - paid.get((invoice.pk, Component.COSTS), ZERO)),
            )
        )
    vat = charge.costs.vat if charge.costs is not None else ZERO
    costs_left = sum((f.costs for f in frozen), ZERO)
    vat_left = round_cents(vat * costs_left / charged) if charged > 0 else ZERO
    return frozen, min(vat_left, costs_left)


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


def _check_party(customer: Customer, party_kind: str, party_name: str, justis_number: str) -> None:
    """Refuse a party that cannot take the claim, on its field."""
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
    frozen, costs_vat = freeze(rows, charge)
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
    principal = sum((f.principal for f in frozen), ZERO)
    interest = sum((f.interest for f in frozen), ZERO)
    costs = sum((f.costs for f in frozen), ZERO)
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
    for figures in frozen:
        invoice = figures.invoice
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
            principal=figures.principal,
            interest=figures.interest,
            interest_from=figures.interest_from,
            costs=figures.costs,
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
    _close_proposals(customer, rows, actor)
    if notify_debtor and not _told_already(rows):
        _notify(handover, frozen, charge, costs_vat, today, actor)
    return handover


def _close_proposals(customer: Customer, rows: list[Invoice], actor: Any) -> None:
    """The dunning engine's open hand-over proposals for this customer are done now."""
    from betaald.dunning.models import CallTask, TaskKind, TaskOutcome

    ids = [invoice.pk for invoice in rows]
    tasks = CallTask.objects.filter(
        customer=customer, kind=TaskKind.HANDOVER, closed_at__isnull=True
    ).filter(Q(invoice__isnull=True) | Q(invoice_id__in=ids))
    for task in tasks:
        task.outcome = TaskOutcome.DONE
        task.closed_at = timezone.now()
        task.note = (task.note + "\n" if task.note else "") + _("Handed over.")
        task.save(update_fields=["outcome", "closed_at", "note"])
        event_record(
            name="dunning.task.closed",
            organisation=customer.organisation,
            actor=actor,
            subject=task,
            customer=customer,
            after={"outcome": TaskOutcome.DONE, "by": "handover"},
        )


def _told_already(rows: list[Invoice]) -> bool:
    """Whether a hand-over notice about every one of these invoices is already on its way or
    sent (the consumer policy's hand-over step sends one): the debtor is not told twice."""
    from betaald.letters.models import Message, MessageStatus

    told = set(
        Message.objects.filter(invoices__in=rows, kind="handover_notice")
        .exclude(status__in=[MessageStatus.FAILED, MessageStatus.CANCELLED])
        .values_list("invoices", flat=True)
    )
    return all(invoice.pk in told for invoice in rows)


def _letter_context(
    customer: Customer,
    frozen: list[Frozen],
    charge: charging.GroupCharge,
    costs_vat: Decimal,
    today: date,
) -> dict[str, Any]:
    """The frozen context of a letter about these invoices, from the hand-over's figures
    (amounts as strings, dates ISO; costs incl. VAT and any late fee)."""
    organisation = customer.organisation
    invoices = [
        {
            "number": f.invoice.number,
            "issued_on": f.invoice.issued_on.isoformat() if f.invoice.issued_on else None,
            "due_on": f.invoice.due_on.isoformat() if f.invoice.due_on else None,
            "days_overdue": (today - f.invoice.due_on).days if f.invoice.due_on else 0,
            "total": str(f.invoice.total),
            "principal": str(f.principal),
            "interest": str(f.interest),
            "interest_from": f.interest_from.isoformat() if f.interest_from else None,
            "late_fee": "0.00",
            "costs": str(f.costs),
            "payment_reference": f.invoice.payment_reference,
        }
        for f in frozen
    ]
    context: dict[str, Any] = {
        "date": today.isoformat(),
        "organisation": {
            "name": organisation.display_name,
            "iban": organisation.iban,
            "bic": organisation.bic,
        },
        "customer": {"number": customer.number, "name": customer.name, "kind": customer.kind},
        "invoices": invoices,
        "principal": str(sum((f.principal for f in frozen), ZERO)),
        "interest": str(sum((f.interest for f in frozen), ZERO)),
        "interest_kind": charge.interest_kind,
        "late_fee": "0.00",
        "costs": str(sum((f.costs for f in frozen), ZERO)),
        "costs_vat": str(costs_vat),
        "total": str(sum((f.total for f in frozen), ZERO)),
        "payment_reference": frozen[0].invoice.payment_reference,
    }
    if charge.terms is not None:
        context["contract"] = charge.terms.context()
    return context


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
    frozen: list[Frozen],
    charge: charging.GroupCharge,
    costs_vat: Decimal,
    today: date,
    actor: Any,
) -> None:
    """Queue the hand-over notice to the debtor."""
    from betaald.letters.services import message_queue

    customer = handover.customer
    channel, fallback = _by_post(customer)
    context = {
        "source": "handover",
        **_letter_context(customer, frozen, charge, costs_vat, today),
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
        invoices=[f.invoice for f in frozen],
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
    frozen, costs_vat = freeze(rows, charge)
    channel, fallback = _by_post(customer)
    ids = "-".join(str(invoice.pk) for invoice in rows)
    message, created = message_queue(
        organisation=customer.organisation,
        customer=customer,
        kind="limitation_notice",
        channel=channel,
        fallback_channels=fallback,
        context={
            "source": "limitation",
            **_letter_context(customer, frozen, charge, costs_vat, today),
        },
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
            hold_release(
                hold=claim.hold,
                actor=actor,
                reason=reason,
                today=today,
                handover_withdrawn=True,
            )
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
