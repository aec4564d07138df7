"""Reads of the bank app: the cash position per account and the matching rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum

from betaald.bank.models import BankAccount, BankTransaction, Statement, TransactionStatus
from betaald.organisations.models import Organisation


@dataclass(frozen=True)
class AccountPosition:
    account: BankAccount
    balance: Decimal | None
    balance_on: date | None
    currency: str


def accounts_with_position(organisation: Organisation) -> list[AccountPosition]:
    """Every bank account with the closing balance of its latest statement."""
    positions = []
    for account in BankAccount.objects.filter(organisation=organisation).order_by("iban"):
        last = (
            Statement.objects.filter(account=account, closing_balance__isnull=False)
            .order_by("-closing_on", "-id")
            .first()
        )
        positions.append(
            AccountPosition(
                account=account,
                balance=last.closing_balance if last else None,
                balance_on=last.closing_on if last else None,
                currency=(last.currency if last else "") or account.currency,
            )
        )
    return positions


@dataclass(frozen=True)
class MatchingRate:
    automatic: int
    manual: int
    unmatched: int

    @property
    def total(self) -> int:
        return self.automatic + self.manual + self.unmatched


def matching_rate(organisation: Organisation) -> MatchingRate:
    """Incoming EUR payments: booked automatically, booked after review, still open."""
    counts = BankTransaction.objects.filter(organisation=organisation).aggregate(
        automatic=Count("pk", filter=Q(status=TransactionStatus.MATCHED)),
        manual=Count("pk", filter=Q(status=TransactionStatus.ACCEPTED)),
        unmatched=Count(
            "pk", filter=Q(status__in=[TransactionStatus.REVIEW, TransactionStatus.UNMATCHED])
        ),
    )
    return MatchingRate(counts["automatic"], counts["manual"], counts["unmatched"])


def received_per_day(organisation: Organisation, *, days: int = 14) -> list[tuple[date, Decimal]]:
    """Incoming EUR money per booking day (returns excluded), the latest `days` days with
    money, newest first."""
    rows = (
        BankTransaction.objects.filter(
            organisation=organisation, is_credit=True, is_return=False, currency="EUR"
        )
        .exclude(booking_date__isnull=True)
        .values("booking_date")
        .annotate(total=Sum("amount"))
        .order_by("-booking_date")[:days]
    )
    return [(row["booking_date"], row["total"]) for row in rows]


def customers_with_repeated_returns(organisation: Organisation, *, minimum: int = 2) -> list[int]:
    """Ids of customers with at least `minimum` returned collections or payments (flagged)."""
    return list(
        BankTransaction.objects.filter(
            organisation=organisation, is_return=True, customer__isnull=False
        )
        .values("customer_id")
        .annotate(returns=Count("pk"))
        .filter(returns__gte=minimum)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )
