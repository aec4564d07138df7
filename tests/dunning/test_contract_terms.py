"""Terms agreed up front (issue 8 item 6) in the dunning charges: the contractual interest,
late fee and collection costs replace the statutory ones; a consumer is never charged more
than the BIK staffel (art. 6:96 lid 5 BW). See docs/algorithms/dunning.md, "Agreed terms"."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from betaald.core import dunning as core
from betaald.dunning.charges import AgreedTerms, ClaimInput, group_charges
from betaald.dunning.models import StepExecution
from betaald.plans.services import contract_terms_save
from tests.factories import CustomerFactory

from .conftest import invoice_for, messages_of, run, run_days, steps_of

D = Decimal
BUSINESS = core.DebtorKind.BUSINESS
CONSUMER = core.DebtorKind.CONSUMER
DUE = date(2026, 1, 19)
DEMAND_DAY = DUE + timedelta(days=17)


def step(**charges) -> core.Step:
    return core.Step(
        code="demand",
        name="Aanmaning",
        offset_days=17,
        kind=core.MessageKind.DEMAND,
        channels=(core.Channel.EMAIL,),
        charges=core.Charges(**charges),
    )


def claim(principal: str = "1000.00", invoice_id: int = 1, due_on: date = DUE) -> ClaimInput:
    return ClaimInput(invoice_id=invoice_id, due_on=due_on, principal=D(principal))


COSTS_BIK = step(costs=core.CostsBasis.BIK)
COSTS_CONTRACT_STEP = step(costs=core.CostsBasis.CONTRACT, contract_costs_percent=D("20"))
PERCENT_10 = AgreedTerms(costs_clause="percent", costs_percent=D("10"))
PERCENT_20 = AgreedTerms(costs_clause="percent", costs_percent=D("20"))


@pytest.mark.parametrize(
    ("case", "debtor", "charging_step", "terms", "principals", "costs", "basis"),
    [
        ("no terms: the staffel", BUSINESS, COSTS_BIK, None, ["1000.00"], "150.00", "staffel"),
        # art. 6:96 lid 4 BW: a reasonable clause replaces the staffel between businesses,
        # also above it (a court may moderate, the engine does not guess).
        ("business clause above BIK", BUSINESS, COSTS_BIK, PERCENT_20, ["1000.00"], "200.00",
         "contract"),
        ("business clause below BIK", BUSINESS, COSTS_BIK, PERCENT_10, ["1000.00"], "100.00",
         "contract"),
        # art. 6:96 lid 4 BW: EUR 40 is a floor a clause cannot go under.
        ("business clause below EUR 40", BUSINESS, COSTS_BIK,
         AgreedTerms(costs_clause="percent", costs_percent=D("1")), ["1000.00"], "40.00",
         "b2b_minimum"),
        ("business agreed minimum", BUSINESS, COSTS_BIK,
         AgreedTerms(costs_clause="percent", costs_percent=D("1"), costs_minimum=D("75.00")),
         ["1000.00"], "75.00", "contract"),
        # art. 6:96 lid 5 BW: never more than the staffel for a consumer.
        ("consumer clause above BIK is capped", CONSUMER, COSTS_BIK, PERCENT_20, ["1000.00"],
         "150.00", "staffel"),
        ("consumer clause below BIK applies", CONSUMER, COSTS_BIK, PERCENT_10, ["1000.00"],
         "100.00", "contract"),
        # The EUR 40 floor of lid 4 is for businesses: a consumer owes the lower agreed amount.
        ("consumer agreed minimum below EUR 40", CONSUMER, COSTS_BIK,
         AgreedTerms(costs_clause="percent", costs_percent=D("1"), costs_minimum=D("25.00")),
         ["1000.00"], "25.00", "contract"),
        # art. 6:96 lid 7 BW: the clause runs on the summed principal of the message.
        ("clause on the summed principals", CONSUMER, COSTS_BIK, PERCENT_10,
         ["600.00", "400.00"], "100.00", "contract"),
        ("agreed BIK replaces the step's percentage", BUSINESS, COSTS_CONTRACT_STEP,
         AgreedTerms(costs_clause="bik"), ["3000.00"], "425.00", "staffel"),
        ("no clause: the step's own basis", BUSINESS, COSTS_CONTRACT_STEP,
         AgreedTerms(costs_clause="none"), ["3000.00"], "600.00", "contract"),
        ("no clause, BIK step: the staffel", CONSUMER, COSTS_BIK,
         AgreedTerms(costs_clause="none", costs_percent=D("5")), ["1000.00"], "150.00",
         "staffel"),
        ("a step without costs charges none", BUSINESS, step(), PERCENT_20, ["1000.00"], None,
         None),
    ],
)  # fmt: skip
def test_agreed_collection_costs(case, debtor, charging_step, terms, principals, costs, basis):
    """Art. 6:96 lid 4, 5 and 7 BW; art. 2 Besluit BIK (staffel on 1,000: 150.00)."""
    claims = [claim(p, invoice_id=n) for n, p in enumerate(principals, start=1)]
    charge = group_charges(
        charging_step,
        claims,
        today=DEMAND_DAY,
        debtor_kind=debtor,
        vat_applies=False,
        terms=terms,
    )
    if costs is None:
        assert charge.costs is None, case
        return
    assert charge.costs is not None, case
    assert (str(charge.costs.costs), str(charge.costs.basis)) == (costs, basis), case
    assert sum(i.costs for i in charge.invoices) == D(costs), case  # shares add up


def test_vat_is_added_to_agreed_consumer_costs_when_the_creditor_cannot_deduct_it():
    """Art. 2 lid 3 Besluit BIK: 21 % VAT on top, rounded on its own."""
    charge = group_charges(
        COSTS_BIK, [claim()], today=DEMAND_DAY, debtor_kind=CONSUMER, vat_applies=True,
        terms=PERCENT_10,
    )  # fmt: skip
    assert charge.costs is not None
    assert (charge.costs.costs, charge.costs.vat, charge.costs.total) == (
        D("100.00"),
        D("21.00"),
        D("121.00"),
    )


FEE_STEP = step(late_fee=core.LateFee(core.FeeKind.FIXED, D("15.00")))


@pytest.mark.parametrize(
    ("case", "charging_step", "terms", "fee"),
    [
        ("no terms: the step's fee", FEE_STEP, None, "15.00"),
        ("agreed fixed fee", FEE_STEP, AgreedTerms(late_fee_fixed=D("25.00")), "25.00"),
        ("agreed percentage", FEE_STEP, AgreedTerms(late_fee_percent=D("5")), "50.00"),
        ("agreed percentage, at least the fixed amount", FEE_STEP,
         AgreedTerms(late_fee_percent=D("2"), late_fee_fixed=D("40.00")), "40.00"),
        ("no fee agreed: the step's fee", FEE_STEP, AgreedTerms(), "15.00"),
        ("the step decides when: no fee step, no fee", step(),
         AgreedTerms(late_fee_fixed=D("25.00")), "0.00"),
    ],
)  # fmt: skip
def test_agreed_late_fee(case, charging_step, terms, fee):
    """A contractual late fee (boetebeding, art. 6:91 BW) as agreed, charged once per claim."""
    charge = group_charges(
        charging_step, [claim()], today=DEMAND_DAY, debtor_kind=BUSINESS, vat_applies=False,
        terms=terms,
    )  # fmt: skip
    assert str(charge.late_fee) == fee, case


INTEREST_STEP = step(
    interest_from=core.InterestFrom.DUE_DATE, interest_kind=core.InterestKind.COMMERCIAL
)


@pytest.mark.parametrize(
    ("case", "debtor", "charging_step", "terms", "kind", "interest"),
    [
        # art. 6:119a lid 5 BW: an agreed rate replaces the handelsrente; 1,000 x 12 % x 17/365
        ("business, contractual 12 %", BUSINESS, INTEREST_STEP,
         AgreedTerms(interest_clause="contractual", contractual_rate=D("12")), "contractual",
         "5.59"),
        # art. 6:119 lid 3 BW: a higher agreed rate replaces the wettelijke rente for consumers.
        ("consumer, contractual 12 %", CONSUMER, INTEREST_STEP,
         AgreedTerms(interest_clause="contractual", contractual_rate=D("12")), "contractual",
         "5.59"),
        ("no interest agreed", BUSINESS, INTEREST_STEP, AgreedTerms(interest_clause="none"),
         None, "0.00"),
        ("statutory agreed: the step's kind", BUSINESS, INTEREST_STEP, AgreedTerms(),
         "commercial", None),
        ("contractual clause without a rate: the statute", BUSINESS, INTEREST_STEP,
         AgreedTerms(interest_clause="contractual"), "commercial", None),
        # art. 6:119 BW for a consumer, 6:119a BW for a business, when the step's own
        # contractual rate is overruled by agreed statutory terms.
        ("statutory agreed over a contractual step, consumer", CONSUMER,
         step(interest_from=core.InterestFrom.DUE_DATE,
              interest_kind=core.InterestKind.CONTRACTUAL, contractual_rate=D("8")),
         AgreedTerms(), "statutory", None),
        ("statutory agreed over a contractual step, business", BUSINESS,
         step(interest_from=core.InterestFrom.DUE_DATE,
              interest_kind=core.InterestKind.CONTRACTUAL, contractual_rate=D("8")),
         AgreedTerms(), "commercial", None),
        ("the step decides when: no interest step, no interest", BUSINESS, step(),
         AgreedTerms(interest_clause="contractual", contractual_rate=D("12")), None, "0.00"),
    ],
)  # fmt: skip
@pytest.mark.django_db
def test_agreed_interest(case, debtor, charging_step, terms, kind, interest):
    charge = group_charges(
        charging_step, [claim()], today=DEMAND_DAY, debtor_kind=debtor, vat_applies=False,
        terms=terms,
    )  # fmt: skip
    assert charge.interest_kind == kind, case
    if interest is not None:
        assert str(charge.interest) == interest, case
    else:
        assert charge.interest > 0, case


@pytest.mark.parametrize(
    ("capitalises", "interest"),
    [(False, "200.00"), (True, "210.00")],
)
def test_agreed_interest_capitalises_yearly_only_when_agreed(capitalises, interest):
    """1,000 at 10 % for two years (730 days): 200.00 simple; 100.00 added to the base after
    the first year gives 100.00 + 110.00 = 210.00 (art. 6:119 lid 2 BW applies by analogy
    only when the contract says so)."""
    terms = AgreedTerms(
        interest_clause="contractual", contractual_rate=D("10"), interest_capitalises=capitalises
    )
    charge = group_charges(
        INTEREST_STEP,
        [claim(due_on=date(2024, 12, 31))],
        today=date(2026, 12, 31),
        debtor_kind=BUSINESS,
        vat_applies=False,
        terms=terms,
    )
    assert str(charge.interest) == interest


# ------------------------------------------------------------------- through the daily run


def agree(customer, **fields):
    defaults = {"document_reference": "Offerte 2026-014", "agreed_on": date(2025, 12, 1)}
    return contract_terms_save(customer=customer, actor=None, **{**defaults, **fields})


def test_the_demand_claims_the_agreed_interest_and_costs_and_says_so(business):
    """Art. 6:119a lid 5 and 6:96 lid 4 BW: 1,210.00 at 12 % for 17 days = 6.76; 20 % of
    1,210.00 = 242.00 collection costs (the staffel would be 181.50)."""
    agree(
        business,
        interest_clause="contractual",
        contractual_rate=D("12"),
        interest_capitalises=False,
        costs_clause="percent",
        costs_percent=D("20"),
    )
    invoice = invoice_for(business, amount="1000.00")
    due = invoice.due_on
    run_days(due - timedelta(days=3), due + timedelta(days=17))
    demand = next(m for m in messages_of(business) if m.kind == "demand")
    context = demand.context
    assert context["interest_kind"] == "contractual"
    assert context["interest"] == "6.76"
    assert context["costs"]["costs"] == "242.00"
    assert context["costs"]["basis"] == "contract"
    assert context["contract"]["reference"] == "Offerte 2026-014"
    assert context["contract"]["agreed_on"] == "2025-12-01"
    assert context["contract"]["contractual_rate"] == "12"
    assert context["contract"]["costs_percent"] == "20"
    execution = StepExecution.objects.get(invoice=invoice, step__code="demand")
    assert (execution.interest, execution.costs) == (D("6.76"), D("242.00"))


def test_without_terms_the_message_names_no_contract(business):
    invoice = invoice_for(business, amount="1000.00")
    run_days(invoice.due_on, invoice.due_on + timedelta(days=17))
    demand = next(m for m in messages_of(business) if m.kind == "demand")
    assert "contract" not in demand.context
    assert demand.context["interest_kind"] == "commercial"
    assert demand.context["costs"]["costs"] == "181.50"  # staffel on 1,210.00


@pytest.mark.parametrize(
    ("percent", "announced", "basis"),
    [
        ("20", "181.50", "staffel"),  # 242.00 agreed, capped at the staffel (art. 6:96 lid 5)
        ("10", "121.00", "contract"),  # lower than the staffel: what was agreed
    ],
)
def test_a_consumer_is_announced_and_charged_at_most_the_staffel(
    consumer, percent, announced, basis
):
    """Art. 6:96 lid 5-6 BW: the 14-dagenbrief states the exact costs, the same the later
    step charges; an agreed clause cannot raise them above the staffel."""
    agree(consumer, costs_clause="percent", costs_percent=D(percent))
    invoice = invoice_for(consumer, amount="1000.00")
    due = invoice.due_on
    run_days(due, due + timedelta(days=45))
    assert [s[0] for s in steps_of(invoice)] == ["reminder", "second_reminder", "fourteen_day",
                                                  "costs"]  # fmt: skip
    letter = next(m for m in messages_of(consumer) if m.kind == "final_notice_14_day")
    assert letter.context["costs_if_unpaid"]["costs"] == announced
    assert letter.context["costs_if_unpaid"]["basis"] == basis
    charged = next(m for m in messages_of(consumer) if m.kind == "final_notice")
    assert charged.context["costs"]["costs"] == announced
    assert charged.context["contract"]["costs_clause"] == "percent"


def test_terms_are_read_once_per_chunk_not_per_claim(organisation):
    customers = [CustomerFactory(organisation=organisation, kind="business") for _ in range(4)]
    for customer in customers:
        agree(customer, interest_clause="contractual", contractual_rate=D("9"))
        invoice_for(customer, amount="500.00")
    due = date(2026, 1, 19)
    run(due - timedelta(days=3))
    with CaptureQueriesContext(connection) as queries:
        run(due + timedelta(days=17))  # each customer's demand: four messages
    reads = [q["sql"] for q in queries.captured_queries if "plans_contractterms" in q["sql"]]
    assert len(reads) == 1
    assert StepExecution.objects.filter(step__code="demand", interest__gt=0).count() == 4
