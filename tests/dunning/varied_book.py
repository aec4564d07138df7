"""A varied book walked through the daily run, and a snapshot of everything the run wrote,
so that two ways of running (one process or several, the per-claim or the set-based path)
can be compared on the same book: two organisations get identical customers, invoices and
interventions, one is run one way and the other the other way, and their snapshots must be
equal.

The book mixes what changes the engine's answer per claim: business and consumer customers,
several invoices per customer with different due dates, holds (dispute, promise to pay,
payment plan, manual pause, insolvency), partial and full payments, a credit balance that
covers an invoice, amounts below the policy's threshold, agreed contract terms, customers
without an email address (letter) or without any address (fix task), and missed run days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from betaald.audit.models import Event
from betaald.debtors.models import Customer, CustomerKind
from betaald.dunning.models import (
    CallTask,
    DunningPolicy,
    DunningRun,
    DunningState,
    DunningStep,
    HoldKind,
    StepExecution,
)
from betaald.dunning.services import (
    dunning_policies_install_defaults,
    dunning_refresh_invoices,
    hold_add,
    hold_release,
)
from betaald.letters.models import Message
from betaald.organisations.models import Organisation
from tests.factories import CustomerFactory, OrganisationFactory, issued_invoice

ISSUED = date(2026, 1, 5)  # due 2026-01-19 with 14 days' term
DUE = ISSUED + timedelta(days=14)
CUSTOMERS = 18


def build() -> tuple[Organisation, list[Customer]]:
    """One organisation with the default policies (business threshold 30.00) and the varied
    customers and invoices (the same numbers in every book built)."""
    organisation = OrganisationFactory()
    dunning_policies_install_defaults(organisation=organisation)
    DunningPolicy.objects.filter(organisation=organisation, code="business").update(
        minimum_amount=Decimal("30.00")
    )
    customers = []
    for n in range(CUSTOMERS):
        consumer = n % 3 == 2
        customer = CustomerFactory(
            organisation=organisation,
            number=f"V{n:03}",
            kind=CustomerKind.CONSUMER if consumer else CustomerKind.BUSINESS,
            name=f"Klant {n}",
            kvk_number="" if consumer else "87654321",
            email="" if n % 5 == 3 else f"ap{n}@klant.nl",
            phone=f"06{n:08d}" if n % 2 == 0 else "",
            street="" if n == 13 else "Kalverstraat 10",
            city="" if n == 13 else "Amsterdam",
        )
        customers.append(customer)
        if n == 6:  # money received before the invoices: a credit balance covering two of them
            from betaald.payments.services import payment_register

            payment_register(
                organisation=organisation, customer=customer, amount="250.00", received_on=ISSUED
            )
        for k in range(1 + n % 4):
            amount = "20.00" if (n + k) % 7 == 6 else f"{100 + 37 * k + 11 * n}.00"
            issued_invoice(
                customer, amount=amount, issued_on=ISSUED + timedelta(days=7 * (k % 2)), term=14
            )
    return organisation, customers


def _pay(customer: Customer, amount: str, on: date) -> None:
    from betaald.payments.services import payment_register

    payment_register(
        organisation=customer.organisation, customer=customer, amount=amount, received_on=on
    )
    ids = list(customer.invoices.values_list("pk", flat=True))
    dunning_refresh_invoices(invoice_ids=ids, today=on)


def intervene(customers: list[Customer], day: date, held: dict[str, Any]) -> None:
    """What people do in between runs, on fixed days (the same for both books)."""
    first = {c.number: c.invoices.order_by("pk").first() for c in customers}
    c = customers
    if day == DUE - timedelta(days=6):
        hold_add(customer=c[9], kind=HoldKind.INSOLVENCY, actor=None, starts_on=day)
        hold_add(customer=c[5], kind=HoldKind.PLAN, actor=None, starts_on=day, reason="3x")
    if day == DUE + timedelta(days=2):
        held["dispute"] = hold_add(
            customer=c[1],
            invoice=first[c[1].number],
            kind=HoldKind.DISPUTE,
            actor=None,
            starts_on=day,
            reason="Levering onvolledig",
        )
        hold_add(
            customer=c[2],
            invoice=first[c[2].number],
            kind=HoldKind.PROMISE,
            actor=None,
            starts_on=day,
            until=day + timedelta(days=9),
        )
        hold_add(
            customer=c[7],
            kind=HoldKind.MANUAL,
            actor=None,
            starts_on=day,
            until=day + timedelta(days=12),
            reason="Overleg",
        )
    if day == DUE + timedelta(days=5):
        _pay(c[4], "50.00", day)  # partial
        _pay(c[10], "30.00", day)  # partial, consumer
    if day == DUE + timedelta(days=11):
        _pay(c[3], str(sum(i.total for i in c[3].invoices.all())), day)  # everything
    if day == DUE + timedelta(days=20):
        hold_release(hold=held["dispute"], actor=None, reason="Opgelost", today=day)


def agree_terms(customer: Customer) -> None:
    from betaald.plans.services import contract_terms_save

    contract_terms_save(
        customer=customer,
        actor=None,
        document_reference="Offerte 2026-014",
        agreed_on=date(2025, 12, 1),
        interest_clause="contractual",
        contractual_rate=Decimal("12"),
        interest_capitalises=False,
        costs_clause="percent",
        costs_percent=Decimal("15"),
    )


def walk(
    organisation: Organisation,
    customers: list[Customer],
    run: Callable[[date, Organisation], DunningRun],
) -> list[DunningRun]:
    """Every third day from before the due date to the end of the policies, none from 3 to
    11 days after the due date (missed runs: steps skipped), with the interventions on their
    days (also on days without a run)."""
    agree_terms(customers[8])
    held: dict[str, Any] = {}
    runs = []
    for offset in range(-6, 61):
        day = DUE + timedelta(days=offset)
        intervene(customers, day, held)
        if offset % 3 == 0 and not 3 <= offset <= 11:
            runs.append(run(day, organisation))
    return runs


def snapshot(organisation: Organisation, runs: list[DunningRun]) -> dict[str, Any]:
    """Everything the runs wrote for this organisation, with ids replaced by what they stand
    for (customer number, invoice number, step code), in a stable order."""
    customers = dict(Customer.objects.filter(organisation=organisation).values_list("pk", "number"))
    invoice_numbers = dict(
        Message._meta.get_field("invoice")
        .related_model.objects.filter(organisation=organisation)  # type: ignore[union-attr]
        .values_list("pk", "number")
    )
    # payment references encode the organisation: named after their invoice instead
    references = [
        (reference, f"ref-{number}")
        for reference, number in Message._meta.get_field("invoice")
        .related_model.objects.filter(organisation=organisation)  # type: ignore[union-attr]
        .exclude(payment_reference="")
        .values_list("payment_reference", "number")
    ]

    def text(value: Any) -> str:
        found = repr(value)
        for reference, name in references:
            found = found.replace(reference, name)
        return found

    steps = dict(
        DunningStep.objects.filter(policy__organisation=organisation).values_list("pk", "code")
    )
    policies = dict(
        DunningPolicy.objects.filter(organisation=organisation).values_list("pk", "code")
    )

    def key(text: str) -> str:
        # group / unique keys: "<what>:<customer id>:<step id>:<day>[:<channel>]"
        parts = text.split(":")
        if len(parts) >= 4 and parts[1].isdigit() and parts[2].isdigit():
            parts[1] = customers.get(int(parts[1]), parts[1])
            parts[2] = steps.get(int(parts[2]), parts[2])
        elif len(parts) >= 2 and parts[0] == "fix" and parts[1].isdigit():
            parts[1] = invoice_numbers.get(int(parts[1]), parts[1])
        return ":".join(parts)

    executions = sorted(
        (
            invoice_numbers[e.invoice_id],
            customers[e.customer_id],
            steps[e.step_id],
            e.status,
            e.executed_on.isoformat(),
            tuple(e.channels),
            key(e.group_key),
            str(e.principal),
            str(e.interest),
            str(e.costs),
            str(e.costs_vat),
            str(e.late_fee),
            e.reason,
            e.run_id is not None,
        )
        for e in StepExecution.objects.filter(organisation=organisation)
    )
    messages = sorted(
        (
            customers[m.customer_id],
            m.kind,
            m.channel,
            m.language,
            key(m.unique_key),
            m.status,
            invoice_numbers.get(m.invoice_id) if m.invoice_id else None,
            tuple(sorted(invoice_numbers[i.pk] for i in m.invoices.all())),
            tuple(m.fallback_channels),
            repr(sorted(m.recipient.items())),
            text(
                sorted((k, v) for k, v in m.context.items() if k not in ("sender", "organisation"))
            ),
        )
        for m in Message.objects.filter(
            organisation=organisation, unique_key__startswith="dunning:"
        ).prefetch_related("invoices")
    )
    states = sorted(
        (
            invoice_numbers[s.invoice_id],
            customers[s.customer_id],
            policies.get(s.policy_id) if s.policy_id else None,
            s.due_on.isoformat(),
            str(s.open_amount),
            s.level,
            steps.get(s.last_step_id) if s.last_step_id else None,
            s.last_step_on,
            s.next_action_on,
            s.pause,
            s.fourteen_day_costs_due_from,
            s.interest_from_on,
            str(s.costs_claimed),
            str(s.late_fee_charged),
        )
        for s in DunningState.objects.filter(organisation=organisation)
    )
    tasks = sorted(
        (
            t.kind,
            customers[t.customer_id],
            invoice_numbers.get(t.invoice_id) if t.invoice_id else None,
            key(t.unique_key),
            t.due_on,
            str(t.amount),
            t.overdue_since,
            text(t.details),
            t.closed_at is None,
        )
        for t in CallTask.objects.filter(organisation=organisation)
    )
    queued = Event.objects.filter(
        organisation=organisation, name="letters.message.queued", after__bulk=True
    )
    events = sorted(
        (
            e.name,
            customers.get(e.customer_id) if e.customer_id else None,
            invoice_numbers.get(e.invoice_id) if e.invoice_id else None,
            text(sorted((k, key(v) if k == "key" else v) for k, v in (e.after or {}).items())),
        )
        for e in Event.objects.filter(organisation=organisation).exclude(pk__in=queued.values("pk"))
        # what the runs did, not the invoices, payments and holds the book was made with
        if e.name.startswith(("dunning.", "debtors."))
    )
    # The outbox records one event per bulk call (per chunk): their number depends on how the
    # run was cut up, the messages they count do not.
    events.append(("letters.message.queued", sum(e.after["count"] for e in queued)))
    customer_status = sorted(
        Customer.objects.filter(organisation=organisation).values_list("number", "status")
    )
    reports = [
        (
            r.run_on,
            r.status,
            r.processed,
            r.executed,
            r.messages,
            r.counts,
            r.skipped,
            r.totals,
            len(r.errors),
        )
        for r in runs
    ]
    return {
        "executions": executions,
        "messages": messages,
        "states": states,
        "tasks": tasks,
        "events": events,
        "customers": customer_status,
        "reports": reports,
    }
