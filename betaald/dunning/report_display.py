"""A dunning run's stored report (codes and English warnings, so it stays readable whatever the
language of whoever ran it) in the reader's language, for the run page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from betaald.dunning.models import Action, Channel, DunningRun, DunningStep

TOTAL_LABELS = {
    "late_fees": gettext_lazy("Late fees"),
    "interest": gettext_lazy("Interest"),
    "costs": gettext_lazy("Collection costs"),
    "vat": gettext_lazy("VAT on collection costs"),
}

COUNT_LABELS = {
    "invoices": gettext_lazy("invoices"),
    "awaiting_approval": gettext_lazy("awaiting approval"),
    "needs_fix": gettext_lazy("to fix before reminding"),
    **{choice.value: choice.label for choice in Channel},
    **{choice.value: choice.label for choice in Action},
}

STALE_RATE = re.compile(
    r"^(statutory|commercial) rate table not confirmed for (\d{4}-\d{2}-\d{2})$"
)


@dataclass(frozen=True)
class RunReport:
    totals: list[tuple[str, Decimal]]
    counts: list[tuple[str, list[tuple[str, int]]]]
    skipped: list[tuple[str, int]]
    warnings: list[str]


def step_names(organisation_id: int | None) -> dict[str, str]:
    """Step code -> the name(s) the organisation's policies give it."""
    names: dict[str, list[str]] = {}
    if organisation_id is None:
        return {}
    steps = DunningStep.objects.filter(policy__organisation_id=organisation_id).order_by(
        "policy_id", "position"
    )
    for code, name in steps.values_list("code", "name"):
        if name not in names.setdefault(code, []):
            names[code].append(name)
    return {code: " / ".join(found) for code, found in names.items()}


def warning_text(text: str) -> str:
    match = STALE_RATE.match(text)
    if match is None:
        return text
    kind = _("statutory interest") if match.group(1) == "statutory" else _("commercial interest")
    return _(
        "The rate table for %(kind)s has no confirmed rate for %(day)s: interest was computed "
        "with the last known rate."
    ) % {"kind": kind, "day": date_format(date.fromisoformat(match.group(2)), "SHORT_DATE_FORMAT")}


def run_report(run: DunningRun) -> RunReport:
    names = step_names(run.organisation_id)
    totals = [
        (str(TOTAL_LABELS.get(key, key)), Decimal(str(value)))
        for key, value in (run.totals or {}).items()
    ]
    counts = [
        (
            names.get(step, step),
            [(str(COUNT_LABELS.get(what, what)), int(n)) for what, n in per_step.items()],
        )
        for step, per_step in (run.counts or {}).items()
    ]
    skipped = [(names.get(step, step), int(n)) for step, n in (run.skipped or {}).items()]
    warnings = [warning_text(str(text)) for text in run.warnings or []]
    return RunReport(totals=totals, counts=counts, skipped=skipped, warnings=warnings)
