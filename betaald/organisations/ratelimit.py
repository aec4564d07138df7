"""Rate-limited login: after LOGIN_FAILURE_LIMIT failures for a username or an address within
LOGIN_FAILURE_WINDOW_SECONDS, further attempts are refused until the window has passed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from betaald.organisations.models import LoginFailure


def login_blocked(username: str, address: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(failed_at__gte=since)
    by_user = recent.filter(username=username.lower()).count() if username else 0
    by_address = recent.filter(address=address).count() if address else 0
    return max(by_user, by_address) >= settings.LOGIN_FAILURE_LIMIT


def login_failed(username: str, address: str | None) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], address=address or None)
    LoginFailure.objects.filter(Q(failed_at__lt=timezone.now() - timedelta(days=7))).delete()
