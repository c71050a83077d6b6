"""Probes, request logs and metrics, and the answer to a dropped database connection.

``MIDDLEWARE`` order (exchange/settings.py): :class:`ProbeMiddleware` first, then
:class:`RequestLogMiddleware`, so that a request's duration covers every other middleware;
:class:`DatabaseUnavailableMiddleware` only has ``process_exception``, which Django calls
for any exception a view raises, wherever the class sits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import ResolverMatch
from django.utils.functional import LazyObject, empty

from exchange.api.exceptions import error_body
from exchange.observability import metrics
from exchange.observability.views import healthz, readyz
from exchange.observability.views import metrics as metrics_view
from exchange.taxii.media import TAXII_MEDIA_TYPE
from members.models import Member

logger = logging.getLogger("exchange.request")

Handler = Callable[[HttpRequest], HttpResponseBase]

_PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics_view,
}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Publish endpoints, by route name, and the channel their objects are counted under.
_PUBLISH = {"object-list": "rest", "taxii-objects": "taxii"}
#: TAXII endpoints whose body is a page of objects (or of manifests or versions).
_TAXII_PAGES = frozenset(
    {"taxii-objects", "taxii-manifest", "taxii-object", "taxii-object-versions"}
)
#: Seconds a client is asked to wait after the database dropped its connection: a failover
#: takes seconds, and the next request gets a fresh, health-checked connection.
DATABASE_RETRY_AFTER = 1


class ProbeMiddleware:
    """Answers ``/healthz``, ``/readyz`` and ``/metrics`` ahead of every other middleware."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        view = _PROBES.get(request.path_info.rstrip("/") or "/")
        if view is None:
            return self.get_response(request)
        if request.method not in {"GET", "HEAD"}:
            response = HttpResponse(status=405)
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)


def endpoint_of(match: ResolverMatch | None) -> str:
    """The route's name (``taxii-objects``), or its pattern when unnamed: never the raw path,
    whose ids and typos would make one time series per request."""
    if match is None:
        return "unmatched"
    if match.url_name:
        return match.view_name
    return match.route or "unmatched"


def _caller(request: HttpRequest) -> tuple[str | None, str | None]:
    """(member, console user) that authenticated, without loading a session to find out."""
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        wrapped = user._wrapped
        user = None if wrapped is empty else wrapped
    if isinstance(user, Member):
        return user.name, None
    if user is not None and getattr(user, "is_authenticated", False):
        return None, str(user.get_username())
    return None, None


class RequestLogMiddleware:
    """One log line and the request metrics per request.

    The line holds the method, the endpoint's name, the path without its query string, the
    status, the duration, and who made it (the member, or the console user). Never a header,
    a query string or a body: credentials travel in the ``Authorization`` header (and could
    in a query string), and none of them may reach a log.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        duration = time.perf_counter() - started
        endpoint = endpoint_of(request.resolver_match)
        method = request.method if request.method in _METHODS else "other"
        member, user = _caller(request)
        status = response.status_code

        metrics.REQUESTS.labels(endpoint, method, str(status)).inc()
        metrics.LATENCY.labels(endpoint, method).observe(duration)
        streaming = isinstance(response, StreamingHttpResponse) or response.streaming
        if member and method == "POST" and endpoint in _PUBLISH:
            _count_objects(member, _PUBLISH[endpoint], getattr(response, "data", None))
        if method == "GET" and status == 200 and endpoint in _TAXII_PAGES and not streaming:
            metrics.TAXII_PAGE_BYTES.labels(endpoint).observe(len(response.content))  # type: ignore[attr-defined]

        fields: dict[str, Any] = {
            "method": request.method,
            "endpoint": endpoint,
            "path": request.path,
            "status": status,
            "duration_ms": round(duration * 1000, 1),
            "member": member,
        }
        if user is not None:
            fields["user"] = user
        logger.info(
            "%s %s %s %.1fms member=%s",
            request.method,
            endpoint,
            status,
            duration * 1000,
            member or "-",
            extra={"request_fields": fields},
        )
        return response


def _count_objects(member: str, channel: str, data: Any) -> None:
    """Objects accepted and refused, from the publish answer (REST report or TAXII status)."""
    if not isinstance(data, dict):
        return
    if channel == "rest":
        counts = {outcome: data.get(outcome) for outcome in ("accepted", "present", "refused")}
    else:
        # A pending (asynchronous) TAXII status is counted by nobody yet: its objects are
        # stored by a worker later, and show in the fan-out and the collection instead.
        counts = {"accepted": data.get("success_count"), "refused": data.get("failure_count")}
    for outcome, count in counts.items():
        if isinstance(count, int) and count > 0:
            metrics.OBJECTS.labels(member, channel, outcome).inc(count)


class DatabaseUnavailableMiddleware:
    """A request whose database connection dropped is answered 503 with ``Retry-After``.

    Between requests, ``CONN_HEALTH_CHECKS`` replaces a dead persistent connection before
    it is used, so a failover costs the next request one ``SELECT 1``. Inside a request,
    the work already done is in an unknown state (a publish's transaction may or may not
    have committed): the exchange does not replay it but asks the client to, which is safe
    because publishing is idempotent (a stored ``(id, modified)`` answers ``present``) and
    every read is. The broken connection is closed at once, so the retried request gets a
    fresh one. The answer is the error envelope of the endpoint.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable during %s %s: %s",
            request.method,
            endpoint_of(request.resolver_match),
            type(exception.__cause__ or exception).__name__,
        )
        # Closed now rather than when the response is finished, which a test client or an
        # async server may not announce: the retried request must not meet it again.
        for alias in connections:
            if not connections[alias].in_atomic_block:
                connections[alias].close_if_unusable_or_obsolete()
        first = request.path_info.lstrip("/").split("/", 1)[0]
        if first == "taxii2" or first in settings.TAXII_API_ROOTS:
            content_type = TAXII_MEDIA_TYPE
        elif first == "api":
            content_type = "application/json"
        else:
            content_type = "text/plain"
        description = (
            "The database connection was lost while answering; "
            f"retry in {DATABASE_RETRY_AFTER} s (publishing the same objects again is safe)."
        )
        if content_type == "text/plain":
            body = description.encode()
        else:
            envelope = error_body(503, description, "database_unavailable")
            envelope["title"] = "Service unavailable"
            envelope["details"] = {"retry_after": DATABASE_RETRY_AFTER}
            body = orjson.dumps(envelope)
        response = HttpResponse(body, status=503, content_type=content_type)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
