from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# Sections of other apps shown in the main navigation when their index page exists.
SECTIONS = (
    ("dunning", _("Dunning")),
    ("letters", _("Outbox")),
    ("plans", _("Arrangements")),
    ("handover", _("Collection")),
    ("bank", _("Bank")),
    ("calculator", _("Calculator")),
)
INDEX_NAMES = ("index", "home", "list", "overview", "calculator")


def _section_url(namespace: str) -> str | None:
    for name in INDEX_NAMES:
        try:
            return reverse(f"{namespace}:{name}")
        except NoReverseMatch:
            continue
    return None


def organisation(request: HttpRequest) -> dict[str, Any]:
    extra_nav = []
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        for namespace, label in SECTIONS:
            url = _section_url(namespace)
            if url is not None:
                extra_nav.append({"namespace": namespace, "label": label, "url": url})
    return {
        "organisation": getattr(request, "organisation", None),
        "membership": getattr(request, "membership", None),
        "extra_nav": extra_nav,
    }
