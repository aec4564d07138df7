"""Who may see and change what, for every view of every app: the organisation of the request
(another organisation's objects are a 404 because every query goes through it) and the role
(owners and credit controllers write, accountants read)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from betaald.organisations.models import Organisation, Role

View = Callable[..., HttpResponse]


def organisation_of(request: HttpRequest) -> Organisation:
    """The organisation the user works in; 404 for a user without one."""
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        raise Http404(_("You do not belong to an organisation."))
    return organisation  # type: ignore[no-any-return]


def writer_of(request: HttpRequest) -> Organisation:
    """The organisation, if the user's role may change things in it; else 403."""
    organisation = organisation_of(request)
    membership = getattr(request, "membership", None)
    if membership is None or not membership.can_write:
        raise PermissionDenied(_("Your role may only read."))
    return organisation


def writer_required(view: View) -> View:
    """Only owners and credit controllers change anything; accountants read."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        writer_of(request)
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = getattr(request, "membership", None)
        if membership is None or membership.role != Role.OWNER:
            raise PermissionDenied(_("Only an owner may change the organisation."))
        return view(request, *args, **kwargs)

    return wrapper


def local_today() -> date:
    """Today in Europe/Amsterdam: the legal date the shell passes into the core."""
    return timezone.localdate()
