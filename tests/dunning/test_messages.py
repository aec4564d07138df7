"""The frozen context of dunning messages renders with the communications renderer (the
contract between the two parts): amounts and the 14-dagenbrief's exact costs and term."""

from __future__ import annotations

from datetime import timedelta

import pytest

from betaald.letters.models import Message
from betaald.letters.rendering import render_message

from .conftest import invoice_for, run_days


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_consumer_dunning_message_renders(consumer, language):
    consumer.language = language
    consumer.save()
    invoice = invoice_for(consumer, amount="1000.00")
    run_days(invoice.due_on, invoice.due_on + timedelta(days=45))
    messages = list(Message.objects.filter(customer=consumer).order_by("pk"))
    assert {m.kind for m in messages} == {
        "reminder",
        "second_reminder",
        "final_notice_14_day",
        "final_notice",
    }
    for message in messages:
        rendered = render_message(
            organisation_id=message.organisation_id,
            kind=message.kind,
            language=message.language,
            context=message.context,
            recipient=message.recipient,
        )
        assert invoice.number in rendered.text
        if message.kind == "final_notice_14_day":
            # BIK on 1210.00: 15 % = 181.50, stated in euros (art. 6:96 lid 6 BW)
            assert "181,50" in rendered.text or "181.50" in rendered.text
            phrase = {
                "nl": "veertien dagen na de dag waarop deze brief bij u is bezorgd",
                "en": "within 14 days after the day of receipt of this letter",
            }[language]
            assert phrase in rendered.text.replace("\n", " ")
