"""Every page needs a login, except the login page itself, static files, the API (token
auth) and the debtor-facing pages. The user's organisation is put on `request.organisation`."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

# /letters/webhooks/: provider callbacks (SMS delivery reports), authenticated by the
# provider's signature in the view itself, not by a session.
PUBLIC_PREFIXES = (
    "/accounts/login/",
    "/static/",
    "/api/",
    "/pay/",
    "/admin/",
    "/i18n/",
    "/letters/webhooks/",
)


class LoginRequiredOrganisationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from betaald.organisations.selectors import membership_for_request

        request.organisation = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        path = request.path_info
        is_public = path.startswith(PUBLIC_PREFIXES) or path == "/favicon.ico"
        if not is_public and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if request.user.is_authenticated:
            membership = membership_for_request(request)
            if membership is not None:
                request.membership = membership  # type: ignore[attr-defined]
                request.organisation = membership.organisation  # type: ignore[attr-defined]
        return self.get_response(request)
