from __future__ import annotations

from django.http import HttpRequest

from betaald.organisations.models import Membership

SESSION_KEY = "organisation_id"


def membership_for_request(request: HttpRequest) -> Membership | None:
    """The membership the user works in now: the one chosen in the session, else the first."""
    memberships = Membership.objects.select_related("organisation").filter(
        user_id=request.user.pk or 0
    )
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        membership = memberships.filter(organisation_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.order_by("organisation_id").first()
