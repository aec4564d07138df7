"""From a message's frozen context to its subject, HTML body, text body and SMS text.

Every message kind has a default template per language in
`templates/letters/<kind>.<lang>.html` with three blocks: `subject`, `sms` and `body`. An
organisation may replace them with a `MessageTemplate`. Both go through the same sandboxed
engine: a fixed list of placeholders (`PLACEHOLDERS`), a fixed list of tags (`if`, `for`,
comments) and filters; unknown placeholders and syntax errors are refused when a template is
saved. Placeholders hold display strings already formatted in the letter's language
(`{{ total }}` → `€ 1.234,56`), so template authors never format money themselves.

The display context is built from the frozen context only (amounts as strings, dates ISO), never
from live models, so a re-render is identical. See docs/algorithms/letters.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, TextNode, VariableNode
from django.template.defaulttags import CommentNode, ForNode, IfNode
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from betaald.core.errors import DomainError
from betaald.core.money import ZERO, to_money
from betaald.letters.templatetags.letters import format_date, format_euro

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "letters"
PARTS = ("subject", "sms", "body")
MISSING = "\x00MISSING\x00"

# The placeholders a template may use; `[]` marks the items of a list used in `{% for %}`.
PLACEHOLDERS: dict[str, str] = {
    "language": "nl or en",
    "date": "the letter date",
    "customer.name": "the debtor's name",
    "customer.number": "the debtor's customer number",
    "recipient.name": "the addressee",
    "recipient.email": "the email address",
    "organisation.name": "your trade name",
    "organisation.legal_name": "your legal name",
    "organisation.email": "your email address (replies go here)",
    "organisation.phone": "your phone number",
    "organisation.website": "your website",
    "organisation.iban": "your IBAN",
    "organisation.kvk_number": "your KvK number",
    "organisation.vat_number": "your VAT number",
    "iban": "the IBAN to pay to",
    "payment_reference": "the betalingskenmerk",
    "pay_by": "the date by which to pay (if the letter sets one)",
    "principal": "sum of the unpaid principals",
    "interest": "interest charged in this letter",
    "costs": "collection costs charged in this letter (incl. VAT if charged)",
    "costs_vat": "VAT on the collection costs",
    "total": "the amount to pay now",
    "costs_if_unpaid": "14-dagenbrief: the exact collection costs charged if unpaid",
    "costs_vat_if_unpaid": "14-dagenbrief: VAT on those costs, if charged",
    "has_costs_vat_if_unpaid": "whether VAT is charged on the costs (true/false)",
    "total_if_unpaid": "14-dagenbrief: the total due after the term if unpaid",
    "interest_note": "a sentence on the interest that runs (may be empty)",
    "invoice_count": "the number of invoices in the letter",
    "invoice_table": "the table of invoices with principal, interest, costs and the total",
    "invoices": "the invoices in the letter (use in {% for invoice in invoices %})",
    "invoices[].number": "invoice number",
    "invoices[].issued_on": "invoice date",
    "invoices[].due_on": "due date",
    "invoices[].principal": "unpaid principal",
    "invoices[].interest": "interest",
    "invoices[].costs": "collection costs",
    "invoices[].total": "total of the invoice line",
    "invoices[].payment_reference": "the invoice's betalingskenmerk",
    "invoice.number": "the (first) invoice's number",
    "invoice.issued_on": "the (first) invoice's date",
    "invoice.due_on": "the (first) invoice's due date",
    "invoice.total": "the (first) invoice's total",
    "plan.total": "payment plan: the total",
    "plan.count": "payment plan: number of instalments",
    "plan.instalments": "payment plan: instalments (use in {% for %})",
    "plan.instalments[].number": "instalment number",
    "plan.instalments[].due_on": "instalment due date",
    "plan.instalments[].amount": "instalment amount",
    "instalment.number": "plan instalment reminder: which instalment",
    "instalment.due_on": "plan instalment reminder: its due date",
    "instalment.amount": "plan instalment reminder: its amount",
    "promise.amount": "promise to pay: the amount promised",
    "promise.due_on": "promise to pay: the date promised",
    "handover.party": "hand-over: the agency, bailiff or lawyer",
    "dispute.reason": "dispute decision: what the customer disputed",
    "dispute.decision": "dispute decision: the explanation of the decision",
    "direct_debit.amount": "direct debit: the amount collected",
    "direct_debit.collection_date": "direct debit: the collection date",
    "direct_debit.mandate_reference": "direct debit: the mandate reference",
    "direct_debit.creditor_id": "direct debit: your creditor identifier (incassant-ID)",
    "direct_debit.debtor_iban": "direct debit: the debtor's IBAN, all but the last 4 masked",
    "direct_debit.return_code": "direct debit stopped: the bank's return reason code (MD01 …)",
    "direct_debit.return_reason": "direct debit stopped: that reason in words",
    "direct_debit.returned_on": "direct debit stopped: the date of the return",
    "forloop.counter": "position in a {% for %} loop",
    "forloop.first": "first item in a loop",
    "forloop.last": "last item in a loop",
}
ALLOWED_FILTERS = {"upper", "lower", "title", "capfirst", "default", "linebreaksbr", "length"}
ALLOWED_NODES = (TextNode, VariableNode, IfNode, ForNode, CommentNode)

# The wording art. 6:96 lid 6 BW needs (HR 25-11-2016, ECLI:NL:HR:2016:2704): the term starts the
# day after receipt. A 14-dagenbrief template must contain it, and the exact costs.
FOURTEEN_DAY_TERM = {
    "nl": "binnen veertien dagen na de dag waarop deze brief bij u is bezorgd",
    "en": "within 14 days after the day of receipt of this letter",
}


# The SEPA return reasons (ISO 20022 ExternalReturnReason1Code) a debtor may see, in words; an
# unknown code is shown as the code itself.
RETURN_REASONS: dict[str, tuple[str, str]] = {
    "AC01": ("het rekeningnummer is onjuist", "the account number is incorrect"),
    "AC04": ("de rekening is opgeheven", "the account has been closed"),
    "AC06": ("de rekening is geblokkeerd", "the account is blocked"),
    "AC13": ("de rekening is geen rekening voor zakelijke incasso", "the account type is wrong"),
    "AG01": (
        "incasso is op deze rekening niet toegestaan",
        "direct debits are not allowed on this account",
    ),
    "AM04": ("er was onvoldoende saldo", "there were insufficient funds"),
    "AM05": ("de incasso is dubbel aangeboden", "the direct debit was a duplicate"),
    "BE05": ("uw bank kende ons als incassant niet", "your bank did not recognise us as creditor"),
    "MD01": (
        "uw bank kent geen geldige machtiging voor deze incasso",
        "your bank holds no valid mandate for this direct debit",
    ),
    "MD02": (
        "de gegevens van de machtiging ontbreken of zijn onjuist",
        "the mandate data are missing or incorrect",
    ),
    "MD06": (
        "u heeft de incasso laten terugboeken",
        "you asked your bank to refund the direct debit",
    ),
    "MD07": ("de rekeninghouder is overleden", "the account holder has died"),
    "MS02": ("u heeft de incasso geweigerd", "you refused the direct debit"),
    "MS03": (
        "uw bank heeft de incasso geweigerd zonder reden",
        "your bank refused the direct debit without giving a reason",
    ),
    "SL01": (
        "uw bank blokkeert incasso's van ons",
        "your bank blocks direct debits from us",
    ),
    "RR01": ("wettelijke voorschriften dit verbieden", "regulations forbid it"),
    "RR02": ("wettelijke voorschriften dit verbieden", "regulations forbid it"),
    "RR03": ("wettelijke voorschriften dit verbieden", "regulations forbid it"),
    "RR04": ("wettelijke voorschriften dit verbieden", "regulations forbid it"),
}

# Kinds that announce a direct debit: the money is collected, so the letter has no transfer
# slip and no payment QR code (paying as well would pay twice).
NO_TRANSFER_KINDS = frozenset({"sepa_pre_notification"})


def return_reason(code: str, language: str) -> str:
    texts = RETURN_REASONS.get(code.strip().upper())
    if texts is None:
        return "uw bank een reden opgaf" if language == "nl" else "your bank gave a reason"
    return texts[0] if language == "nl" else texts[1]


def masked_iban(iban: str) -> str:
    """NL91ABNA0417164300 → NL** **** **** **43 00: enough to recognise the account."""
    compact = "".join(str(iban).split()).upper()
    if len(compact) <= 4:
        return compact
    masked = compact[:2] + "*" * (len(compact) - 6) + compact[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "invoice": "Factuur",
        "invoice_date": "Factuurdatum",
        "due_date": "Vervaldatum",
        "principal": "Hoofdsom",
        "interest": "Rente",
        "costs": "Kosten",
        "total": "Totaal",
        "total_due": "Totaal te betalen",
        "interest_letter": "Rente over de vordering",
        "costs_letter": "Buitengerechtelijke incassokosten (over de som van de hoofdsommen)",
        "date": "Datum",
        "reference": "Betalingskenmerk",
        "customer_number": "Klantnummer",
        "subject": "Betreft",
        "pay_to": "Te betalen op",
        "amount": "Bedrag",
        "scan": "Scan met uw bank-app",
        "page": "Pagina",
        "of": "van",
        "kvk": "KvK",
        "vat": "Btw-id",
        "iban": "IBAN",
        "bic": "BIC",
        "attention": "t.a.v.",
    },
    "en": {
        "invoice": "Invoice",
        "invoice_date": "Invoice date",
        "due_date": "Due date",
        "principal": "Principal",
        "interest": "Interest",
        "costs": "Costs",
        "total": "Total",
        "total_due": "Total to pay",
        "interest_letter": "Interest on the claim",
        "costs_letter": "Extrajudicial collection costs (on the sum of the principals)",
        "date": "Date",
        "reference": "Payment reference",
        "customer_number": "Customer number",
        "subject": "Subject",
        "pay_to": "Pay to",
        "amount": "Amount",
        "scan": "Scan with your banking app",
        "page": "Page",
        "of": "of",
        "kvk": "Chamber of Commerce (KvK)",
        "vat": "VAT id",
        "iban": "IBAN",
        "bic": "BIC",
        "attention": "Attn.",
    },
}


class RenderError(DomainError):
    """A message cannot be rendered: bad data in its context or a broken template."""


@dataclass(frozen=True, slots=True)
class Payment:
    """What the payment block and the EPC QR code show."""

    name: str
    iban: str
    bic: str
    amount: Decimal
    reference: str


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    html: SafeString
    text: str
    sms: str
    payment: Payment
    display: dict[str, Any]


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The sandbox: no loaders, no custom libraries; strict about missing values."""
    return Engine(dirs=[], app_dirs=False, autoescape=True, string_if_invalid=MISSING, libraries={})


