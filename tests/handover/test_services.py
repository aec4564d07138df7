"""Handing claims over to an agency, bailiff or lawyer: the frozen claim, the paused dunning,
the notice to the debtor, the refusals, and withdrawing (docs/algorithms/handover.md)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from betaald.audit.models import Event
from betaald.dunning.models import Hold, HoldKind, StepExecution
from betaald.dunning.services import dunning_run
from betaald.handover.models import HandoverClaim, HandoverStatus, PartyKind
from betaald.handover.services import handover_create, handover_withdraw
from betaald.letters.models import Message

from .conftest import DUE, HANDOVER_DAY, invoice_for

D = Decimal


def hand_over(customer, invoices, **kwargs):
    options = {
        "party_kind": PartyKind.BAILIFF,
        "party_name": "Gerechtsdeurwaarders Van Dam",
        "actor": None,
        "today": HANDOVER_DAY,
    }
    options.update(kwargs)
    return handover_create(customer=customer, invoices=invoices, **options)


def test_a_business_claim_is_frozen_with_interest_and_costs(business):
    """Art. 6:119a BW: commercial interest from the day after the due date (10.15 % since
    2025-07-01), 41 days up to and including 2026-03-01: 1210 x 10.15 % x 41/365 = 13.80.
    Art. 6:96 BW and Besluit BIK: 15 % of 1210.00 = 181.50, no VAT (the creditor deducts
    VAT). Amount to secure: the higher of 1405.30 + a year's interest (122.82) = 1528.12
    and 1210.00 + 30 % = 1573.00."""
    invoice = invoice_for(business)
    handover = hand_over(business, [invoice])
    claim = handover.claims.get()
    assert claim.principal == D("1210.00")
    assert claim.interest_from == DUE + timedelta(days=1)
    assert claim.interest == D("13.80")
    assert claim.costs == D("181.50")
    assert (handover.principal, handover.interest, handover.costs) == (
        D("1210.00"),
        D("13.80"),
        D("181.50"),
    )
    assert handover.total == D("1405.30")
    assert handover.rate_percent == D("10.15")
    assert handover.amount_to_secure == D("1573.00")
    assert handover.interest_kind == "commercial"
    assert handover.status == HandoverStatus.ACTIVE


def test_costs_on_the_summed_principal_and_vat_when_not_deductible(business):
    """Art. 6:96 lid 7 BW: the staffel runs on the principals together: 2 x 1210.00 = 2420.00
    -> 15 % = 363.00; a creditor that cannot deduct VAT claims 21 % on top (Besluit BIK
    art. 2 lid 3): 76.23, so 439.23, split pro rata over the two claims."""
    business.organisation.can_deduct_vat = False
    business.organisation.save()
    first, second = invoice_for(business), invoice_for(business)
    handover = hand_over(business, [first, second])
    assert handover.costs == D("439.23")
    assert sum(c.costs for c in handover.claims.all()) == D("439.23")


def test_dunning_pauses_and_the_debtor_is_told(business, owner):
    invoice = invoice_for(business)
    handover = hand_over(business, [invoice], actor=owner)
    hold = Hold.objects.get(invoice=invoice)
    assert hold.kind == HoldKind.HANDOVER
    assert hold.released_at is None
    assert "Van Dam" in hold.reason
    notice = Message.objects.get(unique_key=f"handover:{handover.pk}:notice")
    assert notice.kind == "handover_notice"
    assert notice.channel == "letter"
    assert notice.fallback_channels == ["email"]
    assert notice.context["handover"]["party"] == "Gerechtsdeurwaarders Van Dam"
    assert notice.context["total"] == "1405.30"
    assert list(notice.invoices.all()) == [invoice]
    event = Event.objects.get(name="handover.handover.created")
    assert event.after["invoices"] == [invoice.number]
    assert event.actor == owner
    # The days after: no dunning step for the handed-over invoice.
    for offset in range(1, 40):
        dunning_run(organisation=business.organisation, today=HANDOVER_DAY + timedelta(offset))
    assert not StepExecution.objects.filter(
        invoice=invoice, created_at__date__gte=HANDOVER_DAY
    ).exists()


def test_an_invoice_is_handed_over_once(business):
    invoice = invoice_for(business)
    hand_over(business, [invoice])
    with pytest.raises(ValidationError) as error:
        hand_over(business, [invoice], party_name="Advocatenkantoor De Wit")
    assert "already handed over" in str(error.value.message_dict["invoices"])
    assert HandoverClaim.objects.filter(invoice=invoice).count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"party_name": "  "}, "party_name"),
        ({"party_kind": "friend"}, "party_kind"),
    ],
)
def test_bad_party_is_refused_on_its_field(business, kwargs, field):
    invoice = invoice_for(business)
    with pytest.raises(ValidationError) as error:
        hand_over(business, [invoice], **kwargs)
    assert field in error.value.message_dict
    assert not HandoverClaim.objects.exists()


def test_nothing_chosen_paid_or_someone_elses_is_refused(business, consumer):
    from betaald.payments.services import payment_register

    with pytest.raises(ValidationError) as error:
        hand_over(business, [])
    assert "invoices" in error.value.message_dict
    theirs = invoice_for(consumer)
    with pytest.raises(ValidationError) as error:
        hand_over(business, [theirs])
    assert "not this customer's" in str(error.value.message_dict["invoices"])
    paid = invoice_for(business)
    payment_register(
        organisation=business.organisation,
        customer=business,
        amount=D("1210.00"),
        received_on=DUE,
        designated_invoice=paid,
    )
    with pytest.raises(ValidationError) as error:
        hand_over(business, [paid])
    assert "not open" in str(error.value.message_dict["invoices"])


def test_a_consumer_needs_a_registered_agency(consumer):
    """Wet kwaliteit incassodienstverlening (since 1 April 2024): a collection agency must be
    registered with Justis to collect from a consumer; bailiffs and lawyers are exempt."""
    invoice = invoice_for(consumer)
    with pytest.raises(ValidationError) as error:
        hand_over(consumer, [invoice], party_kind=PartyKind.AGENCY, party_name="Incasso BV")
    assert "justis_number" in error.value.message_dict
    handover = hand_over(
        consumer,
        [invoice],
        party_kind=PartyKind.AGENCY,
        party_name="Incasso BV",
        justis_number="WKI-1234",
    )
    assert handover.justis_number == "WKI-1234"


def test_a_consumer_without_a_fourteen_day_letter_owes_the_principal_only(consumer):
    """Art. 6:96 lid 6 BW: no collection costs for a consumer without the 14-dagenbrief's
    term having passed; interest likewise (the project's convention, art. 6:119 BW)."""
    invoice = invoice_for(consumer)
    handover = hand_over(consumer, [invoice])
    assert (handover.interest, handover.costs, handover.total) == (
        D("0.00"),
        D("0.00"),
        D("1210.00"),
    )
    assert any("14-dagenbrief" in w for w in handover.warnings)
    assert handover.interest_kind == ""


def test_a_consumer_after_the_fourteen_day_letter_owes_costs(consumer):
    """After the 14-dagenbrief's term (walked through the real dunning run): wettelijke rente
    from the day costs are due and BIK per the staffel (15 % of 1210.00 = 181.50)."""
    invoice = invoice_for(consumer)
    day = DUE
    while day < HANDOVER_DAY + timedelta(days=30):
        dunning_run(organisation=consumer.organisation, today=day)
        day += timedelta(days=1)
    from betaald.dunning.models import DunningState

    state = DunningState.objects.get(invoice=invoice)
    assert state.fourteen_day_costs_due_from is not None
    handover = hand_over(consumer, [invoice], today=day)
    claim = handover.claims.get()
    assert claim.costs == D("181.50")
    assert claim.interest_from == state.fourteen_day_costs_due_from
    assert claim.interest > 0
    assert handover.interest_kind == "statutory"


def test_attachment_warnings(business):
    invoice = invoice_for(business)
    handover = hand_over(
        business,
        [invoice],
        party_kind=PartyKind.AGENCY,
        attachment_requested=True,
        known_assets="Bedrijfspand Kalverstraat 10",
    )
    text = " ".join(handover.warnings)
    assert "art. 700 Rv" in text
    assert "art. 711, 725 Rv" in text


def test_withdraw_resumes_dunning_and_frees_the_invoice(business, owner):
    invoice = invoice_for(business)
    handover = hand_over(business, [invoice])
    with pytest.raises(ValidationError):
        handover_withdraw(handover=handover, reason=" ", actor=owner, today=HANDOVER_DAY)
    handover = handover_withdraw(
        handover=handover, reason="Settled with the debtor", actor=owner, today=HANDOVER_DAY
    )
    assert handover.status == HandoverStatus.WITHDRAWN
    assert Hold.objects.get(invoice=invoice).released_at is not None
    assert not HandoverClaim.objects.filter(is_active=True).exists()
    # Withdrawing again changes nothing; the invoice can be handed over anew.
    again = handover_withdraw(handover=handover, reason="twice", actor=owner, today=HANDOVER_DAY)
    assert again.withdrawn_reason == "Settled with the debtor"
    second = hand_over(business, [invoice], party_name="Advocatenkantoor De Wit")
    assert second.claims.get().invoice == invoice
    assert Event.objects.filter(name="handover.handover.withdrawn").count() == 1


def test_an_invoice_not_yet_overdue_cannot_be_handed_over(business):
    """Nothing is owed before the due date has passed (no verzuim, art. 6:81 BW)."""
    invoice = invoice_for(business)
    with pytest.raises(ValidationError) as error:
        hand_over(business, [invoice], today=DUE)
    assert "not overdue" in str(error.value.message_dict["invoices"])


def test_costs_and_interest_already_paid_are_not_claimed_again(business):
    """Art. 6:44 lid 1 BW: what the debtor paid towards costs and interest is not owed again.
    The ledger books payments on the principal; costs and interest allocations come from
    imported books, written here as rows."""
    from betaald.payments.models import Allocation, Payment

    invoice = invoice_for(business)
    payment = Payment.objects.create(
        organisation=business.organisation,
        customer=business,
        received_on=DUE + timedelta(days=20),
        amount=D("50.00"),
    )
    for component, amount in (("costs", D("40.00")), ("interest", D("10.00"))):
        Allocation.objects.create(
            organisation=business.organisation,
            invoice=invoice,
            payment=payment,
            component=component,
            amount=amount,
            allocated_on=payment.received_on,
        )
    handover = hand_over(business, [invoice])
    claim = handover.claims.get()
    assert claim.costs == D("141.50")  # 181.50 less 40.00 paid
    assert claim.interest == D("3.80")  # 13.80 less 10.00 paid
    assert handover.total == D("1355.30")
    notice = Message.objects.get(kind="handover_notice")
    assert notice.context["total"] == "1355.30"  # the debtor is told what the party claims
    assert notice.context["costs"] == "141.50"


def test_a_consumer_pays_costs_only_on_invoices_after_their_fourteen_day_letter(consumer):
    """Art. 6:96 lid 6 BW per invoice: the invoice whose 14-dagenbrief's term has passed
    carries BIK on its own principal (15 % of 1210.00 = 181.50) and interest; the newer
    invoice without one is claimed at its principal, and the warning names it."""
    from betaald.dunning.models import DunningState

    first = invoice_for(consumer)
    day = DUE
    while day < HANDOVER_DAY + timedelta(days=30):
        dunning_run(organisation=consumer.organisation, today=day)
        day += timedelta(days=1)
    assert DunningState.objects.get(invoice=first).fourteen_day_costs_due_from is not None
    from tests.factories import issued_invoice

    second = issued_invoice(consumer, amount="500.00", issued_on=day - timedelta(days=20))
    handover = hand_over(consumer, [first, second], today=day)
    claims = {c.invoice_id: c for c in handover.claims.all()}
    assert claims[first.pk].costs == D("181.50")
    assert claims[first.pk].interest > 0
    assert claims[second.pk].costs == D("0.00")
    assert claims[second.pk].interest == D("0.00")
    assert any(second.number in w and "6:96 lid 6" in w for w in handover.warnings)


def test_dunning_cannot_release_a_hand_over_hold_on_its_own(business):
    from betaald.dunning.services import hold_release

    invoice = invoice_for(business)
    hand_over(business, [invoice])
    hold = Hold.objects.get(invoice=invoice)
    with pytest.raises(ValidationError) as error:
        hold_release(hold=hold, actor=None, reason="oops", today=HANDOVER_DAY)
    assert "withdraw the hand-over" in str(error.value)
    hold.refresh_from_db()
    assert hold.released_at is None


def test_the_debtor_is_not_told_twice_and_the_proposal_task_closes(consumer):
    """The consumer policy's hand-over step already sends a hand-over notice and opens a
    proposal task; handing over then sends no second notice and closes the task."""
    from betaald.dunning.models import CallTask, TaskKind
    from betaald.dunning.services import executions_approve

    invoice = invoice_for(consumer)
    day = DUE
    while day < DUE + timedelta(days=120):
        dunning_run(organisation=consumer.organisation, today=day)
        pending = list(
            StepExecution.objects.filter(status="awaiting_approval").values_list("pk", flat=True)
        )
        if pending:
            executions_approve(
                organisation=consumer.organisation, execution_ids=pending, actor=None, today=day
            )
        day += timedelta(days=1)
    assert Message.objects.filter(kind="handover_notice", invoices=invoice).count() == 1
    assert CallTask.objects.filter(kind=TaskKind.HANDOVER, closed_at__isnull=True).exists()
    hand_over(consumer, [invoice], today=day)
    assert Message.objects.filter(kind="handover_notice", invoices=invoice).count() == 1
    assert not CallTask.objects.filter(kind=TaskKind.HANDOVER, closed_at__isnull=True).exists()


def test_another_organisations_invoice_is_refused_by_the_service(business):
    from tests.factories import CustomerFactory

    stranger = CustomerFactory()
    theirs = invoice_for(stranger)
    with pytest.raises(ValidationError) as error:
        hand_over(business, [theirs])
    assert "another organisation" in str(error.value.message_dict["invoices"])


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_notice_announces_without_a_party_and_reports_with_one(language):
    """The dunning policy's hand-over step names no party: its letter announces the hand-over
    with a last term. A hand-over names its party: the letter says the claim was handed over
    to them. The debtor is never told a claim was handed over when it was not."""
    from betaald.letters.rendering import SAMPLE_RECIPIENT, render_message, sample_context

    def rendered(party):
        context = {**sample_context(), "handover": {"party": party}}
        return render_message(
            organisation_id=None,
            kind="handover_notice",
            language=language,
            context=context,
            recipient=SAMPLE_RECIPIENT,
        )

    done = rendered("Gerechtsdeurwaarders Van Dam")
    announced = rendered("")
    assert "Gerechtsdeurwaarders Van Dam" in done.text
    handed = {"nl": "hebben wij de vordering uit handen gegeven", "en": "we have handed"}
    assert handed[language] in done.text
    assert handed[language] not in announced.text
    assert {"nl": "binnen 14 dagen", "en": "within 14 days"}[language] in announced.text
    assert "NL20INGB0001234567" in announced.text
