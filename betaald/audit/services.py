"""The one way to write the audit trail."""

from __future__ import annotations

from typing import Any

from betaald.audit.models import Event


def event_record(
    *,
    name: str,
    organisation: Any,
    actor: Any = None,
    subject: Any = None,
    customer: Any = None,
    invoice: Any = None,
    invoice_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    message: str = "",
) -> Event:
    """Append an audit event. Call it inside the service's transaction."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = ""
    if user is not None:
        label = user.get_username()
    elif isinstance(actor, str):
        label = actor
    return Event.objects.create(
        name=name,
        organisation=organisation,
        actor=user,
        actor_label=label or "system",
        customer_id=customer.pk if customer is not None else None,
        invoice_id=invoice.pk if invoice is not None else invoice_id,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        before=before,
        after=after,
        message=message,
    )