# --- template sources ----------------------------------------------------------------------

BLOCK = re.compile(r"{%\s*block\s+(\w+)\s*%}(.*?){%\s*endblock\s*%}", re.DOTALL)


def default_parts(kind: str, language: str) -> dict[str, str]:
    """The default subject, SMS and body of a kind in a language, as template source."""
    path = TEMPLATE_DIR / f"{kind}.{language}.html"
    if not path.exists():
        path = TEMPLATE_DIR / f"{kind}.nl.html"
    return _read_parts(str(path))


@lru_cache(maxsize=64)
def _read_parts(path: str) -> dict[str, str]:
    source = Path(path).read_text(encoding="utf-8")
    parts = {name: text.strip() for name, text in BLOCK.findall(source)}
    return {name: parts.get(name, "") for name in PARTS}


def template_parts(organisation_id: int | None, kind: str, language: str) -> dict[str, str]:
    """The organisation's own template if it has one, else the default."""
    from betaald.letters.models import MessageTemplate

    if organisation_id is not None:
        own = MessageTemplate.objects.filter(
            organisation_id=organisation_id, kind=kind, language=language
        ).first()
        if own is not None:
            defaults = default_parts(kind, language)
            return {
                "subject": own.subject,
                "sms": own.sms_text or defaults["sms"],
                "body": own.body,
            }
    return default_parts(kind, language)


