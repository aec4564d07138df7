"""The dossier of a hand-over: everything an agency, bailiff or lawyer needs to collect, to
summon and to petition for conservatoir beslag (reference §10; art. 700 lid 2 Rv asks the
petition to state the kind of attachment, the claim and its basis, and the amount).

`dossier_data` is the dossier as plain data (also `dossier.json`); `dossier_zip` packs it with
a readable summary (`dossier.pdf`), every message as sent (PDFs named with their SHA-256),
the invoices (PDF and UBL), the payments with their allocation and the audit trail.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy

from betaald.core.attachment import appeal_possible, court_for
from betaald.debtors.models import CustomerKind
from betaald.handover.models import Handover
from betaald.handover.selectors import limitation_rows

#: The kinds of conservatoir beslag a creditor can ask for, with what the law requires.
ATTACHMENT_KINDS = (
    (
        "derdenbeslag",
        "Bank balances and receivables on third parties (derdenbeslag, art. 718 Rv): no fear of "
        "dissipation needed.",
    ),
    (
        "movables",
        "Movables and stock (art. 711 Rv): a well-founded fear of dissipation is needed.",
    ),
    (
        "real_estate",
        "Real estate and registered goods (art. 725 Rv): a well-founded fear of dissipation is "
        "needed; the attachment is registered.",
    ),
)


#: How the dossier names the interest claimed.
INTEREST_KINDS = {
    "commercial": gettext_lazy("statutory commercial interest (art. 6:119a BW)"),
    "statutory": gettext_lazy("statutory interest (art. 6:119 BW)"),
    "contractual": gettext_lazy("contractual interest as agreed"),
}


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def known_ibans(handover: Handover) -> list[dict[str, str]]:
    """Accounts of the debtor known to the creditor: given, seen paying, or in a mandate.
    A bank balance can be attached without a fear of dissipation (art. 718 Rv)."""
    from betaald.bank.models import Mandate
    from betaald.payments.models import Payment

    found: dict[str, str] = {}
    for iban, source in handover.customer.ibans.values_list("iban", "source"):
        found.setdefault(iban, source)
    for iban in Mandate.objects.filter(customer=handover.customer).values_list("iban", flat=True):
        found.setdefault(iban, "mandate")
    for iban in (
        Payment.objects.filter(customer=handover.customer)
        .exclude(counterparty_iban="")
        .values_list("counterparty_iban", flat=True)
        .distinct()
    ):
        found.setdefault(iban, "payment")
    return [{"iban": iban, "source": source} for iban, source in sorted(found.items())]


def _interest_rows(handover: Handover, claim: Any) -> dict[str, Any]:
    """How a claim's statutory interest was computed (the rentenota a summons needs): each
    interest year with its capitalisation (art. 6:119 lid 2, 6:119a lid 3 BW) and each rate
    period with its percentage. Contractual interest: the agreed rate only."""
    from betaald.core.interest import statutory_interest
    from betaald.dunning.charges import rate_table

    if claim.interest_from is None or claim.interest_from > handover.handed_over_on:
        return {"years": [], "rates": []}
    if handover.interest_kind not in ("statutory", "commercial"):
        return {"years": [], "rates": [], "contractual_rate": str(handover.rate_percent)}
    table = rate_table(handover.interest_kind).unbounded()
    result = statutory_interest(
        claim.principal, claim.interest_from, handover.handed_over_on, table
    )
    return {
        "convention": "docs/algorithms/interest.md: daily interest = base x rate / 365; "
        "first and last day included; unpaid interest added to the base each year",
        "years": [
            {
                "from": year.first_day.isoformat(),
                "to": year.last_day.isoformat(),
                "interest": str(year.interest),
                "capitalised": year.capitalised,
            }
            for year in result.years
        ],
        "rates": [
            {
                "from": part.first_day.isoformat(),
                "to": part.last_day.isoformat(),
                "percent": str(part.percent),
                "base": str(part.base),
            }
            for part in result.segments
        ],
    }


def _claims(handover: Handover) -> list[dict[str, Any]]:
    from betaald.dunning.models import DunningState

    states = dict(
        DunningState.objects.filter(
            invoice_id__in=handover.claims.values("invoice_id")
        ).values_list("invoice_id", "fourteen_day_costs_due_from")
    )
    rows = []
    for claim in handover.claims.select_related("invoice").order_by("invoice__due_on", "id"):
        invoice = claim.invoice
        costs_due_from = states.get(invoice.pk)
        rows.append(
            {
                "invoice": invoice.number,
                "issued_on": _iso(invoice.issued_on),
                "due_on": _iso(invoice.due_on),
                "invoice_total": str(invoice.total),
                "payment_reference": invoice.payment_reference,
                "principal": str(claim.principal),
                "interest": str(claim.interest),
                "interest_from": _iso(claim.interest_from),
                "interest_until": handover.handed_over_on.isoformat(),
                "costs": str(claim.costs),
                "total": str(claim.total),
                "fourteen_day_costs_due_from": _iso(costs_due_from),
                "interest_calculation": _interest_rows(handover, claim),
            }
        )
    return rows


def _payments(handover: Handover) -> list[dict[str, Any]]:
    from betaald.payments.models import Allocation, Component

    ids = list(handover.claims.values_list("invoice_id", flat=True))
    rows = []
    for allocation in (
        Allocation.objects.filter(invoice_id__in=ids)
        .select_related("payment", "payment__designated_invoice", "invoice", "credit_note")
        .order_by("allocated_on", "id")
    ):
        payment = allocation.payment
        rows.append(
            {
                "allocated_on": allocation.allocated_on.isoformat(),
                "invoice": allocation.invoice.number,
                "component": allocation.component,
                "component_label": str(Component(allocation.component).label),
                "amount": str(allocation.amount),
                "payment_received_on": _iso(payment.received_on) if payment else None,
                "payment_amount": str(payment.amount) if payment else None,
                "from_iban": payment.counterparty_iban if payment else "",
                "designated_invoice": (
                    payment.designated_invoice.number
                    if payment and payment.designated_invoice
                    else ""
                ),
                "credit_note": allocation.credit_note.number if allocation.credit_note else "",
            }
        )
    return rows


def _disputes(handover: Handover) -> list[dict[str, Any]]:
    from betaald.plans.models import Dispute

    ids = list(handover.claims.values_list("invoice_id", flat=True))
    return [
        {
            "invoice": dispute.invoice.number if dispute.invoice else "",
            "reason": dispute.reason,
            "what_the_customer_says": dispute.description,
            "status": dispute.status,
            "resolved_on": _iso(dispute.resolved_on),
            "decision": dispute.resolution,
        }
        for dispute in Dispute.objects.filter(invoice_id__in=ids)
        .select_related("invoice")
        .order_by("id")
    ]


def _acknowledgements(handover: Handover) -> list[dict[str, Any]]:
    """Promises and payment plans: each acknowledges the debt (art. 3:318 BW)."""
    from betaald.plans.models import PaymentPlan, Promise

    ids = list(handover.claims.values_list("invoice_id", flat=True))
    rows: list[dict[str, Any]] = []
    for promise in Promise.objects.filter(invoices__in=ids).distinct().order_by("made_on", "id"):
        rows.append(
            {
                "kind": "promise",
                "on": promise.made_on.isoformat(),
                "amount": str(promise.amount),
                "promised_on": promise.promised_on.isoformat(),
                "status": promise.status,
            }
        )
    for plan in PaymentPlan.objects.filter(invoices__in=ids).distinct().order_by("proposed_on"):
        rows.append(
            {
                "kind": "payment_plan",
                "on": plan.proposed_on.isoformat(),
                "amount": str(plan.total),
                "status": plan.status,
            }
        )
    return rows


def _contract(handover: Handover) -> dict[str, Any] | None:
    from betaald.plans.models import ContractTerms

    terms = ContractTerms.objects.filter(customer=handover.customer).first()
    if terms is None:
        return None
    return {
        "document_reference": terms.document_reference,
        "agreed_on": _iso(terms.agreed_on),
        "general_terms_accepted": terms.general_terms_accepted,
        "payment_term_days": terms.payment_term_days,
        "late_fee_fixed": _money(terms.late_fee_fixed),
        "late_fee_percent": _money(terms.late_fee_percent),
        "interest_clause": terms.interest_clause,
        "contractual_rate": _money(terms.contractual_rate),
        "interest_capitalises": terms.interest_capitalises,
        "costs_clause": terms.costs_clause,
        "costs_percent": _money(terms.costs_percent),
        "costs_minimum": _money(terms.costs_minimum),
    }


#: What the dossier shows of the outbox: messages sent, delivered, or on their way.
SHOWN_STATUSES = ("queued", "rendering", "sent", "delivered")


def _messages(handover: Handover) -> list[Any]:
    """The messages about the handed-over invoices (not the customer's other invoices)."""
    from betaald.letters.models import Message

    ids = list(handover.claims.values_list("invoice_id", flat=True))
    return list(
        Message.objects.filter(
            organisation=handover.organisation,
            customer=handover.customer,
            invoices__in=ids,
            status__in=SHOWN_STATUSES,
        )
        .distinct()
        .prefetch_related("invoices")
        .order_by("created_at", "id")
    )


def dossier_data(handover: Handover, messages: list[Any] | None = None) -> dict[str, Any]:
    """The dossier as plain data: amounts as strings, dates ISO. `messages`: the
    hand-over's messages when the caller has them already (`_messages`)."""
    from betaald.letters.models import Channel, MessageKind, MessageStatus
    from betaald.letters.selectors import evidence_rows

    organisation = handover.organisation
    customer = handover.customer
    consumer = customer.kind == CustomerKind.CONSUMER
    total = handover.total
    court = court_for(total)
    contacts = [
        {"name": c.name, "role": c.role, "email": c.email, "phone": c.phone}
        for c in customer.contacts.order_by("name", "id")
    ]
    return {
        "dossier": {
            "handover": handover.pk,
            "handed_over_on": handover.handed_over_on.isoformat(),
            "status": handover.status,
            "withdrawn_reason": handover.withdrawn_reason,
        },
        "creditor": {
            "legal_name": organisation.legal_name,
            "trade_name": organisation.trade_name,
            "kvk_number": organisation.kvk_number,
            "vat_number": organisation.vat_number,
            "address": f"{organisation.street}, {organisation.postal_code} {organisation.city}",
            "iban": organisation.iban,
            "email": organisation.email,
            "can_deduct_vat": organisation.can_deduct_vat,
        },
        "debtor": {
            "number": customer.number,
            "name": customer.name,
            "class": customer.kind,
            "kvk_number": customer.kvk_number,
            "vat_number": customer.vat_number,
            "address": f"{customer.street}, {customer.postal_code} {customer.city}",
            "postal_address": (
                f"{customer.postal_street}, {customer.postal_postal_code} {customer.postal_city}"
                if customer.postal_street
                else ""
            ),
            "country": customer.country,
            "email": customer.email,
            "phone": customer.phone,
            "contacts": contacts,
        },
        "party": {
            "kind": handover.party_kind,
            "name": handover.party_name,
            "email": handover.party_email,
            "reference": handover.party_reference,
            "justis_number": handover.justis_number,
        },
        "claim": {
            "principal": str(handover.principal),
            "interest": str(handover.interest),
            "interest_kind": handover.interest_kind,
            "interest_kind_label": str(INTEREST_KINDS.get(handover.interest_kind, "")),
            "costs": str(handover.costs),
            "costs_vat_charged": not organisation.can_deduct_vat and handover.costs > 0,
            "total": str(total),
            "yearly_rate_percent": str(handover.rate_percent),
            "court": court.value,
            "court_note": (
                "consumer-sale, rent and employment cases go to the kantonrechter whatever "
                "the amount (art. 93 Rv)"
                if consumer
                else ""
            ),
            "appeal_possible": appeal_possible(total),
            "claims": _claims(handover),
        },
        "limitation": limitation_rows(
            [c.invoice for c in handover.claims.select_related("invoice", "invoice__customer")],
            handover.handed_over_on,
        ),
        "contract": _contract(handover),
        "messages": [
            {
                **row,
                "kind_label": str(MessageKind(row["kind"]).label),
                "channel_label": str(Channel(row["channel"]).label),
                "status_label": str(MessageStatus(row["status"]).label),
            }
            for row in evidence_rows(_messages(handover) if messages is None else messages)
        ],
        "payments": _payments(handover),
        "disputes": _disputes(handover),
        "acknowledgements": _acknowledgements(handover),
        "attachment": {
            "requested": handover.attachment_requested,
            "amount_to_secure": str(handover.amount_to_secure),
            "kinds": [{"kind": kind, "rule": rule} for kind, rule in ATTACHMENT_KINDS],
            "known_ibans": known_ibans(handover),
            "known_assets": handover.known_assets,
            "fear_of_dissipation": handover.dissipation_facts,
            "petition": "by a lawyer to the voorzieningenrechter (art. 700 Rv); the main "
            "action must start within the term the judge sets, at least 8 days "
            "(art. 700 lid 3 Rv), or the attachment lapses",
        },
        "warnings": list(handover.warnings),
        "note": handover.note,
    }


def dossier_pdf(handover: Handover, data: dict[str, Any] | None = None) -> bytes:
    """The dossier's summary as a PDF (WeasyPrint, the letters' stylesheet)."""
    from betaald.letters.pdf import html_to_pdf, letter_stylesheet

    data = data or dossier_data(handover)
    html = render_to_string("handover/dossier_pdf.html", {"handover": handover, "d": data})
    return html_to_pdf(html, stylesheets=(letter_stylesheet(),))


def _csv(rows: list[dict[str, Any]], fields: list[str] | None = None) -> str:
    table = io.StringIO()
    if not rows and not fields:
        return ""
    writer = csv.DictWriter(
        table, fieldnames=fields or list(rows[0]), lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return table.getvalue()


def _invoice_pdf(invoice: Any) -> bytes:
    from betaald.letters.pdf import letter_pdf
    from betaald.letters.rendering import render_message
    from betaald.letters.services import invoice_context, recipient_for

    rendered = render_message(
        organisation_id=invoice.organisation_id,
        kind="invoice",
        language=invoice.customer.language or "nl",
        context=invoice_context(invoice),
        recipient=recipient_for(invoice.customer),
    )
    return letter_pdf(rendered)


def dossier_zip(handover: Handover) -> bytes:
    """The whole dossier as one ZIP file."""
    from betaald.audit.models import Event
    from betaald.invoices.ubl import invoice_ubl, ubl_filename
    from betaald.letters.selectors import EVIDENCE_FIELDS

    messages = _messages(handover)
    data = dossier_data(handover, messages)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("dossier.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.writestr("dossier.pdf", dossier_pdf(handover, data))
        archive.writestr("claims.csv", _csv(data["claim"]["claims"]))
        archive.writestr("messages.csv", _csv(data["messages"], EVIDENCE_FIELDS))
        archive.writestr("payments.csv", _csv(data["payments"]) or "no payments\n")
        for message in messages:
            if message.pdf:
                with message.pdf.open("rb") as handle:
                    archive.writestr(
                        f"messages/{message.pk}-{message.kind}-{message.pdf_sha256}.pdf",
                        handle.read(),
                    )
        for claim in handover.claims.select_related("invoice", "invoice__customer"):
            invoice = claim.invoice
            archive.writestr(f"invoices/{invoice.number}.pdf", _invoice_pdf(invoice))
            archive.writestr(f"invoices/{ubl_filename(invoice)}", invoice_ubl(invoice))
        # The audit trail of the handed-over invoices, without staff names or internal notes.
        ids = list(handover.claims.values_list("invoice_id", flat=True))
        events = [
            {
                "occurred_at": event.occurred_at.isoformat(),
                "event": event.name,
                "invoice": event.invoice.number if event.invoice else "",
                "before": json.dumps(event.before, ensure_ascii=False) if event.before else "",
                "after": json.dumps(event.after, ensure_ascii=False) if event.after else "",
            }
            for event in Event.objects.filter(organisation=handover.organisation)
            .filter(
                Q(invoice_id__in=ids)
                | Q(subject_type="handover.handover", subject_id=str(handover.pk))
            )
            .select_related("invoice")
            .order_by("occurred_at", "id")
        ]
        archive.writestr("audit.csv", _csv(events) or "no events\n")
    return buffer.getvalue()


def filename(handover: Handover, suffix: str) -> str:
    return f"dossier-{handover.customer.number}-{handover.handed_over_on.isoformat()}.{suffix}"


__all__ = ["dossier_data", "dossier_pdf", "dossier_zip", "filename", "known_ibans"]
