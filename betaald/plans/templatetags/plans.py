"""Template filters of the plans pages: the reasons behind a payment score, in the user's
language (the pure core words them in English and gives a code with the values)."""

from __future__ import annotations

from collections.abc import Callable

from django import template
from django.utils.translation import gettext as _

from betaald.core.scoring import Score

register = template.Library()

WORDING: dict[str, Callable[[], str]] = {
    "no_history": lambda: _("no invoice due yet: neutral grade C"),
    "base_recent": lambda: _(
        "paid on average %(days)s days late (weighted by amount) in the last 12 months: "
        "grade %(grade)s"
    ),
    "base_overall": lambda: _(
        "paid on average %(days)s days late (weighted by amount) overall: grade %(grade)s"
    ),
    "broken_promises": lambda: _("%(count)s broken promise(s) to pay: one grade down"),
    "many_broken_promises": lambda: _("three or more broken promises: one grade down"),
    "broken_plans": lambda: _("%(count)s broken payment plan(s): one grade down"),
    "returned_debits": lambda: _("%(count)s returned direct debits: one grade down"),
    "many_reminders": lambda: _(
        "%(reminders)s reminders for %(invoices)s invoice(s): one grade down"
    ),
    "few_on_time": lambda: _("only %(percent)s%% paid on time: one grade down"),
    "trend_improving": lambda: _("trend improving (%(days)s days against the year before)"),
    "trend_worsening": lambda: _("trend worsening (%(days)s days against the year before)"),
    "trend_stable": lambda: _("trend stable (%(days)s days against the year before)"),
}


@register.filter
def explain(score: Score) -> list[str]:
    """The reasons of a score, worded in the active language."""
    worded = []
    for reason in score.explained:
        wording = WORDING.get(reason.code)
        worded.append(wording() % dict(reason.values) if wording else reason.text)
    return worded
