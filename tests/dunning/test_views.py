"""The dunning pages: login, tenancy, read-only roles, and the flows behind the buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from betaald.dunning.models import DunningPolicy, DunningRun, StepExecution
from betaald.dunning.services import dunning_run
from betaald.organisations.models import Role
from tests.factories import CustomerFactory, MembershipFactory, OrganisationFactory

from .conftest import invoice_for


@pytest.fixture
def client_owner(client, owner):
    client.force_login(owner)
    return client


def test_pages_need_a_login(client, db):
    response = client.get(reverse("dunning:index"))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize(
    "name",
    ["index", "policy_list", "policy_new", "forecast", "approvals", "worklist", "executions"],
)
def test_every_page_renders(client_owner, business, name):
    invoice_for(business)
    response = client_owner.get(reverse(f"dunning:{name}"))
    assert response.status_code == 200


def test_the_invoice_page_shows_the_next_step_date_and_cost(client_owner, business, settings):
    invoice = invoice_for(business)
    dunning_run(today=invoice.due_on + timedelta(days=17))
    response = client_owner.get(reverse("dunning:invoice_next", args=[invoice.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="dunning-next-step"' in body
    assert "Laatste aanmaning en voorstel tot overdracht" in body  # default names are Dutch
    assert 'data-testid="simulation"' in body


def test_another_organisations_invoice_is_not_found(client_owner, db):
    other = OrganisationFactory()
    invoice = invoice_for(CustomerFactory(organisation=other))
    response = client_owner.get(reverse("dunning:invoice_next", args=[invoice.pk]))
    assert response.status_code == 404


def test_a_read_only_member_cannot_run_or_approve(client, organisation, business):
    accountant = MembershipFactory(organisation=organisation, role=Role.ACCOUNTANT).user
    client.force_login(accountant)
    assert client.post(reverse("dunning:run_now")).status_code == 403
    assert client.post(reverse("dunning:approvals"), {"decision": "approve"}).status_code == 403
    assert client.get(reverse("dunning:approvals")).status_code == 200


def test_saving_a_policy_with_steps_out_of_order_is_refused(client_owner, organisation):
    data = {
        "name": "Snel",
        "code": "snel",
        "debtor_kind": "business",
        "minimum_amount": "0.00",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for index, (code, days) in enumerate([("a", 10), ("b", 5)]):
        data.update(
            {
                f"steps-{index}-code": code,
                f"steps-{index}-name": code.upper(),
                f"steps-{index}-offset_days": str(days),
                f"steps-{index}-anchor": "due_date",
                f"steps-{index}-kind": "reminder",
                f"steps-{index}-channels": ["email"],
                f"steps-{index}-interest_from": "never",
                f"steps-{index}-interest_kind": "statutory",
                f"steps-{index}-costs": "none",
            }
        )
    response = client_owner.post(reverse("dunning:policy_new"), data)
    assert response.status_code == 200
    assert "de stappen staan niet op volgorde: dag 5 komt na dag 10" in response.content.decode()
    assert not DunningPolicy.objects.filter(code="snel").exists()
    data["steps-1-offset_days"] = "15"
    response = client_owner.post(reverse("dunning:policy_new"), data)
    assert response.status_code == 302
    policy = DunningPolicy.objects.get(code="snel")
    assert list(policy.steps.values_list("code", flat=True)) == ["a", "b"]


def test_editing_a_default_policy_keeps_its_steps(client_owner, organisation):
    policy = DunningPolicy.objects.get(organisation=organisation, code="business")
    page = client_owner.get(reverse("dunning:policy_edit", args=[policy.pk]))
    form = page.context["formset"]
    assert len(form.forms) == 6  # five steps and one empty


def test_run_now_queues_a_run_and_shows_progress(
    client_owner, business, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_owner.post(reverse("dunning:run_now"))
    assert response.status_code == 302
    run = DunningRun.objects.get()
    assert run.status == "queued"
    assert len(callbacks) == 1
    from betaald.dunning.tasks import dunning_run_task

    dunning_run_task.call(run.pk)
    run.refresh_from_db()
    assert run.status == "done"
    page = client_owner.get(reverse("dunning:run_detail", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'data-testid="run-progress"' in page.content.decode()
    assert "every 1s" not in page.content.decode()


def test_bulk_approve_from_the_queue(client_owner, business):
    first = invoice_for(business)
    dunning_run(today=first.due_on + timedelta(days=31))
    waiting = StepExecution.objects.get(status="awaiting_approval")
    response = client_owner.post(
        reverse("dunning:approvals"), {"decision": "approve", "execution": [waiting.pk]}
    )
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == "done"


def test_a_call_outcome_with_a_promise_creates_a_promise_hold(client_owner, business):
    invoice = invoice_for(business)
    dunning_run(today=invoice.due_on + timedelta(days=10))
    task = business.dunning_tasks.get(kind="call")
    page = client_owner.get(reverse("dunning:worklist"))
    assert business.name in page.content.decode()
    response = client_owner.post(
        reverse("dunning:task_detail", args=[task.pk]),
        {"outcome": "promised", "promised_on": str(timezone.localdate() + timedelta(days=5))},
    )
    assert response.status_code == 302
    assert business.dunning_holds.get().kind == "promise"


def test_the_include_tag_renders_on_any_page(business, rf, owner):
    from django.template import Context, Template

    invoice = invoice_for(business)
    html = Template("{% load dunning %}{% dunning_next_step invoice %}").render(
        Context({"invoice": invoice, "request": rf.get("/")})
    )
    assert 'data-testid="dunning-next-step"' in html


def test_releasing_a_hold_never_redirects_off_site(client_owner, business, owner):
    from betaald.dunning.services import hold_add

    invoice = invoice_for(business)
    hold = hold_add(
        customer=business,
        invoice=invoice,
        kind="manual",
        actor=owner,
        starts_on=invoice.issued_on,
        reason="Even wachten",
    )
    response = client_owner.post(
        reverse("dunning:hold_release", args=[hold.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("dunning:index")
    hold.refresh_from_db()
    assert hold.released_at is not None


def test_the_run_page_names_steps_totals_and_warnings_in_the_readers_language(
    client_owner, business
):
    """The stored report keeps codes (late_fees, fourteen_day, awaiting_approval) and English
    warnings; the page shows the policy's step names and Dutch labels."""
    from betaald.dunning.report_display import warning_text

    first = invoice_for(business)
    run = dunning_run(today=first.due_on + timedelta(days=31), organisation=business.organisation)
    assert "late_fees" in run.totals
    page = client_owner.get(reverse("dunning:run_detail", args=[run.pk])).content.decode()
    assert "Aanmaankosten" in page
    assert "Incassokosten" in page
    assert "late_fees" not in page
    assert "awaiting_approval" not in page
    assert "Laatste aanmaning en voorstel tot overdracht" in page  # the step's own name
    assert "wacht op goedkeuring" in page
    text = "commercial rate table not confirmed for 2026-11-30"
    from django.utils import translation

    with translation.override("nl"):
        assert warning_text(text) == (
            "De rentetabel voor de wettelijke handelsrente heeft geen bevestigd percentage voor "
            "30-11-2026: de rente is berekend met het laatst bekende percentage."
        )
        assert warning_text("something else") == "something else"
