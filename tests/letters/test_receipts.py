"""Delivery receipts: the SMS provider's signed status report and the mail server's DSN."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import pytest

from betaald.audit.models import Event
from betaald.letters.delivery import dsn_record, message_deliver_now, sms_status_record
from betaald.letters.models import Channel, Message, MessageStatus, SendIssue
from betaald.letters.services import message_queue
from betaald.letters.sms import (
    messagebird_signature,
    messagebird_signature_valid,
    messagebird_status_report,
)
from tests.letters.conftest import make_customer
from tests.letters.test_email import dsn_for
from tests.letters.test_worker import messagebird, reminder_context  # noqa: F401 - a fixture

NOW = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
KEY = "signing-key-for-tests"
PROVIDER_ID = "e8077d803532c0b5937c639b60216938"


def queue_sms(organisation, key: str, fallback: tuple[str, ...] = ()) -> Message:
    customer = make_customer(organisation, key, phone="06 1234 5678")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel=Channel.SMS,
        context=reminder_context(),
        unique_key=key,
        fallback_channels=list(fallback),
    )
    return message


def signed_report(url: str, fields: dict[str, str], *, key: str = KEY, age: int = 0):
    """What MessageBird sends: the status in the query string, signed over the full URL."""
    full = f"{url}?{urllib.parse.urlencode(fields)}"
    timestamp = str(int(time.time()) - age)
    signature = messagebird_signature(key=key, timestamp=timestamp, url=full, body=b"")
    return full, {
        "MessageBird-Signature": signature,
        "MessageBird-Request-Timestamp": timestamp,
    }


def post(url: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_signature_is_messagebirds_hmac_over_timestamp_url_and_body_hash():
    # Bird's documented construction: base64(HMAC-SHA256(key, ts "\n" url "\n" sha256(body))).
    import base64
    import hashlib
    import hmac

    body = b'{"id":"x"}'
    payload = b"1719823259\nhttps://example.nl/hook\n" + hashlib.sha256(body).digest()
    expected = base64.b64encode(hmac.new(b"k", payload, hashlib.sha256).digest()).decode()
    made = messagebird_signature(
        key="k", timestamp="1719823259", url="https://example.nl/hook", body=body
    )
    assert made == expected
    valid = {"key": "k", "url": "https://example.nl/hook", "body": body}
    assert messagebird_signature_valid(
        signature=made, timestamp="1719823259", now=1719823259 + 10, **valid
    )
    assert not messagebird_signature_valid(
        signature=made, timestamp="1719823259", now=1719823259 + 301, **valid
    )
    assert not messagebird_signature_valid(
        signature=made, timestamp="1719823259", now=1719823259, **{**valid, "body": b"{}"}
    )
    assert not messagebird_signature_valid(
        signature=made, timestamp="1719823259", now=1719823259, **{**valid, "key": ""}
    )


@pytest.mark.parametrize(
    ("status", "meaning"),
    [
        ("delivered", "delivered"),
        ("delivery_failed", "failed"),
        ("expired", "failed"),
        ("sent", "pending"),
        ("buffered", "pending"),
    ],
)
def test_messagebird_statuses_are_read(status, meaning):
    report = messagebird_status_report(
        {"id": "abc", "reference": "7", "status": status, "statusErrorCode": "5"}
    )
    assert report is not None
    assert report.status == meaning
    assert status in report.reason
    assert messagebird_status_report({"status": "delivered"}) is None


@pytest.mark.django_db
def test_a_delivered_receipt_marks_the_sms_delivered_once(messagebird, organisation, media):  # noqa: F811
    message = queue_sms(organisation, "R1")
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    report = messagebird_status_report({"id": PROVIDER_ID, "status": "delivered"})
    assert sms_status_record(report) == "delivered"
    assert sms_status_record(report) == "ignored"
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert "delivered: delivered" in message.smtp_response
    assert Event.objects.filter(name="letters.message.delivered").count() == 1
    unknown = messagebird_status_report({"id": "nope", "status": "delivered"})
    assert sms_status_record(unknown) == "unknown"


@pytest.mark.django_db
def test_a_failed_receipt_falls_back_to_the_next_channel(messagebird, organisation, media):  # noqa: F811
    message = queue_sms(organisation, "R2", fallback=(Channel.LETTER,))
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    report = messagebird_status_report(
        {"id": PROVIDER_ID, "status": "delivery_failed", "statusReason": "unknown subscriber"}
    )
    assert sms_status_record(report, now=NOW) == "fallback"
    message.refresh_from_db()
    assert message.channel == Channel.LETTER
    assert message.status == MessageStatus.QUEUED
    assert "unknown subscriber" in message.failure_reason
    assert Event.objects.filter(name="letters.message.undelivered").count() == 1
    assert Event.objects.filter(name="letters.message.fallback").count() == 1
    assert sms_status_record(report, now=NOW) == "unknown"  # no longer an SMS
    assert message_deliver_now(message.pk, now=NOW) == "sent"


@pytest.mark.django_db
def test_a_failed_receipt_without_a_fallback_fails_with_a_task(messagebird, organisation, media):  # noqa: F811
    message = queue_sms(organisation, "R3")
    message_deliver_now(message.pk, now=NOW)
    report = messagebird_status_report({"id": PROVIDER_ID, "status": "expired"})
    assert sms_status_record(report, now=NOW) == "failed"
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "not delivered: expired" in message.failure_reason
    assert SendIssue.objects.get(message=message).kind == "delivery_failed"


@pytest.mark.django_db(transaction=True)
def test_the_provider_posts_a_signed_receipt_over_http(
    messagebird,  # noqa: F811
    live_server,
    settings,
    media,
):
    from tests.letters.conftest import make_organisation

    url = f"{live_server.url}/letters/webhooks/sms/status/"
    settings.SMS_SIGNING_KEY = KEY
    settings.SMS_STATUS_URL = url
    organisation = make_organisation()
    delivered = queue_sms(organisation, "H1")
    assert message_deliver_now(delivered.pk, now=NOW) == "sent"
    [request] = messagebird.requests
    assert request["body"]["reportUrl"] == url  # the provider is told where to report

    # Forged: wrong key, or replayed an hour later; and no GET/POST without a signature.
    fields = {"id": PROVIDER_ID, "reference": str(delivered.pk), "status": "delivered"}
    forged_url, forged = signed_report(url, fields, key="not-our-key")
    assert post(forged_url, forged)[0] == 403
    old_url, old = signed_report(url, fields, age=3600)
    assert post(old_url, old)[0] == 403
    assert post(url, {}, b"id=x&status=delivered")[0] == 403
    delivered.refresh_from_db()
    assert delivered.status == MessageStatus.SENT

    # Genuine, no session, no CSRF token.
    full, headers = signed_report(url, fields)
    assert post(full, headers) == (200, "delivered")
    delivered.refresh_from_db()
    assert delivered.status == MessageStatus.DELIVERED
    event = Event.objects.get(name="letters.message.delivered")
    assert event.actor_label == "sms provider"
    assert event.after["status"] == "delivered"

    # A failure report as a signed form POST: the message goes on by post.
    Message.objects.filter(pk=delivered.pk).update(fallback_channels=[Channel.LETTER])
    body = urllib.parse.urlencode({**fields, "status": "delivery_failed"}).encode()
    timestamp = str(int(time.time()))
    status, text = post(
        url,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "MessageBird-Request-Timestamp": timestamp,
            "MessageBird-Signature": messagebird_signature(
                key=KEY, timestamp=timestamp, url=url, body=body
            ),
        },
        body,
    )
    assert (status, text) == (200, "fallback")
    delivered.refresh_from_db()
    assert delivered.channel == Channel.LETTER


@pytest.mark.django_db
def test_an_email_dsn_of_success_marks_delivered_and_of_failure_bounces(
    smtp_server, media, organisation
):
    customer = make_customer(organisation, "E1")
    message, _ = message_queue(
        organisation=organisation,
        customer=customer,
        kind="reminder",
        channel="email",
        context={"total": "10.00"},
        unique_key="dsn",
    )
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    message.refresh_from_db()
    success = dsn_for(message.message_id).replace(b"Action: failed", b"Action: delivered")
    success = success.replace(b"Status: 5.1.1", b"Status: 2.0.0")
    assert dsn_record(success) == (message.message_id, "delivered")
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    delayed = dsn_for(message.message_id).replace(b"Action: failed", b"Action: delayed")
    assert dsn_record(delayed) == (message.message_id, "delayed")
    # A bounce after all (a later hop refused it): failed with the reason, a task.
    assert dsn_record(dsn_for(message.message_id), now=NOW) == (message.message_id, "failed")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "550 5.1.1 mailbox unavailable" in message.failure_reason
    assert SendIssue.objects.filter(message=message).count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_message_page_shows_the_delivered_sms_and_its_history(
    messagebird,  # noqa: F811
    live_server,
    page,
    screenshot,
    media,
):
    from betaald.organisations.models import Role
    from tests.factories import MembershipFactory

    member = MembershipFactory(role=Role.CREDIT_CONTROLLER, user__username="sms-reader")
    message = queue_sms(member.organisation, "B1")
    assert message_deliver_now(message.pk, now=NOW) == "sent"
    report = messagebird_status_report({"id": PROVIDER_ID, "status": "delivered"})
    assert sms_status_record(report) == "delivered"
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "sms-reader")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/letters/messages/{message.pk}/")
    from django.utils import translation

    with translation.override("nl"):
        delivered = str(MessageStatus.DELIVERED.label)
    assert delivered != "Delivered"
    assert page.locator("h1 .badge").inner_text() == delivered
    content = page.content()
    assert "delivered: delivered" in content
    assert "sms provider" in content  # who reported it, in the history
    screenshot("letters-sms-delivered")
