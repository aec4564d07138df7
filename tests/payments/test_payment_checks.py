"""`_payment_for` builds a new payment positionally and skips `clean` for values it certainly
accepts: the same payment and the same errors as building it with keyword arguments and
cleaning every checked field (the path it replaces)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from betaald.audit.services import acting_user
from betaald.organisations.models import Organisation
from betaald.payments import services
from betaald.payments.models import Payment
from betaald.payments.services import PaymentItem


def reference(organisation: Organisation, item: PaymentItem, index: int, actor: Any) -> Payment:
    """The replaced path: keyword construction, then `clean` of every checked field."""
    fields = services._Fields(False)
    try:
        amount = services._amount(item.amount)
    except ValidationError as exc:
        raise fields.error(index, "amount", exc.message_dict["amount"]) from None
    if item.method not in services._METHODS:
        raise fields.error(index, "method", services._("unknown payment method"))
    payment = Payment(
        organisation=organisation,
        customer_id=item.customer_id,
        amount=amount,
        received_on=item.received_on,
        method=item.method,
        description=item.description.strip(),
        counterparty_iban=item.counterparty_iban,
        designated_invoice_id=item.designated_invoice_id,
        created_by=acting_user(actor),
    )
    for name in services._CHECKED_FIELDS:
        try:
            Payment._meta.get_field(name).clean(getattr(payment, name), payment)
        except ValidationError as exc:
            raise fields.error(index, name, exc.messages) from None
    return payment


def outcome(build: Any) -> Any:
    try:
        payment = build()
    except ValidationError as error:
        return ("error", error.message_dict)
    values = {f.attname: getattr(payment, f.attname) for f in Payment._meta.concrete_fields}
    return ("payment", values, payment.organisation.pk)


TEXT = st.one_of(st.text(max_size=40), st.text(min_size=30, max_size=320))
DAYS = st.one_of(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.sampled_from(["2026-03-02", "2026-02-30", "", None]),
)
AMOUNTS = st.one_of(
    st.decimals(min_value=Decimal("-5"), max_value=Decimal("1e13"), places=2),
    st.sampled_from(["12.34", "0", "1e3", "abc", "999999999999.99", "1000000000000.00"]),
    st.integers(min_value=-3, max_value=10**13),
)


@given(
    amount=AMOUNTS,
    received_on=DAYS,
    description=TEXT,
    iban=st.one_of(st.text(max_size=34), st.text(min_size=35, max_size=40)),
    method=st.sampled_from(["bank_transfer", "cash", "nonsense"]),
    designated=st.one_of(st.none(), st.integers(1, 10)),
)
def test_the_fast_payment_is_the_cleaned_payment(
    amount, received_on, description, iban, method, designated
):
    organisation = Organisation(pk=7, legal_name="Bouwbedrijf Jansen B.V.")
    item = PaymentItem(
        customer_id=3,
        amount=amount,
        received_on=received_on,
        method=method,
        description=description,
        counterparty_iban=iban,
        designated_invoice_id=designated,
    )
    fast = outcome(
        lambda: services._payment_for(organisation, item, 4, None, services._Fields(False))
    )
    assert fast == outcome(lambda: reference(organisation, item, 4, None))


@pytest.mark.django_db
def test_the_acting_user_is_the_payments_creator(django_user_model):
    user = django_user_model.objects.create_user(username="boekhouder")
    organisation = Organisation(pk=7, legal_name="Bouwbedrijf Jansen B.V.")
    item = PaymentItem(customer_id=3, amount="10.00", received_on=date(2026, 3, 2))
    payment = services._payment_for(organisation, item, 0, user, services._Fields(False))
    assert payment.created_by == user
    assert payment.created_by_id == user.pk
    assert payment.organisation is organisation
