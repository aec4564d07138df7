"""Writes for organisations and memberships."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from betaald.audit.services import event_record
from betaald.core.errors import DomainError
from betaald.i18n import error_text
from betaald.identifiers import (
    normalise_bic,
    normalise_btw_id,
    normalise_iban,
    normalise_kvk,
    normalise_sepa_creditor_id,
)
from betaald.organisations.models import Membership, Organisation, Role

IDENTIFIER_FIELDS = {
    "kvk_number": normalise_kvk,
    "vat_number": normalise_btw_id,
    "iban": normalise_iban,
    "bic": normalise_bic,
    "sepa_creditor_id": normalise_sepa_creditor_id,
}


def normalise_identifiers(fields: dict[str, Any], normalisers: dict[str, Any]) -> dict[str, Any]:
    """Normalise every identifier present and non-empty; collect all errors per field."""
    errors: dict[str, list[str]] = {}
    result = dict(fields)
    for name, normalise in normalisers.items():
        value = result.get(name)
        if value:
            try:
                result[name] = normalise(str(value), field=name)
            except DomainError as exc:
                errors.setdefault(name, []).append(error_text(exc))
    if errors:
        raise ValidationError(errors)
    return result


def organisation_snapshot(organisation: Organisation) -> dict[str, Any]:
    return {
        "legal_name": organisation.legal_name,
        "trade_name": organisation.trade_name,
        "legal_form": organisation.legal_form,
        "seat": organisation.seat,
        "kvk_number": organisation.kvk_number,
        "vat_number": organisation.vat_number,
        "iban": organisation.iban,
        "bic": organisation.bic,
        "street": organisation.street,
        "postal_code": organisation.postal_code,
        "city": organisation.city,
        "country": organisation.country,
        "email": organisation.email,
        "phone": organisation.phone,
    }


@transaction.atomic
def organisation_create(*, actor: Any = None, **fields: Any) -> Organisation:
    fields = normalise_identifiers(fields, IDENTIFIER_FIELDS)
    organisation = Organisation(**fields)
    organisation.full_clean()
    organisation.save()
    event_record(
        name="organisations.organisation.created",
        organisation=organisation,
        actor=actor,
        subject=organisation,
        after=organisation_snapshot(organisation),
    )
    return organisation


@transaction.atomic
def organisation_update(*, organisation: Organisation, actor: Any, **fields: Any) -> Organisation:
    fields = normalise_identifiers(fields, IDENTIFIER_FIELDS)
    before = organisation_snapshot(organisation)
    for name, value in fields.items():
        setattr(organisation, name, value)
    organisation.full_clean()
    organisation.save()
    event_record(
        name="organisations.organisation.updated",
        organisation=organisation,
        actor=actor,
        subject=organisation,
        before=before,
        after=organisation_snapshot(organisation),
    )
    return organisation


@transaction.atomic
def membership_add(
    *, organisation: Organisation, user: Any, role: str, actor: Any = None
) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"unknown role {role!r}"})
    membership = Membership.objects.create(organisation=organisation, user=user, role=role)
    event_record(
        name="organisations.membership.added",
        organisation=organisation,
        actor=actor,
        subject=membership,
        after={"user": user.get_username(), "role": role},
    )
    return membership


@transaction.atomic
def user_create(
    *, username: str, password: str, email: str = "", first_name: str = "", last_name: str = ""
) -> Any:
    user_model = get_user_model()
    user = user_model(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def api_token_create(*, membership: Membership, name: str, actor: Any = None) -> tuple[Any, str]:
    """Create an API token; returns the record and the token text (shown only now)."""
    import hashlib
    import secrets

    from betaald.organisations.models import ApiToken

    if not name.strip():
        raise ValidationError({"name": "give the token a name"})
    raw = "btl_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        membership=membership,
        name=name.strip(),
        prefix=raw[4:12],
        key_hash=hashlib.sha256(raw.encode()).hexdigest(),
    )
    event_record(
        name="organisations.api_token.created",
        organisation=membership.organisation,
        actor=actor,
        subject=token,
        after={"name": token.name, "prefix": token.prefix, "user": membership.user.get_username()},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: Any, actor: Any = None) -> Any:
    from django.utils import timezone

    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        event_record(
            name="organisations.api_token.revoked",
            organisation=token.membership.organisation,
            actor=actor,
            subject=token,
            after={"name": token.name, "prefix": token.prefix},
        )
    return token
