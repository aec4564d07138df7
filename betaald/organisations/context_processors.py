from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def organisation(request: HttpRequest) -> dict[str, Any]:
    return {
        "organisation": getattr(request, "organisation", None),
        "membership": getattr(request, "membership", None),
    }
