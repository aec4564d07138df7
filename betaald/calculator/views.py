"""The calculator page (/calc/): interest and collection costs for anyone logged in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from betaald.calculator import calculations
from betaald.calculator.forms import CostsForm, InterestForm
from betaald.core.errors import DomainError
from betaald.i18n import error_text
from betaald.rates.selectors import rate_table_is_stale

INTEREST_FIELDS = {"kind": "kind", "principal": "principal", "from": "first_day", "to": "last_day"}


def _interest(form: InterestForm) -> dict[str, Any] | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return calculations.interest(
            kind=data["kind"],
            principal=data["principal"],
            first_day=data["first_day"].isoformat(),
            last_day=data["last_day"].isoformat(),
            simple=data["simple"],
            fields=INTEREST_FIELDS,
        )
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, error_text(error))
        return None


def _costs(form: CostsForm) -> dict[str, Any] | None:
    if not form.is_valid():
        return None
    principals = [
        line.strip() for line in form.cleaned_data["principals"].splitlines() if line.strip()
    ]
    try:
        return calculations.costs(principals=principals, vat=form.cleaned_data["vat"])
    except DomainError as error:
        form.add_error("principals", error_text(error))
        return None


@login_required
def calculator(request: HttpRequest) -> HttpResponse:
    which = request.GET.get("calculation")
    interest_form = InterestForm(request.GET if which == "interest" else None, prefix="interest")
    costs_form = CostsForm(request.GET if which == "costs" else None, prefix="costs")
    today = timezone.localdate()
    context = {
        "interest_form": interest_form,
        "costs_form": costs_form,
        "interest": _interest(interest_form) if which == "interest" else None,
        "costs": _costs(costs_form) if which == "costs" else None,
        "stale_kinds": [kind for kind in calculations.KINDS if rate_table_is_stale(kind, today)],
        "today": today,
    }
    return render(request, "calculator/calculator.html", context)
