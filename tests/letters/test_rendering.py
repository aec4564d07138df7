"""Templates: every kind in both languages, the sandbox, and the law on the 14-dagenbrief."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from betaald.letters.models import MessageKind, MessageTemplate
from betaald.letters.rendering import (
    SAMPLE_RECIPIENT,
    RenderError,
    default_parts,
    render_message,
    sample_context,
    template_validate,
)
from betaald.letters.services import message_template_save


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("kind", MessageKind.values)
def test_every_default_template_is_valid_and_renders(kind, language):
    parts = default_parts(kind, language)
    template_validate(
        kind=kind, language=language, subject=parts["subject"], body=parts["body"], sms=parts["sms"]
    )
    rendered = render_message(
        organisation_id=None,
        kind=kind,
        language=language,
        context=sample_context(),
        recipient=SAMPLE_RECIPIENT,
    )
    assert rendered.subject
    assert rendered.sms
    assert "Voorbeeld" in rendered.text


@pytest.mark.parametrize(
    ("language", "term", "costs"),
    [
        ("nl", "binnen veertien dagen na de dag waarop deze brief bij u is bezorgd", "€ 425,00"),
        ("en", "within 14 days after the day of receipt of this letter", "€425.00"),
    ],
)
def test_the_14_day_letter_states_the_term_from_receipt_and_the_exact_costs(language, term, costs):
    """Art. 6:96 lid 6 BW; HR 25-11-2016, ECLI:NL:HR:2016:2704."""
    context = sample_context()
    context["costs_vat_if_unpaid"] = "89.25"
    rendered = render_message(
        organisation_id=None,
        kind="final_notice_14_day",
        language=language,
        context=context,
        recipient=SAMPLE_RECIPIENT,
    )
    text = " ".join(rendered.text.split())
    assert term in text
    assert " ".join(costs.split()) in text
    assert "89" in text  # the VAT on the costs is named when it is charged
    assert "14 dagen na dagtekening" not in text


def test_a_letter_for_several_invoices_lists_each_with_principal_interest_costs_and_total():
    context = sample_context()
    context["invoices"][0].update(interest="12.34", costs="270.00")
    context["invoices"][1].update(interest="5.66", costs="180.00")
    rendered = render_message(
        organisation_id=None,
        kind="demand",
        language="nl",
        context=context,
        recipient=SAMPLE_RECIPIENT,
    )
    text = " ".join(rendered.text.split())
    assert "2026-00001 01-10-2026 15-10-2026 € 1.800,00 € 12,34 € 270,00 € 2.082,34" in text
    assert "2026-00002 05-10-2026 19-10-2026 € 1.200,00 € 5,66 € 180,00 € 1.385,66" in text
    assert "Totaal te betalen € 3.000,00 € 18,00 € 450,00 € 3.468,00" in text


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<p>{{ customer.nmae }}</p>", "unknown placeholder {{ customer.nmae }}"),
        ("<p>{% if total %}open</p>", "Template error"),
        ("{% load static %}x", "Template error"),
        ('{% include "web/base.html" %}', "tag {% include %} is not allowed"),
        ("{{ total|safe }}", "filter |safe is not allowed"),
        ("{% for x in invoices %}{{ x.secret }}{% endfor %}", "invoices[].secret"),
        ("{{ settings.SECRET_KEY }}", "unknown placeholder"),
    ],
)
def test_a_template_with_unknown_placeholders_or_bad_syntax_is_refused(body, problem):
    with pytest.raises(ValidationError) as refused:
        template_validate(kind="reminder", language="nl", subject="Herinnering", body=body, sms="x")
    assert problem in str(refused.value)


def test_a_14_day_template_without_the_legal_term_is_refused():
    parts = default_parts("final_notice_14_day", "nl")
    body = parts["body"].replace(
        "binnen veertien dagen na de dag waarop deze brief bij u is bezorgd",
        "binnen 14 dagen na dagtekening",
    )
    with pytest.raises(ValidationError) as refused:
        template_validate(
            kind="final_notice_14_day", language="nl", subject="x", body=body, sms="x"
        )
    assert "veertien dagen na de dag waarop" in str(refused.value)
    no_costs = parts["body"].replace("{{ costs_if_unpaid }}", "kosten")
    with pytest.raises(ValidationError, match="costs_if_unpaid"):
        template_validate(
            kind="final_notice_14_day", language="nl", subject="x", body=no_costs, sms="x"
        )


@pytest.mark.django_db
def test_an_organisation_template_replaces_the_default_and_is_audited(organisation):
    from betaald.audit.models import Event

    message_template_save(
        organisation=organisation,
        kind="reminder",
        language="nl",
        subject="Betaalverzoek {{ invoice.number }}",
        body="<p>Beste {{ customer.name }}, graag {{ total }} naar {{ iban }}.</p>",
        actor=None,
    )
    rendered = render_message(
        organisation_id=organisation.pk,
        kind="reminder",
        language="nl",
        context=sample_context(),
        recipient=SAMPLE_RECIPIENT,
    )
    assert rendered.subject == "Betaalverzoek 2026-00001"
    assert "graag € 3.000,00 naar NL20INGB0001234567" in " ".join(rendered.text.split())
    assert MessageTemplate.objects.count() == 1
    assert Event.objects.filter(name="letters.template.saved").count() == 1
    with pytest.raises(ValidationError):
        message_template_save(
            organisation=organisation,
            kind="reminder",
            language="nl",
            subject="x",
            body="{{ oops }}",
        )


def test_bad_data_in_the_frozen_context_is_a_render_error_with_the_field():
    context = sample_context()
    context["invoices"][0]["principal"] = "12,50"
    with pytest.raises(RenderError, match=r"invoices\[0\].principal"):
        render_message(
            organisation_id=None,
            kind="reminder",
            language="nl",
            context=context,
            recipient=SAMPLE_RECIPIENT,
        )


def test_html_in_customer_data_is_escaped():
    context = sample_context()
    recipient = {**SAMPLE_RECIPIENT, "name": "<script>alert(1)</script>"}
    context["invoices"][0]["number"] = "<b>1</b>"
    rendered = render_message(
        organisation_id=None,
        kind="reminder",
        language="nl",
        context=context,
        recipient=recipient,
    )
    assert "<b>1</b>" not in rendered.html
    assert "&lt;b&gt;1&lt;/b&gt;" in rendered.html


def test_the_dunning_engines_context_with_a_costs_breakdown_and_late_fee_renders():
    context = {
        "source": "dunning",
        "date": "2026-11-30",
        "customer": {"number": "D7", "name": "Piet Puk", "kind": "consumer"},
        "invoices": [
            {
                "number": "2026-00009",
                "issued_on": "2026-10-01",
                "due_on": "2026-10-15",
                "total": "1800.00",
                "principal": "1800.00",
                "interest": "10.00",
                "late_fee": "15.00",
                "costs": "0.00",
                "payment_reference": "8000000020250417",
            },
            {
                "number": "2026-00010",
                "issued_on": "2026-10-02",
                "due_on": "2026-10-16",
                "total": "1200.00",
                "principal": "1200.00",
                "interest": "5.00",
                "late_fee": "0.00",
                "costs": "0.00",
                "payment_reference": "",
            },
        ],
        "principal": "3000.00",
        "interest": "15.00",
        "late_fee": "15.00",
        "costs": {"principal": "3000.00", "costs": "425.00", "vat": "0.00", "total": "425.00"},
        "total": "3455.00",
        "payment_reference": "8000000020250417",
        "costs_if_unpaid": {"costs": "425.00", "vat": "89.25", "total": "514.25"},
    }
    rendered = render_message(
        organisation_id=None,
        kind="final_notice_14_day",
        language="nl",
        context={**context, "sender": sample_context()["sender"]},
        recipient=SAMPLE_RECIPIENT,
    )
    text = " ".join(rendered.text.split())
    assert "2026-00009 01-10-2026 15-10-2026 € 1.800,00 € 10,00 € 15,00 € 1.825,00" in text
    assert "(over de som van de hoofdsommen) € 425,00" in text
    assert "Totaal te betalen € 3.000,00 € 15,00 € 440,00 € 3.455,00" in text
    assert "incassokosten verschuldigd van € 425,00, vermeerderd met € 89,25 btw" in text
    assert "is € 3.969,25" in text
    assert rendered.display["customer"]["number"] == "D7"
    assert rendered.payment.amount == Decimal("3455.00")
