"""Demo activity beyond invoices and payments: direct-debit mandates for two long-standing
customers, a payment plan, a promise to pay, a dispute, and today's bank statement, imported
and matched the way an upload is. A new user sees holds, the review queue and the cash position
filled, not empty pages.

Each part is installed once per organisation (mandates, plan, promise, dispute) or once per
day (the statement, keyed by its statement id), so `betaald demo` can be started again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

from betaald.bank.models import Mandate, Statement
from betaald.bank.sepa import mandate_create
from betaald.bank.services import statement_file_import, transactions_match
from betaald.bank.statements import file_warnings, parse_file
from betaald.debtors.models import Customer, CustomerKind
from betaald.handover.models import Handover, PartyKind
from betaald.handover.services import handover_create
from betaald.invoices.models import Invoice, InvoiceKind, InvoiceStatus
from betaald.invoices.selectors import with_balance
from betaald.organisations.models import Organisation
from betaald.plans.models import Dispute, DisputeReason, PaymentPlan, Promise
from betaald.plans.services import dispute_open, plan_create, promise_create

ACTOR = "demo"
# Holds only when enough customers are overdue that today's dunning run still has work.
MIN_OVERDUE_CUSTOMERS = 8


@dataclass(frozen=True)
class Credit:
    """One entry of the demo statement: money in (positive) or out (negative)."""

    amount: Decimal
    name: str
    iban: str
    text: str = ""
    reference: str = ""  # a structured betalingskenmerk (SCOR)


def _open_invoices(organisation: Organisation) -> list[tuple[Invoice, Decimal]]:
    """The organisation's issued invoices with something open, and what is open."""
    invoices = with_balance(
        Invoice.objects.filter(
            organisation=organisation, kind=InvoiceKind.INVOICE, status=InvoiceStatus.ISSUED
        )
    ).select_related("customer")
    rows = [
        (invoice, Decimal(invoice.open_amount))  # type: ignore[attr-defined]
        for invoice in invoices.order_by("number")
    ]
    return [(invoice, amount) for invoice, amount in rows if amount > 0]


def _overdue(rows: list[tuple[Invoice, Decimal]], today: date) -> list[tuple[Invoice, Decimal]]:
    return [(i, a) for i, a in rows if i.due_on is not None and i.due_on < today]


def _busy(organisation: Organisation) -> set[int]:
    """Customers that already have a plan, promise or dispute: each demo case its own."""
    ids: set[int] = set()
    ids.update(
        PaymentPlan.objects.filter(organisation=organisation).values_list("customer", flat=True)
    )
    ids.update(Promise.objects.filter(organisation=organisation).values_list("customer", flat=True))
    ids.update(
        Dispute.objects.filter(invoice__organisation=organisation).values_list(
            "invoice__customer", flat=True
        )
    )
    ids.update(
        Handover.objects.filter(organisation=organisation).values_list("customer", flat=True)
    )
    return ids


def install_mandates(organisation: Organisation, today: date) -> int:
    """Two business customers who always paid and have a known IBAN sign a Core mandate."""
    if Mandate.objects.filter(organisation=organisation).exists():
        return 0
    candidates = (
        Customer.objects.filter(organisation=organisation, kind=CustomerKind.BUSINESS)
        .exclude(ibans=None)
        .order_by("number")
    )
    open_rows = _open_invoices(organisation)
    overdue_customers = {i.customer_id for i, _a in _overdue(open_rows, today)}
    created = 0
    for customer in candidates:
        if customer.pk in overdue_customers:
            continue
        invoices = Invoice.objects.filter(customer=customer, status=InvoiceStatus.ISSUED).count()
        if invoices < 3:  # a long relationship: direct debit is for customers you know
            continue
        iban = customer.ibans.order_by("pk").first()
        assert iban is not None
        mandate_create(
            organisation=organisation,
            customer=customer,
            reference=f"MACHT-{customer.number}",
            signed_on=today - timedelta(days=400 + 30 * created),
            iban=iban.iban,
            actor=ACTOR,
        )
        created += 1
        if created == 2:
            break
    return created


