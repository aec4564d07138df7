"""API authentication: a bearer token (an `ApiToken`), or the browser session with CSRF."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer, django_auth

from betaald.organisations.models import ApiToken
from betaald.organisations.selectors import membership_for_request


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        digest = hashlib.sha256(token.encode()).hexdigest()
        record = (
            ApiToken.objects.select_related("membership__organisation", "membership__user")
            .filter(key_hash=digest, revoked_at__isnull=True)
            .first()
        )
        if record is None or not record.membership.user.is_active:
            return None
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
        request.user = record.membership.user
        request.membership = record.membership  # type: ignore[attr-defined]
        request.organisation = record.membership.organisation  # type: ignore[attr-defined]
        return record.membership


class SessionAuth(APIKeyCookie):
    """The logged-in browser session (with Django's CSRF check), acting in its organisation."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not request.user.is_authenticated:
            return None
        membership = membership_for_request(request)
        if membership is None:
            return None
        request.membership = membership  # type: ignore[attr-defined]
        request.organisation = membership.organisation  # type: ignore[attr-defined]
        return membership


api_auth = [TokenAuth(), SessionAuth()]

# The calculator needs a logged-in person or a token, but no organisation.
calc_auth = [TokenAuth(), django_auth]
