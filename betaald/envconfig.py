"""Settings read from environment variables (twelve-factor): DATABASE_URL, EMAIL_URL, ..."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in TRUE_WORDS


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def email_settings(url: str) -> dict[str, Any]:
    """Translate an EMAIL_URL into Django email settings.

    smtp://user:password@host:587?tls=1 , smtps://user:password@host:465 ,
    console:// , locmem:// , file:///path/to/dir , dummy://
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    backends = {
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtps": "django.core.mail.backends.smtp.EmailBackend",
    }
    if scheme not in backends:
        raise ValueError(
            f"EMAIL_URL: unknown scheme {scheme!r}; use smtp, smtps, console, file, locmem"
        )
    config: dict[str, Any] = {"EMAIL_BACKEND": backends[scheme]}
    if scheme == "file":
        config["EMAIL_FILE_PATH"] = unquote(parts.path)
    if scheme in ("smtp", "smtps"):
        query = parse_qs(parts.query)
        config.update(
            EMAIL_HOST=parts.hostname or "localhost",
            EMAIL_PORT=parts.port or (465 if scheme == "smtps" else 25),
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_SSL=scheme == "smtps",
            EMAIL_USE_TLS=query.get("tls", ["0"])[0].lower() in TRUE_WORDS,
            EMAIL_TIMEOUT=int(query.get("timeout", ["30"])[0]),
        )
    return config
