"""Reads of the hand-over: the limitation (verjaring) of each handed-over claim, from what
betaald recorded about it (docs/algorithms/limitation.md).

Stuiting acts taken from the record:
- **written demand** (art. 3:317 lid 1 BW): every reminder, demand, 14-dagenbrief, final
  notice or hand-over notice about the invoice that was sent, effective when it reached the
  debtor (art. 3:37 lid 3 BW): a posted letter on its presumed day of receipt (the same rule
  as the 14-dagenbrief, `core.calendar.presumed_receipt`), an email only with proof of
  delivery (a delivery report), on the day it was sent. An email without that proof is left
  out: the last day shown is then the earlier, safe one;
- **acknowledgement** (art. 3:318 BW): a payment the debtor designated to the invoice (a part
  payment with its number or betalingskenmerk; money the creditor allocated itself under
  art. 6:43 BW is not the debtor acknowledging this invoice, so it is left out: the safe
  side), a promise to pay it, a payment plan for it.

A consumer's claim is given the two-year term of a consumer sale (art. 7:28 BW): betaald does
not know whether an invoice is for goods or for services (five years), and the shorter term
is the safe one to watch.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from betaald.core.calendar import presumed_receipt
from betaald.core.limitation import (
    Interruption,
    InterruptionKind,
    Limitation,
    LimitationKind,
    limitation,
)
from betaald.core.money import ZERO
from betaald.debtors.models import CustomerKind
from betaald.web.templatetags.betaald import euro

#: Message kinds that are a written demand to pay (art. 3:317 lid 1 BW).
DEMAND_KINDS = frozenset(
    {
        "reminder",
        "second_reminder",
        "demand",
        "final_notice_14_day",
        "final_notice",
        "handover_notice",
        "plan_instalment_reminder",
        "limitation_notice",
    }
)
REACHED = ("sent", "delivered")


def limitation_kind(customer: Any) -> LimitationKind:
    if customer.kind == CustomerKind.CONSUMER:
        return LimitationKind.CONSUMER_SALE
    return LimitationKind.GENERAL


def interruptions_for(invoice: Any) -> list[Interruption]:
    """The stuiting acts betaald knows of for one invoice."""
    from betaald.dunning.charges import holidays
    from betaald.letters.models import Channel, Message, MessageKind
    from betaald.payments.models import Allocation
    from betaald.plans.models import PaymentPlan, Promise

    found: list[Interruption] = []
    for message in Message.objects.filter(
        invoices=invoice, kind__in=DEMAND_KINDS, status__in=REACHED
    ).order_by("id"):
        sent_on = timezone.localdate(message.sent_at) if message.sent_at else None
        posted = message.posted_on or sent_on
        if message.channel == Channel.LETTER and posted is not None:
            reached = presumed_receipt(posted, holidays=holidays())
            note = _("%(kind)s posted %(day)s, presumed received") % {
                "kind": MessageKind(message.kind).label,
                "day": date_format(posted, "SHORT_DATE_FORMAT"),
            }
        elif message.channel == Channel.EMAIL and message.status == "delivered" and sent_on:
            reached = sent_on
            note = _("%(kind)s emailed") % {"kind": MessageKind(message.kind).label}
        else:
            continue
        found.append(Interruption(reached, InterruptionKind.WRITTEN_DEMAND, note))
    for received_on, amount in (
        Allocation.objects.filter(
            invoice=invoice, payment__designated_invoice=invoice, amount__gt=0
        )
        .values_list("payment__received_on", "amount")
        .order_by("payment__received_on")
    ):
        found.append(
            Interruption(
                received_on,
                InterruptionKind.ACKNOWLEDGEMENT,
                _("payment of %(amount)s") % {"amount": euro(amount)},
            )
        )
    for made_on in Promise.objects.filter(invoices=invoice).values_list("made_on", flat=True):
        found.append(Interruption(made_on, InterruptionKind.ACKNOWLEDGEMENT, _("promise to pay")))
    for proposed_on in PaymentPlan.objects.filter(invoices=invoice).values_list(
        "proposed_on", flat=True
    ):
        found.append(Interruption(proposed_on, InterruptionKind.ACKNOWLEDGEMENT, _("payment plan")))
    return found


def claim_limitation(invoice: Any) -> Limitation | None:
    """The limitation of one invoice, or None for an invoice without a due date."""
    if invoice.due_on is None:
        return None
    acts = [act for act in interruptions_for(invoice) if act.on >= invoice.due_on]
    return limitation(
        due_on=invoice.due_on, kind=limitation_kind(invoice.customer), interruptions=acts
    )


def limitation_rows(invoices: list[Any], today: date) -> list[dict[str, Any]]:
    """Per invoice: the term, its last day and the acts that moved it (for the dossier)."""
    rows = []
    for invoice in invoices:
        result = claim_limitation(invoice)
        if result is None:
            continue
        rows.append(
            {
                "invoice": invoice.number,
                "kind": result.kind.value,
                "term_years": result.term_years,
                "original_last_day": result.original_last_day.isoformat(),
                "last_day": result.last_day.isoformat() if result.last_day else None,
                "days_left": result.days_left(today),
                "barred": result.is_barred(today),
                "acts": [
                    {
                        "on": row.on.isoformat(),
                        "kind": row.kind.value,
                        "note": row.note,
                        "counted": row.counted,
                        "last_day_after": (
                            row.last_day_after.isoformat() if row.last_day_after else None
                        ),
                        "reason": row.reason,
                    }
                    for row in result.rows
                ],
            }
        )
    return rows


#: How far ahead the limitation alert looks.
ALERT_DAYS = 180


def limitation_alerts(
    organisation: Any, today: date, *, within_days: int = ALERT_DAYS
) -> list[tuple[Any, Limitation]]:
    """Open invoices whose limitation ends within `within_days` (or has ended), soonest first:
    the creditor must interrupt it in writing or start proceedings in time (art. 3:317,
    3:316 BW). Only invoices whose term *without* stuiting ends in the window can qualify
    (stuiting only extends), so the work grows with old open claims, not with the book."""
    from django.db.models import Q

    from betaald.core.calendar import add_years
    from betaald.invoices.models import InvoiceKind, InvoiceStatus
    from betaald.invoices.selectors import invoices_for

    horizon = today + timedelta(days=within_days)
    margin = horizon + timedelta(days=1)  # 29 February: its last day is 28 February
    candidates = (
        invoices_for(organisation)
        .filter(
            Q(customer__kind=CustomerKind.CONSUMER, due_on__lte=add_years(margin, -2))
            | Q(due_on__lte=add_years(margin, -5)),
            Q(open_amount__gt=0),
            status=InvoiceStatus.ISSUED,
            kind=InvoiceKind.INVOICE,
        )
        .select_related("customer")
        .order_by("due_on", "pk")
    )
    alerts = []
    for invoice in candidates:
        result = claim_limitation(invoice)
        if result is None or result.last_day is None:
            continue
        if result.last_day <= horizon:
            alerts.append((invoice, result))
    alerts.sort(key=lambda pair: (pair[1].last_day or today, pair[0].number))
    return alerts


def open_principal(handover: Any) -> Decimal:
    """The principal of the handed-over invoices still open today."""
    from betaald.invoices.selectors import invoices_for

    ids = list(handover.claims.values_list("invoice_id", flat=True))
    rows = invoices_for(handover.organisation).filter(pk__in=ids)
    return sum((getattr(i, "open_amount", ZERO) for i in rows), ZERO)
