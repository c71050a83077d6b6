"""Django's error views (handler400/403/404/500) for requests DRF does not answer itself.

Under ``/taxii2/``, an API root and ``/api/``, every answer is the error envelope
(:func:`exchange.api.exceptions.error_body`), in the TAXII media type on TAXII paths and
``application/json`` elsewhere, never Django's HTML page: an exception no view handled
(500), a path no route matches (404), a request Django itself refuses as suspicious, such
as more than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` query parameters (400). Other paths answer
the envelope too when the client accepts JSON (a mistyped API root). The description is
fixed: the exception's text goes to the log, never to the client. The console and the
admin keep Django's HTML pages.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from exchange.api.exceptions import error_body
from exchange.taxii.media import TAXII_MEDIA_TYPE


def _media_type(request: HttpRequest) -> str | None:
    """The media type of errors on this path, or None where the HTML page stays."""
    first = request.path_info.lstrip("/").split("/", 1)[0]
    if first == "taxii2" or first in settings.TAXII_API_ROOTS:
        return TAXII_MEDIA_TYPE
    if first == "api":
        return "application/json"
    # Elsewhere (a mistyped API root, any other path) a client that asked for JSON gets
    # the envelope it can parse; a browser keeps the HTML page.
    accept = request.headers.get("Accept", "")
    if "application/taxii+json" in accept:
        return TAXII_MEDIA_TYPE
    if "json" in accept:
        return "application/json"
    return None


def _answer(
    request: HttpRequest,
    status: int,
    description: str,
    code: str,
    html: Callable[[], HttpResponse],
) -> HttpResponse:
    media_type = _media_type(request)
    if media_type is None:
        return html()
    return HttpResponse(
        orjson.dumps(error_body(status, description, code)), status=status, content_type=media_type
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(
        request,
        400,
        "The request was refused as malformed.",
        "bad_request",
        lambda: defaults.bad_request(request, exception),
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(
        request,
        403,
        "You may not do this.",
        "permission_denied",
        lambda: defaults.permission_denied(request, exception),
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(
        request,
        404,
        "No endpoint at this path.",
        "not_found",
        lambda: defaults.page_not_found(request, exception),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _answer(
        request,
        500,
        "The server failed to answer this request; the failure is logged.",
        "server_error",
        lambda: defaults.server_error(request),
    )


@csrf_exempt  # a mistyped POST gets the 404 too, not a CSRF page
def api_not_found(request: HttpRequest) -> HttpResponse:
    """A path under ``/api/`` that no REST endpoint answers (otherwise taken for an API root)."""
    description = (
        f"The REST API has no endpoint at {request.path}. Its endpoints are under /api/v1/ "
        "(objects/, members/me/, jwks.json, subscriptions/), listed at /api/docs/; TAXII 2.1 "
        "starts at /taxii2/."
    )
    if not request.path_info.endswith("/"):
        match = resolve(request.path_info + "/")
        if match.func is not api_not_found:
            description = f"The REST API's paths end with '/': {request.path}/"
    return HttpResponse(
        orjson.dumps(error_body(404, description, "not_found")),
        status=404,
        content_type="application/json",
    )