def install_holds(organisation: Organisation, today: date) -> dict[str, int]:
    """A payment plan for a consumer, a promise to pay and a dispute for two businesses, each
    on overdue invoices, so the holds that pause dunning are there to see."""
    done = {"plans": 0, "promises": 0, "disputes": 0}
    overdue = _overdue(_open_invoices(organisation), today)
    per_customer: dict[int, list[tuple[Invoice, Decimal]]] = {}
    for invoice, amount in overdue:
        per_customer.setdefault(invoice.customer_id, []).append((invoice, amount))
    if len(per_customer) < MIN_OVERDUE_CUSTOMERS and not _busy(organisation):
        return done  # a small demo: leave the overdue customers to today's dunning run

    def largest(kind: str) -> list[tuple[Invoice, Decimal]] | None:
        busy = _busy(organisation)
        options = [
            rows
            for customer_id, rows in per_customer.items()
            if customer_id not in busy and rows[0][0].customer.kind == kind
        ]
        if not options:
            return None
        return max(options, key=lambda rows: (sum(a for _i, a in rows), rows[0][0].number))

    if not PaymentPlan.objects.filter(organisation=organisation).exists():
        rows = largest(CustomerKind.CONSUMER)
        if rows is not None:
            plan_create(
                organisation=organisation,
                customer=rows[0][0].customer,
                invoices=[invoice for invoice, _a in rows],
                actor=ACTOR,
                today=today,
                first_on=today + timedelta(days=7),
                count=6,
                note="Afgesproken aan de telefoon: zes maandelijkse termijnen.",
                activate=True,
            )
            done["plans"] = 1
    if not Promise.objects.filter(organisation=organisation).exists():
        rows = largest(CustomerKind.BUSINESS)
        if rows is not None:
            promise_create(
                organisation=organisation,
                customer=rows[0][0].customer,
                invoices=[invoice for invoice, _a in rows],
                amount=sum(a for _i, a in rows),
                promised_on=today + timedelta(days=5),
                actor=ACTOR,
                today=today,
                note="Crediteurenadministratie belooft betaling in de volgende betaalrun.",
            )
            done["promises"] = 1
    if not Dispute.objects.filter(invoice__organisation=organisation).exists():
        rows = largest(CustomerKind.BUSINESS)
        if rows is not None:
            dispute_open(
                invoice=rows[0][0],
                reason=DisputeReason.QUALITY,
                description="Klant meldt dat de isolatie op zolder niet volledig is aangebracht.",
                actor=ACTOR,
                today=today,
                resolve_by=today + timedelta(days=14),
            )
            done["disputes"] = 1
    return done


#: A claim this long overdue, still unpaid after the whole dunning policy, is handed over.
HANDOVER_AFTER_DAYS = 60


def install_handover(organisation: Organisation, today: date) -> int:
    """The business customer longest overdue (at least 60 days) handed over to a bailiff with
    the dossier, so the hand-over page and its dossier are there to see. Once per demo."""
    if Handover.objects.filter(organisation=organisation).exists():
        return 0
    overdue = _overdue(_open_invoices(organisation), today)
    if len({invoice.customer_id for invoice, _a in overdue}) < MIN_OVERDUE_CUSTOMERS:
        return 0  # a small demo: leave the overdue customers to today's dunning run
    busy = _busy(organisation)
    per_customer: dict[int, list[Invoice]] = {}
    for invoice, _amount in overdue:
        if invoice.customer_id in busy or invoice.customer.kind != CustomerKind.BUSINESS:
            continue
        per_customer.setdefault(invoice.customer_id, []).append(invoice)
    candidates = [
        rows
        for rows in per_customer.values()
        if rows[0].due_on is not None
        and (today - min(i.due_on or today for i in rows)).days >= HANDOVER_AFTER_DAYS
    ]
    if not candidates:
        return 0
    rows = min(candidates, key=lambda rows: (min(i.due_on or today for i in rows), rows[0].number))
    handover_create(
        customer=rows[0].customer,
        invoices=rows,
        party_kind=PartyKind.BAILIFF,
        party_name="Gerechtsdeurwaarderskantoor Van Dam",
        party_email="dossiers@vandam-deurwaarders.example",
        attachment_requested=True,
        known_assets="Bedrijfsbus en gereedschap in de loods aan de Industrieweg.",
        note="Geen reactie op aanmaning en laatste herinnering; telefonisch niet bereikbaar.",
        actor=ACTOR,
        today=today,
    )
    return 1


def statement_identifier(today: date) -> str:
    return f"DEMO-{today:%Y%m%d}"


