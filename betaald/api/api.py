"""The REST API, /api/v1/ (django-ninja, OpenAPI at /api/v1/docs and /api/v1/openapi.json).

Errors use one format, RFC 9457 problem+json: `{"type", "title", "status", "detail",
"errors": [{"field", "message"}]}`, mapped from `DomainError` and from validation errors.
Routers of the apps are added here.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from betaald.core.errors import DomainError

api = NinjaAPI(
    title="betaald API",
    version="1",
    urls_namespace="api-v1",
    description="Credit control and debt collection under Dutch law.",
)

PROBLEM = "application/problem+json"


def problem(
    request: HttpRequest, status: int, title: str, detail: str, errors: list[dict[str, Any]]
) -> HttpResponse:
    return api.create_response(
        request,
        {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "errors": errors,
        },
        status=status,
    )


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = problem(
        request, 422, "Invalid input", str(exc), [{"field": exc.field, "message": exc.message}]
    )
    response["Content-Type"] = PROBLEM
    return response


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": ".".join(str(part) for part in error.get("loc", [])[1:]) or None,
            "message": error.get("msg", "invalid"),
        }
        for error in exc.errors
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    response = problem(request, 422, "Invalid input", detail, errors)
    response["Content-Type"] = PROBLEM
    return response


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(request, 401, "Unauthorized", "log in or send a valid API token", [])
    response["Content-Type"] = PROBLEM
    return response


api.add_router("/calc/", "betaald.calculator.api.router")
