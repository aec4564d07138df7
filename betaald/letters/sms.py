"""Sending SMS: one small backend interface, chosen by the `SMS_URL` setting or environment.

- `console://` (default): prints the message; `file:///path/to/dir`: appends it to a file there.
- `messagebird://ACCESS_KEY@rest.messagebird.com`: the MessageBird (Bird) REST API,
  `POST /messages` with `Authorization: AccessKey …`; `messagebird+http://…` speaks plain HTTP
  (for a local test server).

Delivery receipts: with `SMS_STATUS_URL` set (the public URL of the `letters:sms_status` view),
each message asks MessageBird to report its status there (`reportUrl`). A report is trusted only
when its `MessageBird-Signature` (HMAC-SHA256 with `SMS_SIGNING_KEY` over the request timestamp,
the URL and the SHA-256 of the body) is valid and its timestamp within five minutes.

A backend raises `SmsPermanentError` when retrying cannot help (a refused number, a bad key) and
`SmsTemporaryError` otherwise; the worker retries the latter with backoff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from django.conf import settings

SMS_TIMEOUT_SECONDS = 15


class SmsError(Exception):
    pass


class SmsPermanentError(SmsError):
    pass


class SmsTemporaryError(SmsError):
    pass


@dataclass(frozen=True, slots=True)
class SmsResult:
    provider_id: str
    response: str


class SmsBackend(Protocol):
    def send(self, *, to: str, text: str, originator: str, reference: str) -> SmsResult: ...


def normalise_msisdn(phone: str) -> str:
    """A phone number in international digits: `06 1234 5678` → `31612345678`."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if digits.startswith("+"):
        return digits[1:]
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return "31" + digits[1:]
    return digits


def originator_for(name: str) -> str:
    """An alphanumeric sender: at most 11 letters and digits."""
    cleaned = "".join(ch for ch in name if ch.isalnum())
    return cleaned[:11] or "betaald"


class ConsoleSmsBackend:
    def __init__(self, path: str = "") -> None:
        self.path = path

    def send(self, *, to: str, text: str, originator: str, reference: str) -> SmsResult:
        line = json.dumps(
            {"to": to, "originator": originator, "reference": reference, "text": text},
            ensure_ascii=False,
        )
        if self.path:
            directory = Path(self.path)
            directory.mkdir(parents=True, exist_ok=True)
            with (directory / "sms.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
            return SmsResult(provider_id=f"file:{reference}", response="written to file")
        sys.stdout.write(line + "\n")
        return SmsResult(provider_id=f"console:{reference}", response="printed")


class MessageBirdSmsBackend:
    """MessageBird REST API: https://developers.messagebird.com/api/sms-messaging/."""

    def __init__(self, *, access_key: str, base_url: str, report_url: str = "") -> None:
        self.access_key = access_key
        self.base_url = base_url.rstrip("/")
        self.report_url = report_url

    def send(self, *, to: str, text: str, originator: str, reference: str) -> SmsResult:
        fields = {
            "recipients": [normalise_msisdn(to)],
            "originator": originator,
            "body": text,
            "reference": reference,
        }
        if self.report_url:
            fields["reportUrl"] = self.report_url
        payload = json.dumps(fields).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the URL comes from configuration
            f"{self.base_url}/messages",
            data=payload,
            method="POST",
            headers={
                "Authorization": f"AccessKey {self.access_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=SMS_TIMEOUT_SECONDS) as response:  # noqa: S310
                status = response.status
                body = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", "replace")
            summary = f"HTTP {error.code}: {body[:500]}"
            if error.code in (408, 429) or error.code >= 500:
                raise SmsTemporaryError(summary) from None
            raise SmsPermanentError(summary) from None
        except (urllib.error.URLError, OSError) as error:
            raise SmsTemporaryError(f"cannot reach MessageBird: {error}") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise SmsTemporaryError(f"HTTP {status}: not JSON: {body[:200]}") from None
        provider_id = str(data.get("id", ""))
        if not provider_id:
            raise SmsTemporaryError(f"HTTP {status}: no message id in {body[:200]}")
        return SmsResult(provider_id=provider_id, response=f"HTTP {status}: {body[:500]}")


def sms_backend(url: str | None = None) -> SmsBackend:
    url = url or getattr(settings, "SMS_URL", None) or os.environ.get("SMS_URL", "console://")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return ConsoleSmsBackend()
    if scheme == "file":
        return ConsoleSmsBackend(unquote(parts.path))
    if scheme in ("messagebird", "messagebird+http"):
        protocol = "http" if scheme.endswith("+http") else "https"
        host = parts.hostname or "rest.messagebird.com"
        port = f":{parts.port}" if parts.port else ""
        return MessageBirdSmsBackend(
            access_key=unquote(parts.username or ""),
            base_url=f"{protocol}://{host}{port}{parts.path}",
            report_url=_setting("SMS_STATUS_URL"),
        )
    raise ValueError(f"SMS_URL: unknown scheme {scheme!r}; use console, file or messagebird")


# --- delivery receipts ---------------------------------------------------------------------------

SIGNATURE_TOLERANCE_SECONDS = 300
# MessageBird's SMS statuses: scheduled, sent, buffered (on the way), delivered, expired and
# delivery_failed (final).
DELIVERED_STATUSES = frozenset({"delivered"})
FAILED_STATUSES = frozenset({"delivery_failed", "expired"})


def _setting(name: str) -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, ""))


def sms_signing_key() -> str:
    """The key MessageBird signs its webhooks with (its dashboard: Developers → signing key)."""
    return _setting("SMS_SIGNING_KEY")


def messagebird_signature(*, key: str, timestamp: str, url: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 over `timestamp \n url \n sha256(body)` (the raw digest), as sent
    in the `MessageBird-Signature` header."""
    payload = b"\n".join(
        [timestamp.encode("utf-8"), url.encode("utf-8"), hashlib.sha256(body).digest()]
    )
    mac = hmac.new(key.encode("utf-8"), payload, hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def messagebird_signature_valid(
    *, key: str, signature: str, timestamp: str, url: str, body: bytes, now: int
) -> bool:
    """A report is genuine if signed with our key, and fresh (a replayed old report is not)."""
    if not key or not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = messagebird_signature(key=key, timestamp=timestamp, url=url, body=body)
    return hmac.compare_digest(expected, signature.strip())


@dataclass(frozen=True, slots=True)
class SmsStatusReport:
    provider_id: str
    reference: str
    status: str  # "delivered", "failed" or "pending"
    reason: str


def messagebird_status_report(fields: Mapping[str, str]) -> SmsStatusReport | None:
    """From MessageBird's status report fields (query string or form: id, reference, recipient,
    status, statusReason, statusErrorCode, statusDatetime) what happened; None without an id."""
    provider_id = str(fields.get("id", "")).strip()
    if not provider_id:
        return None
    raw = str(fields.get("status", "")).strip().lower()
    status = (
        "delivered"
        if raw in DELIVERED_STATUSES
        else "failed"
        if raw in FAILED_STATUSES
        else "pending"
    )
    details = [raw or "no status"]
    for name in ("statusReason", "statusErrorCode", "statusDatetime"):
        value = str(fields.get(name, "")).strip()
        if value:
            details.append(f"{name}={value}")
    return SmsStatusReport(
        provider_id=provider_id,
        reference=str(fields.get("reference", "")).strip(),
        status=status,
        reason=" ".join(details)[:500],
    )
