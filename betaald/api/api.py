"""The REST API, /api/v1/ (django-ninja, OpenAPI at /api/v1/docs and /api/v1/openapi.json).

Errors use one format, RFC 9457 problem+json: `{"type", "title", "status", "detail",
"errors": [{"field", "message"}]}`, mapped from `DomainError` and from validation errors.
Routers of the apps are added here.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
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


@api.exception_handler(DjangoValidationError)
def django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    errors: list[dict[str, Any]]
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": None if field == "__all__" else field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": None, "message": message} for message in exc.messages]
    detail = "; ".join(
        f"{e['field']}: {e['message']}" if e["field"] else str(e["message"]) for e in errors
    )
    response = problem(request, 422, "Invalid input", detail, errors)
    response["Content-Type"] = PROBLEM
    return response


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    response = problem(request, 403, "Forbidden", str(exc) or "forbidden", [])
    response["Content-Type"] = PROBLEM
    return response


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    response = problem(request, 404, "Not found", "no such object in your organisation", [])
    response["Content-Type"] = PROBLEM
    return response


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(request, 401, "Unauthorized", "log in or send a valid API token", [])
    response["Content-Type"] = PROBLEM
    return response


api.add_router("/calc/", "betaald.calculator.api.router")
api.add_router("/bank/", "betaald.bank.api.router")
api.add_router("/", "betaald.handover.api.router")
api.add_router("/", "betaald.api.ledger.router")
