"""Between stored policies and the core's `Policy`: conversion and the per-run policy book."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from betaald.core import dunning as core
from betaald.core.errors import DomainError
from betaald.dunning.models import CustomerDunning, DunningPolicy, DunningStep
from betaald.organisations.models import Organisation


def step_to_core(step: DunningStep) -> core.Step:
    late_fee = None
    if step.late_fee_kind:
        late_fee = core.LateFee(
            kind=core.FeeKind(step.late_fee_kind),
            value=Decimal(step.late_fee_value if step.late_fee_value is not None else 0),
            minimum=Decimal(step.late_fee_min or 0),
            maximum=None if step.late_fee_max is None else Decimal(step.late_fee_max),
        )
    return core.Step(
        code=step.code,
        name=step.name,
        offset_days=step.offset_days,
        kind=core.MessageKind(step.kind),
        channels=tuple(core.Channel(c) for c in step.channels),
        anchor=core.Anchor(step.anchor),
        fallback=tuple(core.Channel(c) for c in step.fallback_channels),
        charges=core.Charges(
            late_fee=late_fee,
            interest_from=core.InterestFrom(step.interest_from),
            interest_kind=core.InterestKind(step.interest_kind),
            contractual_rate=step.contractual_rate,
            costs=core.CostsBasis(step.costs),
            contract_costs_percent=step.contract_costs_percent,
        ),
        actions=frozenset(core.Action(a) for a in step.actions),
        needs_approval=step.needs_approval,
    )


def policy_to_core(policy: DunningPolicy, steps: Sequence[DunningStep]) -> core.Policy:
    return core.Policy(
        code=policy.code,
        name=policy.name,
        debtor_kind=core.DebtorKind(policy.debtor_kind),
        steps=tuple(step_to_core(s) for s in steps),
        minimum_amount=Decimal(policy.minimum_amount),
    )


def step_fields_from_core(step: core.Step) -> dict[str, object]:
    """The model fields of a core step (to install the default policies)."""
    fee = step.charges.late_fee
    return {
        "code": step.code,
        "name": step.name,
        "offset_days": step.offset_days,
        "anchor": step.anchor.value,
        "kind": step.kind.value,
        "channels": [c.value for c in step.channels],
        "fallback_channels": [c.value for c in step.fallback],
        "late_fee_kind": fee.kind.value if fee else "",
        "late_fee_value": fee.value if fee else None,
        "late_fee_min": fee.minimum if fee else Decimal("0.00"),
        "late_fee_max": fee.maximum if fee else None,
        "interest_from": step.charges.interest_from.value,
        "interest_kind": step.charges.interest_kind.value,
        "contractual_rate": step.charges.contractual_rate,
        "costs": step.charges.costs.value,
        "contract_costs_percent": step.charges.contract_costs_percent,
        "actions": sorted(a.value for a in step.actions),
        "needs_approval": step.needs_approval,
    }


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """A stored policy with its core form and its steps by position and by code."""

    model: DunningPolicy
    policy: core.Policy
    steps: tuple[DunningStep, ...]
    # The core's answers for claims without holds or amount conditions, which depend only on
    # the dates and the level (see `services._decision`); filled during one run.
    decisions: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    def step_index(self, step_id: int) -> int | None:
        for index, step in enumerate(self.steps):
            if step.pk == step_id:
                return index
        return None


class PolicyBook:
    """All policies of some organisations, loaded once per run or request."""

    def __init__(self, organisation_ids: Iterable[int] | None = None) -> None:
        self.entries: dict[int, PolicyEntry] = {}
        self.defaults: dict[tuple[int, str], int] = {}
        self.overrides: dict[int, int] = {}
        self._invalid: dict[int, str] = {}
        self._organisations: dict[int, Organisation] = {}
        self.organisation_ids: set[int] = set(organisation_ids or ())
        policies = DunningPolicy.objects.all()
        if organisation_ids is not None:
            policies = policies.filter(organisation_id__in=list(organisation_ids))
        steps_by_policy: dict[int, list[DunningStep]] = {}
        policy_list = list(policies)
        for step in DunningStep.objects.filter(policy__in=policy_list).order_by(
            "policy_id", "position", "id"
        ):
            steps_by_policy.setdefault(step.policy_id, []).append(step)
        for policy in policy_list:
            steps = tuple(steps_by_policy.get(policy.pk, []))
            try:
                converted = core.validate_policy(policy_to_core(policy, steps))
            except (DomainError, ValueError) as error:
                self._invalid[policy.pk] = str(error)
                continue
            self.entries[policy.pk] = PolicyEntry(policy, converted, steps)
            if policy.is_default:
                self.defaults[(policy.organisation_id, policy.debtor_kind)] = policy.pk

    def load_overrides(self, customer_ids: Iterable[int]) -> None:
        wanted = [c for c in set(customer_ids) if c not in self.overrides]
        from betaald.dunning.bulk import id_filter

        for customer_id, policy_id in CustomerDunning.objects.filter(
            customer_id__in=id_filter(wanted)
        ).values_list("customer_id", "policy_id"):
            self.overrides[customer_id] = policy_id
        for customer_id in wanted:
            self.overrides.setdefault(customer_id, 0)

    def for_customer(self, customer_id: int, organisation_id: int, kind: str) -> PolicyEntry | None:
        own = self.overrides.get(customer_id, 0)
        if own and own in self.entries:
            return self.entries[own]
        default = self.defaults.get((organisation_id, kind))
        return self.entries.get(default) if default is not None else None

    def organisation(self, organisation_id: int) -> Organisation:
        """One object per organisation for the whole run (not one per invoice row)."""
        found = self._organisations.get(organisation_id)
        if found is None:
            found = self._organisations[organisation_id] = Organisation.objects.get(
                pk=organisation_id
            )
        return found

    def invalid_reason(self, policy_id: int) -> str | None:
        return self._invalid.get(policy_id)