# --- validation ----------------------------------------------------------------------------


@lru_cache(maxsize=512)
def compile_part(source: str) -> Template:
    """Compile and check one part; raises TemplateSyntaxError or ValueError with the reason."""
    template = engine().from_string(source)
    problems = sorted(set(_check_nodes(template.nodelist, {})))
    if problems:
        raise ValueError("; ".join(problems))
    return template


def _path_of(expression: FilterExpression, aliases: dict[str, str]) -> str | None:
    var = expression.var
    if not hasattr(var, "lookups") or var.lookups is None:
        return None  # a literal
    lookups = list(var.lookups)
    head = aliases.get(lookups[0], lookups[0])
    return ".".join([head, *lookups[1:]])


def _check_expression(expression: FilterExpression, aliases: dict[str, str]) -> list[str]:
    problems = []
    path = _path_of(expression, aliases)
    if path is not None and path not in PLACEHOLDERS:
        problems.append(_("unknown placeholder {{ %(name)s }}") % {"name": path})
    for func, _args in expression.filters:
        if func.__name__ not in ALLOWED_FILTERS:
            problems.append(_("filter |%(name)s is not allowed") % {"name": func.__name__})
    return problems


def _condition_expressions(condition: Any) -> list[FilterExpression]:
    found = []
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        found.append(value)
    for side in ("first", "second"):
        child = getattr(condition, side, None)
        if child is not None:
            found += _condition_expressions(child)
    return found


def _check_nodes(nodelist: Any, aliases: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for node in nodelist:
        if not isinstance(node, ALLOWED_NODES):
            token = getattr(node, "token", None)
            name = token.contents.split()[0] if token is not None else type(node).__name__
            problems.append(_("tag {%% %(name)s %%} is not allowed") % {"name": name})
            continue
        if isinstance(node, VariableNode):
            problems += _check_expression(node.filter_expression, aliases)
        elif isinstance(node, IfNode):
            for condition, body in node.conditions_nodelists:
                if condition is not None:
                    for expression in _condition_expressions(condition):
                        problems += _check_expression(expression, aliases)
                problems += _check_nodes(body, aliases)
        elif isinstance(node, ForNode):
            sequence = node.sequence
            if not isinstance(sequence, FilterExpression):
                problems.append(_("a {% for %} loop needs a placeholder"))
                continue
            problems += _check_expression(sequence, aliases)
            source = _path_of(sequence, aliases) or ""
            inner = dict(aliases)
            for loopvar in node.loopvars:
                inner[loopvar] = f"{source}[]"
            problems += _check_nodes(node.nodelist_loop, inner)
            problems += _check_nodes(node.nodelist_empty, aliases)
    return problems


def template_validate(*, kind: str, language: str, subject: str, body: str, sms: str) -> None:
    """Refuse a template with syntax errors, unknown placeholders or tags, or (for the
    14-dagenbrief) without the legally required term and costs. Raises ValidationError."""
    errors: dict[str, list[str]] = {}
    for field, source in (("subject", subject), ("body", body), ("sms_text", sms)):
        try:
            compile_part(source)
        except TemplateSyntaxError as error:
            errors.setdefault(field, []).append(_("Template error: %(e)s") % {"e": error})
        except ValueError as error:
            errors.setdefault(field, []).append(str(error))
    if not errors:
        try:
            sample = render_parts(
                {"subject": subject, "body": body, "sms": sms},
                display_context(sample_context(), recipient=SAMPLE_RECIPIENT, language=language),
            )
        except RenderError as error:
            errors.setdefault("body", []).append(str(error))
        else:
            if kind == "final_notice_14_day":
                errors.update(fourteen_day_problems(sample[1], language))
    if errors:
        raise ValidationError(errors)


def fourteen_day_problems(html: str, language: str) -> dict[str, list[str]]:
    """Art. 6:96 lid 6 BW: the 14-dagenbrief states the term from receipt and the exact costs."""
    text = " ".join(html_to_text(html).split())
    problems = []
    if FOURTEEN_DAY_TERM[language] not in text:
        problems.append(
            _('A 14-dagenbrief must state the term as "%(term)s".')
            % {"term": FOURTEEN_DAY_TERM[language]}
        )
    costs = " ".join(format_euro(SAMPLE_COSTS_IF_UNPAID, language).split())
    if costs not in text:
        problems.append(
            _("A 14-dagenbrief must state the exact collection costs: use {{ costs_if_unpaid }}.")
        )
    return {"body": problems} if problems else {}


# --- the display context -------------------------------------------------------------------


def _money(value: Any, field: str) -> Decimal:
    if value in (None, ""):
        return ZERO
    try:
        return to_money(str(value), field=field)
    except DomainError as error:
        raise RenderError(f"{field}: {error}") from None


def _day(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise RenderError(f"{field}: {value!r} is not an ISO date") from None


def display_context(
    context: dict[str, Any], *, recipient: dict[str, Any], language: str, kind: str = ""
) -> dict[str, Any]:
    """The template context: display strings from the frozen context, in `language`. For a
    kind in `NO_TRANSFER_KINDS` the payment block and its QR code are left out."""

    def euro(amount: Decimal) -> str:
        return format_euro(amount, language)

    def day(value: date | None) -> str:
        return format_date(value, language) if value else ""

    sender = context.get("sender") or {}
    invoices = []
    sums = {"principal": ZERO, "interest": ZERO, "costs": ZERO, "late_fee": ZERO}
    for index, item in enumerate(context.get("invoices") or []):
        amounts = {key: _money(item.get(key), f"invoices[{index}].{key}") for key in sums}
        # The line total is what this letter claims for the invoice; an invoice's own
        # `total` (its amount as issued) is not used here.
        line_total = sum(amounts.values(), ZERO)
        for key in sums:
            sums[key] += amounts[key]
        invoices.append(
            {
                "number": str(item.get("number", "")),
                "issued_on": day(_day(item.get("issued_on"), f"invoices[{index}].issued_on")),
                "due_on": day(_day(item.get("due_on"), f"invoices[{index}].due_on")),
                "issued_on_short": short_date(_day(item.get("issued_on"), "issued_on")),
                "due_on_short": short_date(_day(item.get("due_on"), "due_on")),
                "principal": euro(amounts["principal"]),
                "interest": euro(amounts["interest"]),
                "costs": euro(amounts["costs"] + amounts["late_fee"]),
                "total": euro(line_total),
                "payment_reference": str(item.get("payment_reference", "")),
                "raw_total": line_total,
            }
        )
    principal = _money(context.get("principal", sums["principal"]), "principal")
    interest = _money(context.get("interest", sums["interest"]), "interest")
    late_fee = _money(context.get("late_fee", sums["late_fee"]), "late_fee")
    # Collection costs come as an amount, or as the dunning engine's breakdown
    # {"costs", "vat", "total"}; `costs` shown is incl. VAT, plus any late fee.
    costs_value = context.get("costs")
    if isinstance(costs_value, dict):
        costs_vat = _money(costs_value.get("vat"), "costs.vat")
        collection = _money(costs_value.get("total"), "costs.total")
    elif costs_value in (None, ""):
        costs_vat = _money(context.get("costs_vat"), "costs_vat")
        collection = sums["costs"] + costs_vat
    else:
        costs_vat = _money(context.get("costs_vat"), "costs_vat")
        collection = _money(costs_value, "costs")
    costs = collection + late_fee
    total = (
        _money(context["total"], "total")
        if context.get("total") not in (None, "")
        else principal + interest + costs
    )
    unpaid_value = context.get("costs_if_unpaid")
    if isinstance(unpaid_value, dict):
        costs_if_unpaid = _money(unpaid_value.get("costs"), "costs_if_unpaid.costs")
        costs_vat_if_unpaid = _money(unpaid_value.get("vat"), "costs_if_unpaid.vat")
    else:
        costs_if_unpaid = _money(unpaid_value, "costs_if_unpaid")
        costs_vat_if_unpaid = _money(context.get("costs_vat_if_unpaid"), "costs_vat_if_unpaid")
    total_if_unpaid = total + costs_if_unpaid + costs_vat_if_unpaid
    reference = str(context.get("payment_reference") or "")
    if not reference and invoices:
        reference = str(invoices[0]["payment_reference"])
    plan = context.get("plan") or {}
    instalments = [
        {
            "number": str(item.get("number", index + 1)),
            "due_on": day(_day(item.get("due_on"), f"plan.instalments[{index}].due_on")),
            "amount": euro(_money(item.get("amount"), f"plan.instalments[{index}].amount")),
        }
        for index, item in enumerate(plan.get("instalments") or [])
    ]
    instalment = context.get("instalment") or {}
    promise = context.get("promise") or {}
    debit = context.get("direct_debit") or {}
    return_code = str(debit.get("return_code", ""))
    name = sender.get("trade_name") or sender.get("legal_name") or ""
    display: dict[str, Any] = {
        "language": language,
        "date": day(_day(context.get("date"), "date")),
        "customer": {
            "name": str(
                context.get("customer_name")
                or (context.get("customer") or {}).get("name")
                or recipient.get("name", "")
            ),
            "number": str(
                context.get("customer_number") or (context.get("customer") or {}).get("number", "")
            ),
        },
        "recipient": {
            "name": str(recipient.get("name", "")),
            "email": str(recipient.get("email", "")),
        },
        "organisation": {
            "name": name,
            "legal_name": sender.get("legal_name", ""),
            "email": sender.get("email", ""),
            "phone": sender.get("phone", ""),
            "website": sender.get("website", ""),
            "iban": sender.get("iban", ""),
            "kvk_number": sender.get("kvk_number", ""),
            "vat_number": sender.get("vat_number", ""),
        },
        "iban": sender.get("iban", ""),
        "payment_reference": reference,
        "pay_by": day(_day(context.get("pay_by"), "pay_by")),
        "principal": euro(principal),
        "interest": euro(interest),
        "costs": euro(costs),
        "costs_vat": euro(costs_vat),
        "total": euro(total),
        "costs_if_unpaid": euro(costs_if_unpaid),
        "costs_vat_if_unpaid": euro(costs_vat_if_unpaid),
        "has_costs_vat_if_unpaid": costs_vat_if_unpaid > ZERO,
        "total_if_unpaid": euro(total_if_unpaid),
        "interest_note": str(context.get("interest_note", "")),
        "invoice_count": str(len(invoices)),
        "invoices": invoices,
        "invoice": invoices[0]
        if invoices
        else {"number": "", "issued_on": "", "due_on": "", "total": ""},
        "plan": {
            "total": euro(_money(plan.get("total"), "plan.total")) if plan else "",
            "count": str(len(instalments)),
            "instalments": instalments,
        },
        "instalment": {
            "number": str(instalment.get("number", "")),
            "due_on": day(_day(instalment.get("due_on"), "instalment.due_on")),
            "amount": euro(_money(instalment.get("amount"), "instalment.amount"))
            if instalment
            else "",
        },
        "promise": {
            "amount": euro(_money(promise.get("amount"), "promise.amount")) if promise else "",
            "due_on": day(_day(promise.get("due_on"), "promise.due_on")),
        },
        "handover": {"party": str((context.get("handover") or {}).get("party", ""))},
        "dispute": {
            "reason": str((context.get("dispute") or {}).get("reason", "")),
            "decision": str((context.get("dispute") or {}).get("decision", "")),
        },
        "direct_debit": {
            "amount": euro(_money(debit.get("amount"), "direct_debit.amount")) if debit else "",
            "collection_date": day(
                _day(debit.get("collection_date"), "direct_debit.collection_date")
            ),
            "mandate_reference": str(debit.get("mandate_reference", "")),
            "creditor_id": str(debit.get("creditor_id", "")),
            "debtor_iban": masked_iban(str(debit.get("debtor_iban", ""))),
            "return_code": return_code,
            "return_reason": str(debit.get("return_reason") or "")
            or return_reason(return_code, language),
            "returned_on": day(_day(debit.get("returned_on"), "direct_debit.returned_on")),
        },
        # Not placeholders: what the layout needs.
        "sender": sender,
        "address_lines": [str(line) for line in recipient.get("address_lines") or []],
        "attention": str(recipient.get("attention") or ""),
        "raw_total": total,
        "raw_principal": principal,
        "raw_interest": interest,
        "raw_costs": costs,
    }
    interest_unallocated = interest - sums["interest"]
    costs_unallocated = costs - sums["costs"] - sums["late_fee"]
    display["interest_unallocated"] = euro(interest_unallocated) if interest_unallocated else ""
    display["costs_unallocated"] = euro(costs_unallocated) if costs_unallocated else ""
    display["labels"] = LABELS.get(language, LABELS["nl"])
    letter_date = _day(context.get("date"), "date")
    display["date_iso"] = f"{letter_date.isoformat()}T00:00:00Z" if letter_date else ""
    display["meta_rows"] = []
    document = context.get("invoice_document")
    if document:
        display["invoice_document"] = invoice_document_display(document, language)
        display["meta_rows"] = display["invoice_document"]["meta_rows"]
    display["invoice_table"] = invoice_table(display)
    display["payment"] = Payment(
        name=name[:70] or "-",
        iban=str(sender.get("iban", "")).replace(" ", ""),
        bic=str(sender.get("bic", "")),
        amount=ZERO if kind in NO_TRANSFER_KINDS else total,
        reference=reference,
    )
    return display


VAT_LABELS = {
    "nl": {
        "21": "21%",
        "9": "9%",
        "0": "0%",
        "reverse_charge": "btw verlegd",
        "exempt": "vrijgesteld van btw",
    },
    "en": {
        "21": "21%",
        "9": "9%",
        "0": "0%",
        "reverse_charge": "VAT reverse-charged",
        "exempt": "exempt from VAT",
    },
}
INVOICE_LABELS = {
    "nl": {
        "invoice": "Factuur",
        "credit_note": "Creditnota",
        "number": "Factuurnummer",
        "issued_on": "Factuurdatum",
        "delivered_on": "Leverdatum",
        "due_on": "Vervaldatum",
        "your_reference": "Uw referentie",
        "credits": "Crediteert factuur",
        "seller": "Leverancier",
        "buyer": "Afnemer",
        "description": "Omschrijving",
        "quantity": "Aantal",
        "unit_price": "Prijs excl. btw",
        "vat_rate": "Btw",
        "amount": "Bedrag excl. btw",
        "base": "Grondslag",
        "vat": "Btw",
        "total_excl_vat": "Totaal excl. btw",
        "total_vat": "Totaal btw",
        "total": "Totaal te betalen",
        "reverse_charge": "Btw verlegd naar de afnemer (art. 12 Wet OB).",
        "exempt": "Vrijgesteld van btw.",
        "vat_id": "Btw-id",
        "kvk": "KvK",
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "number": "Invoice number",
        "issued_on": "Invoice date",
        "delivered_on": "Delivery date",
        "due_on": "Due date",
        "your_reference": "Your reference",
        "credits": "Credits invoice",
        "seller": "Supplier",
        "buyer": "Customer",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Price excl. VAT",
        "vat_rate": "VAT",
        "amount": "Amount excl. VAT",
        "base": "Taxable amount",
        "vat": "VAT",
        "total_excl_vat": "Total excl. VAT",
        "total_vat": "Total VAT",
        "total": "Total to pay",
        "reverse_charge": "VAT reverse-charged (btw verlegd, art. 12 Wet OB).",
        "exempt": "Exempt from VAT.",
        "vat_id": "VAT id",
        "kvk": "KvK",
    },
}


def _quantity(value: Any) -> str:
    text = str(value or "0")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def invoice_document_display(document: dict[str, Any], language: str) -> dict[str, Any]:
    """The invoice's legally required data (art. 35a Wet OB) as display strings."""
    labels = INVOICE_LABELS.get(language, INVOICE_LABELS["nl"])
    vat_labels = VAT_LABELS.get(language, VAT_LABELS["nl"])

    def euro(value: Any, field: str) -> str:
        return format_euro(_money(value, field), language)

    def day(value: Any, field: str) -> str:
        parsed = _day(value, field)
        return format_date(parsed, language) if parsed else ""

    rates = {line.get("vat_rate") for line in document.get("lines") or []}
    issued_on = day(document.get("issued_on"), "invoice.issued_on")
    delivered_on = day(document.get("delivered_on"), "invoice.delivered_on")
    meta_rows = [
        (labels["number"], str(document.get("number", ""))),
    ]
    if delivered_on and delivered_on != issued_on:
        meta_rows.append((labels["delivered_on"], delivered_on))
    if document.get("due_on") and document.get("kind") != "credit_note":
        meta_rows.append((labels["due_on"], day(document.get("due_on"), "invoice.due_on")))
    if document.get("customer_reference"):
        meta_rows.append((labels["your_reference"], str(document["customer_reference"])))
    if document.get("credited_number"):
        meta_rows.append((labels["credits"], str(document["credited_number"])))
    return {
        "title": labels["credit_note"]
        if document.get("kind") == "credit_note"
        else labels["invoice"],
        "labels": labels,
        "meta_rows": meta_rows,
        "seller": document.get("seller") or {},
        "buyer": document.get("buyer") or {},
        "lines": [
            {
                "description": str(line.get("description", "")),
                "quantity": _quantity(line.get("quantity")),
                "unit": str(line.get("unit", "")),
                "unit_price": euro(line.get("unit_price"), f"lines[{index}].unit_price"),
                "vat_rate": vat_labels.get(str(line.get("vat_rate")), str(line.get("vat_rate"))),
                "amount": euro(line.get("amount"), f"lines[{index}].amount"),
            }
            for index, line in enumerate(document.get("lines") or [])
        ],
        "vat_groups": [
            {
                "rate": vat_labels.get(str(group.get("rate")), str(group.get("rate"))),
                "base": euro(group.get("base"), "vat_groups.base"),
                "vat": euro(group.get("vat"), "vat_groups.vat"),
            }
            for group in document.get("vat_groups") or []
        ],
        "total_excl_vat": euro(document.get("total_excl_vat"), "total_excl_vat"),
        "total_vat": euro(document.get("total_vat"), "total_vat"),
        "total": euro(document.get("total"), "total"),
        "reverse_charge": "reverse_charge" in rates,
        "exempt": "exempt" in rates,
        "notes": str(document.get("notes", "")),
    }


def short_date(value: date | None) -> str:
    return f"{value.day:02}-{value.month:02}-{value.year}" if value else ""


def invoice_table(display: dict[str, Any]) -> SafeString:
    if not display["invoices"]:
        return mark_safe("")
    return mark_safe(  # noqa: S308 - rendered with autoescape from display strings
        render_to_string("letters/layout/invoice_table.html", display)
    )


def render_parts(parts: dict[str, str], display: dict[str, Any]) -> tuple[str, SafeString, str]:
    """Render subject (plain), body (HTML) and SMS (plain) with the sandbox engine."""
    try:
        subject = compile_part(parts["subject"]).render(Context(display, autoescape=False))
        body = compile_part(parts["body"]).render(Context(display))
        sms = compile_part(parts["sms"]).render(Context(display, autoescape=False))
    except (TemplateSyntaxError, ValueError) as error:
        raise RenderError(_("The template does not render: %(e)s") % {"e": error}) from None
    for text in (subject, body, sms):
        if MISSING in text:
            raise RenderError(_("The template uses a value this message does not have."))
    return " ".join(subject.split()), mark_safe(body), " ".join(sms.split())  # noqa: S308


def render_message(
    *,
    organisation_id: int | None,
    kind: str,
    language: str,
    context: dict[str, Any],
    recipient: dict[str, Any],
    parts: dict[str, str] | None = None,
) -> Rendered:
    """Render a message's texts; raises RenderError with the reason."""
    display = display_context(context, recipient=recipient, language=language, kind=kind)
    if parts is None:
        parts = template_parts(organisation_id, kind, language)
    subject, html, sms = render_parts(parts, display)
    return Rendered(
        subject=subject,
        html=html,
        text=html_to_text(html),
        sms=sms,
        payment=display["payment"],
        display=display,
    )


# --- HTML to plain text (the email's text part) -----------------------------------------------


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "table", "ul", "ol", "h1", "h2", "h3", "h4"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag == "tr":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append("  ")
        elif tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# --- sample data (validation and preview without a customer) -----------------------------------

SAMPLE_COSTS_IF_UNPAID = Decimal("425.00")
SAMPLE_RECIPIENT: dict[str, Any] = {
    "name": "J. Jansen",
    "email": "j.jansen@example.nl",
    "address_lines": ["Kerkstraat 1", "1234 AB  Amsterdam"],
}


def sample_context() -> dict[str, Any]:
    return {
        "date": "2026-11-30",
        "sender": {
            "legal_name": "Voorbeeld B.V.",
            "trade_name": "Voorbeeld",
            "street": "Voorbeeldweg 1",
            "postal_code": "1000 AA",
            "city": "Amsterdam",
            "iban": "NL20INGB0001234567",
            "email": "debiteuren@voorbeeld.nl",
            "kvk_number": "12345678",
            "vat_number": "NL123456789B13",
        },
        "customer_number": "C001",
        "payment_reference": "8000000020250417",
        "pay_by": "2026-12-14",
        "invoices": [
            {
                "number": "2026-00001",
                "issued_on": "2026-10-01",
                "due_on": "2026-10-15",
                "principal": "1800.00",
                "interest": "0.00",
                "costs": "0.00",
                "payment_reference": "8000000020250417",
            },
            {
                "number": "2026-00002",
                "issued_on": "2026-10-05",
                "due_on": "2026-10-19",
                "principal": "1200.00",
                "interest": "0.00",
                "costs": "0.00",
                "payment_reference": "",
            },
        ],
        "costs_if_unpaid": str(SAMPLE_COSTS_IF_UNPAID),
        "plan": {
            "total": "3000.00",
            "instalments": [
                {"number": 1, "due_on": "2026-12-01", "amount": "1000.00"},
                {"number": 2, "due_on": "2027-01-01", "amount": "1000.00"},
                {"number": 3, "due_on": "2027-02-01", "amount": "1000.00"},
            ],
        },
        "instalment": {"number": 2, "due_on": "2027-01-01", "amount": "1000.00"},
        "promise": {"amount": "3000.00", "due_on": "2026-12-15"},
        "handover": {"party": "Incassobureau Voorbeeld"},
        "dispute": {
            "reason": "Niet geleverd",
            "decision": "De afleverbon is op 12 januari getekend.",
        },
        "direct_debit": {
            "amount": "3000.00",
            "collection_date": "2026-12-15",
            "mandate_reference": "MANDAAT-C001-1",
            "creditor_id": "NL98ZZZ999999999999",
            "debtor_iban": "NL91ABNA0417164300",
            "pre_notification_days": 14,
            "return_code": "MD01",
            "returned_on": "2026-12-18",
        },
    }
