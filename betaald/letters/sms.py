"""Sending SMS: one small backend interface, chosen by the `SMS_URL` setting or environment.

- `console://` (default): prints the message; `file:///path/to/dir`: appends it to a file there.
- `messagebird://ACCESS_KEY@rest.messagebird.com`: the MessageBird (Bird) REST API,
  `POST /messages` with `Authorization: AccessKey …`; `messagebird+http://…` speaks plain HTTP
  (for a local test server).

A backend raises `SmsPermanentError` when retrying cannot help (a refused number, a bad key) and
`SmsTemporaryError` otherwise; the worker retries the latter with backoff.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
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

    def __init__(self, *, access_key: str, base_url: str) -> None:
        self.access_key = access_key
        self.base_url = base_url.rstrip("/")

    def send(self, *, to: str, text: str, originator: str, reference: str) -> SmsResult:
        payload = json.dumps(
            {
                "recipients": [normalise_msisdn(to)],
                "originator": originator,
                "body": text,
                "reference": reference,
            }
        ).encode("utf-8")
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
        )
    raise ValueError(f"SMS_URL: unknown scheme {scheme!r}; use console, file or messagebird")