def statement_credits(organisation: Organisation, today: date) -> list[Credit]:
    """Today's money in: paid with the betalingskenmerk, with the invoice number in the text
    from another account, the exact amount from a known account without a reference, part of
    an invoice from a known account (for review), a stranger (for review), and the bank's
    monthly fee going out."""
    rng = random.Random(today.toordinal())
    busy = _busy(organisation)
    rows = [
        (invoice, amount)
        for invoice, amount in _open_invoices(organisation)
        if invoice.customer_id not in busy and invoice.payment_reference
    ]
    # Most money comes in on time: invoices not yet due first, then the overdue ones.
    shuffled = rng.sample(rows, len(rows))
    shuffled.sort(key=lambda row: row[0].due_on is not None and row[0].due_on < today)
    seen: set[int] = set()
    chosen: list[tuple[Invoice, Decimal]] = []
    for invoice, amount in shuffled:
        if invoice.customer_id in seen:  # one line per customer: every case reads plainly
            continue
        if not invoice.customer.ibans.exists():  # the cases below pay from a known account
            continue
        seen.add(invoice.customer_id)
        chosen.append((invoice, amount))
        if len(chosen) == 6:
            break
    credits: list[Credit] = []
    for n, (invoice, amount) in enumerate(chosen):
        customer = invoice.customer
        iban = customer.ibans.order_by("pk").values_list("iban", flat=True)[0]
        if n in (0, 1, 2):
            credits.append(Credit(amount, customer.name, iban, reference=invoice.payment_reference))
        elif n == 3:
            credits.append(
                Credit(
                    amount, customer.name, "NL39RABO0300065264", text=f"Factuur {invoice.number}"
                )
            )
        elif n == 4:
            credits.append(Credit(amount, customer.name, iban, text="betaling"))
        else:  # part of an invoice from a known account, no reference: a person decides
            part = (amount / 2).quantize(Decimal("0.01"))
            credits.append(Credit(part, customer.name, iban, text="deelbetaling"))
    credits.append(Credit(Decimal("75.00"), "Stichting Buurtfonds", "NL69INGB0123456789", "gift"))
    credits.append(
        Credit(Decimal("-12.50"), "Bank", "NL91ABNA0417164300", text="Kosten betaalpakket")
    )
    return credits


def statement_xml(organisation: Organisation, today: date, credits: list[Credit]) -> bytes:
    """A camt.053.001.02 statement of the organisation's account for `today`, in the element
    order the official XSD prescribes, with opening and closing balances that add up."""
    opening = Decimal("48250.00")
    closing = opening + sum((c.amount for c in credits), Decimal("0"))
    day = today.isoformat()
    before = (today - timedelta(days=1)).isoformat()

    def balance(code: str, amount: Decimal, on: str) -> str:
        sign = "CRDT" if amount >= 0 else "DBIT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="EUR">{abs(amount):.2f}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
            f"<Dt><Dt>{on}</Dt></Dt></Bal>"
        )

    entries = []
    for n, credit in enumerate(credits, start=1):
        incoming = credit.amount > 0
        if credit.reference:
            remittance = (
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>CUR</Issr></Tp>"
                f"<Ref>{escape(credit.reference)}</Ref></CdtrRefInf></Strd>"
            )
        else:
            remittance = f"<Ustrd>{escape(credit.text)}</Ustrd>"
        party = "Dbtr" if incoming else "Cdtr"
        family = "RCDT" if incoming else "ICDT"
        entries.append(
            f'<Ntry><Amt Ccy="EUR">{abs(credit.amount):.2f}</Amt>'
            f"<CdtDbtInd>{'CRDT' if incoming else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
            f"<AcctSvcrRef>{statement_identifier(today)}-{n:03d}</AcctSvcrRef>"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>ESCT</SubFmlyCd>"
            "</Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId>"
            f"</Refs><RltdPties><{party}><Nm>{escape(credit.name)}</Nm></{party}>"
            f"<{party}Acct><Id><IBAN>{credit.iban}</IBAN></Id></{party}Acct></RltdPties>"
            f"<RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{statement_identifier(today)}</MsgId>"
        f"<CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_identifier(today)}</Id><CreDtTm>{day}T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{organisation.iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        + balance("OPBD", opening, before)
        + balance("CLBD", closing, day)
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>\n"
    )
    return xml.encode("utf-8")


def install_statement(organisation: Organisation, today: date) -> dict[str, int]:
    """Import and match today's demo statement once; the matching counts of the upload."""
    identifier = statement_identifier(today)
    if Statement.objects.filter(organisation=organisation, identifier=identifier).exists():
        return {}
    data = statement_xml(organisation, today, statement_credits(organisation, today))
    filename = f"{identifier}.xml"
    parsed = parse_file(data, filename=filename)
    result = statement_file_import(
        organisation=organisation,
        parsed=parsed,
        data=data,
        filename=filename,
        warnings=file_warnings(parsed),
        actor=ACTOR,
    )
    return transactions_match(
        organisation=organisation, transaction_ids=result.transaction_ids, actor=ACTOR
    )
