"""One error envelope for the whole exchange: the TAXII 2.1 error message (section 3.6.1).

Every API error, REST or TAXII, is an object with ``title``, ``description``,
``http_status`` (a string, as TAXII 2.1 specifies) and ``error_code``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Request entity too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


def error_body(status: int, description: str, code: str) -> dict[str, Any]:
    return {
        "title": TITLES.get(status, "Error"),
        "description": description,
        "http_status": str(status),
        "error_code": code,
    }


def _describe(detail: Any) -> str:
    if isinstance(detail, list):
        return " ".join(_describe(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_describe(value)}" for key, value in detail.items())
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, exceptions.UnsupportedMediaType) and context.get("view") is not None:
        # Say what the endpoint takes: a client that sent STIX's or TAXII's media type to the
        # REST API (or JSON to TAXII) learns what to send instead.
        taken = ", ".join(parser.media_type for parser in context["view"].get_parsers())
        exc = exceptions.UnsupportedMediaType(
            "", detail=f"{exc.detail} This endpoint takes: {taken}."
        )
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = exc.get_codes()
    response.data = error_body(
        response.status_code,
        _describe(exc.detail),
        code if isinstance(code, str) else "invalid",
    )
    return response
