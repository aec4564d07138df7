"""Hand-over to collection: which court hears the claim, and how much conservatoir beslag
(prejudgment attachment) should secure.

- **Court** (art. 93 Rv): the kantonrechter hears claims of at most EUR 25,000 (interest up to
  the summons included) and, whatever the amount, among others consumer-sale and
  consumer-credit cases (the latter up to EUR 40,000); otherwise the rechtbank, where a lawyer
  is required. Appeal lies only above EUR 1,750 (art. 332 Rv).
- **Amount to secure** (art. 700 lid 2 Rv: the petition states the amount of the claim; the
  judge fixes the amount incl. costs): the convention of this project is the higher of (a) the
  claim on the hand-over day plus a year's interest on the principal (the time a main action
  commonly takes) and (b) the principal plus 30 %, the margin firms commonly use for interest
  and costs still to come. See docs/algorithms/handover.md.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from betaald.core.errors import InvalidAmount
from betaald.core.money import ZERO, round_cents

#: The kantonrechter's limit for a claim (art. 93 sub a Rv).
KANTON_LIMIT = Decimal("25000.00")
#: A consumer-credit case stays with the kantonrechter up to this amount (art. 93 sub c Rv).
CONSUMER_CREDIT_LIMIT = Decimal("40000.00")
#: Appeal lies only against a judgment on a claim above this amount (art. 332 Rv).
APPEAL_THRESHOLD = Decimal("1750.00")
#: The margin on the principal firms commonly ask to secure.
SECURITY_MARGIN_PERCENT = Decimal("30")


class Court(StrEnum):
    KANTONRECHTER = "kantonrechter"
    RECHTBANK = "rechtbank"


class CaseKind(StrEnum):
    """Cases the kantonrechter hears whatever their amount (art. 93 sub c Rv), as far as a
    collection claim can be one of them."""

    ORDINARY = "ordinary"
    CONSUMER_SALE = "consumer_sale"
    CONSUMER_CREDIT = "consumer_credit"
    RENT = "rent"
    EMPLOYMENT = "employment"


def court_for(amount: Decimal, kind: CaseKind = CaseKind.ORDINARY) -> Court:
    """The first-instance court for a claim of `amount` (principal, interest up to the summons
    and costs; art. 93 Rv)."""
    if amount < ZERO:
        raise InvalidAmount("a claim cannot be negative", field="amount")
    if kind is CaseKind.CONSUMER_CREDIT:
        return Court.KANTONRECHTER if amount <= CONSUMER_CREDIT_LIMIT else Court.RECHTBANK
    if kind is not CaseKind.ORDINARY or amount <= KANTON_LIMIT:
        return Court.KANTONRECHTER
    return Court.RECHTBANK


def appeal_possible(amount: Decimal) -> bool:
    """Whether a judgment on a claim of `amount` can be appealed (art. 332 Rv)."""
    return amount > APPEAL_THRESHOLD


def amount_to_secure(
    *, principal: Decimal, claim_to_date: Decimal, yearly_rate_percent: Decimal
) -> Decimal:
    """What a petition for conservatoir beslag asks to secure (art. 700 lid 2 Rv): the higher
    of the claim to date plus a year's interest on the principal at `yearly_rate_percent`, and
    the principal plus 30 % (module docstring)."""
    if principal < ZERO or claim_to_date < ZERO:
        raise InvalidAmount("a claim cannot be negative", field="principal")
    if yearly_rate_percent < ZERO:
        raise InvalidAmount("a rate cannot be negative", field="rate")
    with_interest = claim_to_date + principal * yearly_rate_percent / 100
    with_margin = principal * (100 + SECURITY_MARGIN_PERCENT) / 100
    return round_cents(max(with_interest, with_margin))
