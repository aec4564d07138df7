"""Why a bank line may pay which invoices, in the reader's language, for the review queue.

The matcher (`betaald.core.matching`, stdlib only) stores each candidate with its reason code,
customer, invoices and an English explanation. The review queue shows the customer and the
invoices by name and number, and says the reason again in the active language from the same
facts: the reason code, the line (amount, IBAN, betalingskenmerk) and the invoices (number,
betalingskenmerk, what is open now).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from betaald.bank.models import BankTransaction
from betaald.core import matching
from betaald.debtors.models import Customer
from betaald.invoices.models import Invoice
from betaald.invoices.selectors import with_balance
from betaald.web.templatetags.betaald import euro


@dataclass(frozen=True)
class CandidateRow:
    index: int
    customer: Customer | None
    invoices: list[Invoice]
    why: str
    score: int


def reason_text(
    reason: str,
    *,
    amount: Decimal,
    iban: str,
    structured_reference: str,
    invoices: list[Invoice],
    open_amounts: dict[int, Decimal],
    fallback: str,
) -> str:
    """The reason of one candidate as a sentence in the active language; `fallback` (the
    matcher's English explanation) for a reason this module does not know."""
    numbers = ", ".join(invoice.number for invoice in invoices)
    open_total = sum(
        (open_amounts.get(invoice.pk, Decimal("0")) for invoice in invoices), Decimal(0)
    )
    exact = open_total == amount
    if reason == matching.REFERENCE and invoices:
        text = _("betalingskenmerk %(reference)s is invoice %(number)s") % {
            "reference": structured_reference or invoices[0].payment_reference,
            "number": numbers,
        }
        return (
            text
            if exact
            else _("%(text)s (open %(open)s)") % {"text": text, "open": euro(open_total)}
        )
    if reason == matching.REFERENCE_IN_TEXT and invoices:
        return _("betalingskenmerk %(reference)s of invoice %(number)s in the description") % {
            "reference": invoices[0].payment_reference,
            "number": numbers,
        }
    if reason == matching.INVOICE_NUMBER and invoices:
        text = ngettext(
            "invoice number %(numbers)s in the description",
            "invoice numbers %(numbers)s in the description",
            len(invoices),
        ) % {"numbers": numbers}
        return (
            text
            if exact
            else _("%(text)s (open %(open)s)") % {"text": text, "open": euro(open_total)}
        )
    if reason == matching.EXACT_AMOUNT and invoices:
        return _(
            "%(iban)s is a known IBAN of the customer and %(amount)s is the open amount of "
            "invoice %(number)s"
        ) % {"iban": iban, "amount": euro(amount), "number": numbers}
    if reason == matching.SUM_OF_INVOICES and invoices:
        return _(
            "%(iban)s is a known IBAN of the customer and %(amount)s is the sum of invoices "
            "%(numbers)s"
        ) % {"iban": iban, "amount": euro(amount), "numbers": numbers}
    if reason == matching.PARTIAL:
        return _("%(iban)s is a known IBAN of the customer; %(amount)s matches no open amount") % {
            "iban": iban,
            "amount": euro(amount),
        }
    return fallback


def review_rows(transactions: Iterable[BankTransaction]) -> dict[int, list[CandidateRow]]:
    """The candidates of each transaction with customer, invoices and reason (two queries for
    the page: customers, and invoices with what is open on them)."""
    transactions = list(transactions)
    customer_ids: set[int] = set()
    invoice_ids: set[int] = set()
    for tx in transactions:
        for candidate in tx.candidates or []:
            customer_ids.add(int(candidate.get("customer_id", 0)))
            invoice_ids.update(int(pk) for pk in candidate.get("invoice_ids", []))
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=customer_ids)}
    invoices = {i.pk: i for i in with_balance(Invoice.objects.filter(pk__in=invoice_ids))}
    open_amounts = {
        pk: Decimal(invoice.open_amount)  # type: ignore[attr-defined]
        for pk, invoice in invoices.items()
    }
    rows: dict[int, list[CandidateRow]] = {}
    for tx in transactions:
        found = []
        for index, candidate in enumerate(tx.candidates or []):
            named = [invoices[pk] for pk in candidate.get("invoice_ids", []) if pk in invoices]
            found.append(
                CandidateRow(
                    index=index,
                    customer=customers.get(int(candidate.get("customer_id", 0))),
                    invoices=named,
                    why=reason_text(
                        str(candidate.get("reason", "")),
                        amount=Decimal(str(candidate.get("amount", tx.amount))),
                        iban=tx.counterparty_iban,
                        structured_reference=tx.structured_reference,
                        invoices=named,
                        open_amounts=open_amounts,
                        fallback=str(candidate.get("explanation", "")),
                    ),
                    score=int(candidate.get("score", 0)),
                )
            )
        rows[tx.pk] = found
    return rows


def attach_review_rows(transactions: Iterable[Any]) -> None:
    """Set `review_rows` on each transaction of a review page, for the template."""
    transactions = list(transactions)
    rows = review_rows(transactions)
    for tx in transactions:
        tx.review_rows = rows.get(tx.pk, [])
