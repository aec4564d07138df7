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
    event = event_build(
        name=name,
        organisation=organisation,
        actor=actor,
        subject=subject,
        customer=customer,
        invoice=invoice,
        invoice_id=invoice_id,
        before=before,
        after=after,
        message=message,
    )
    event.save(force_insert=True)  # type: ignore[no-untyped-call]
    return event


def acting_user(actor: Any) -> Any:
    """The logged-in user behind `actor`, or None for the system, a command or a label."""
    return actor if getattr(actor, "is_authenticated", False) else None


def event_build(
    *,
    name: str,
    organisation: Any,
    actor: Any = None,
    subject: Any = None,
    customer: Any = None,
    invoice: Any = None,
    invoice_id: int | None = None,
    customer_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    message: str = "",
) -> Event:
    """The unsaved event `event_record` writes, for services that write many at once with
    `Event.objects.bulk_create` (same fields, same actor rules)."""
    user = acting_user(actor)
    label = ""
    if user is not None:
        label = user.get_username()
    elif isinstance(actor, str):
        label = actor
    return Event(
        name=name,
        organisation=organisation,
        actor=user,
        actor_label=label or "system",
        customer_id=customer.pk if customer is not None else customer_id,
        invoice_id=invoice.pk if invoice is not None else invoice_id,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        before=before,
        after=after,
        message=message,
    )
