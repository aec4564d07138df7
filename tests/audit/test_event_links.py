"""Audit events link to their organisation, actor, customer and invoice as Django relations
without database-level foreign-key constraints (ADR 0008): the relations, the reverse
accessors and PROTECT on delete work as before; the database checks no key per event."""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.db.models import ProtectedError

from betaald.audit.models import Event
from betaald.audit.services import event_record
from tests.factories import CustomerFactory, OrganisationFactory, UserFactory, issued_invoice

pytestmark = pytest.mark.django_db

LINKS = ("organisation", "actor", "customer", "invoice")


def test_the_event_table_has_no_foreign_key_constraints_but_keeps_its_indexes():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Event._meta.db_table)
    assert [name for name, c in constraints.items() if c["foreign_key"]] == []
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"]}
    assert ("customer_id", "occurred_at") in indexed
    assert ("invoice_id", "occurred_at") in indexed
    assert ("organisation_id", "occurred_at") in indexed
    assert ("actor_id",) in indexed


def test_the_links_are_still_django_relations_that_protect_on_delete():
    for name in LINKS:
        field = Event._meta.get_field(name)
        assert field.is_relation
        assert field.remote_field.on_delete is models.PROTECT
        assert field.db_constraint is False


def test_a_customer_or_user_with_events_cannot_be_deleted_and_the_links_resolve():
    organisation = OrganisationFactory()
    customer = CustomerFactory(organisation=organisation)
    user = UserFactory()
    bare = CustomerFactory(organisation=organisation)
    invoice = issued_invoice(bare)
    event = event_record(
        name="debtors.customer.updated",
        organisation=organisation,
        actor=user,
        customer=customer,
        invoice=invoice,
    )
    event.refresh_from_db()
    assert (event.organisation, event.actor, event.customer, event.invoice) == (
        organisation,
        user,
        customer,
        invoice,
    )
    assert list(customer.events.all()) == [event]
    assert event in invoice.events.all()
    for protected in (customer, user):
        with pytest.raises(ProtectedError):
            protected.delete()
    assert Event.objects.filter(pk=event.pk).exists()
