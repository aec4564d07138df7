"""What happens next: the next step of an invoice, the simulator and the 14-day forecast."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from betaald.dunning.models import DunningPolicy, HoldKind
from betaald.dunning.selectors import (
    forecast,
    next_step_for_invoice,
    simulate_invoice,
    worklist,
)
from betaald.dunning.services import dunning_refresh_invoices, dunning_run, hold_add

from .conftest import invoice_for


def test_next_step_shows_the_step_its_day_and_what_it_costs(business):
    invoice = invoice_for(business, amount="1000.00")
    due = invoice.due_on
    dunning_run(today=due + timedelta(days=10))
    view = next_step_for_invoice(invoice, due + timedelta(days=11))
    assert (view.step, view.on) == ("Aanmaning / sommatie", due + timedelta(days=17))
    # BIK on 1210.00: 15 % = 181.50; commercial interest from the day after the due date
    assert view.estimate.costs == Decimal("181.50")
    assert view.estimate.interest > 0
    assert view.level == 3


def test_next_step_shows_the_hold_and_no_step(business, owner):
    invoice = invoice_for(business)
    hold_add(
        customer=business,
        invoice=invoice,
        kind=HoldKind.DISPUTE,
        actor=owner,
        starts_on=invoice.issued_on,
        reason="Klacht",
    )
    view = next_step_for_invoice(invoice, invoice.due_on)
    assert view.step is None
    assert view.pause == "dispute"
    assert [h.kind for h in view.holds] == ["dispute"]


def test_the_simulator_shows_the_whole_path_under_another_policy(consumer):
    invoice = invoice_for(consumer)
    business_policy = DunningPolicy.objects.get(organisation=consumer.organisation, code="business")
    path = simulate_invoice(invoice, business_policy, invoice.issued_on)
    assert [item.step.code for item in path] == ["pre_due", "reminder", "call", "demand", "final"]
    consumer_policy = DunningPolicy.objects.get(organisation=consumer.organisation, code="consumer")
    path = simulate_invoice(invoice, consumer_policy, invoice.issued_on)
    codes = [item.step.code for item in path]
    assert codes == ["reminder", "second_reminder", "fourteen_day", "costs", "handover"]
    assert path[2].estimate.costs == 0  # the letter itself is free of charge
    assert path[3].estimate.costs == Decimal("40.00")


def test_the_forecast_counts_steps_per_day_and_channel(business, consumer):
    first = invoice_for(business)
    second = invoice_for(consumer)
    dunning_refresh_invoices(invoice_ids=[first.pk, second.pk], today=first.issued_on)
    start = first.due_on
    days = forecast(business.organisation, start)
    assert len(days) == 14
    by_day = {d.on: d for d in days}
    assert by_day[start + timedelta(days=3)].counts == {"email": 2}  # two reminders
    assert by_day[start + timedelta(days=10)].counts == {"call": 1}
    assert sum(d.invoices for d in days) == 4  # 2 reminders, call, second reminder


def test_the_worklist_puts_the_largest_amount_times_days_overdue_first(organisation):
    from tests.factories import CustomerFactory

    small = CustomerFactory(organisation=organisation, phone="0611111111")
    large = CustomerFactory(organisation=organisation, phone="0622222222")
    a = invoice_for(small, amount="100.00")
    invoice_for(large, amount="900.00")
    dunning_run(today=a.due_on + timedelta(days=10))
    tasks = worklist(organisation, a.due_on + timedelta(days=10))
    assert [t.customer_id for t in tasks] == [large.pk, small.pk]
