"""``/healthz``, ``/readyz`` and ``/metrics`` (docs/operations.md).

:class:`exchange.observability.middleware.ProbeMiddleware` answers these paths before any
other middleware: a probe from inside the container (``Host: 127.0.0.1``, plain HTTP) is
then neither refused by ``ALLOWED_HOSTS`` nor redirected to HTTPS, and costs no session,
throttle or signature.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from exchange.observability.health import broker_check, database_check
from exchange.observability.metrics import CONTENT_TYPE_LATEST, exposition


def _json(body: dict[str, Any], status: int = 200) -> HttpResponse:
    response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches neither the database nor the broker."""
    return _json({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database answers a query and the Celery broker accepts a connection."""
    checks = {"database": database_check(), "broker": broker_check()}
    ready = all(check.ok for check in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: check.as_dict() for name, check in checks.items()},
    }
    response = _json(body, 200 if ready else 503)
    if not ready:
        response["Retry-After"] = "5"
    return response


def _token_matches(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        presented.strip().encode(), token.encode()
    )


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for a scraper holding ``METRICS_TOKEN`` as a bearer token.

    Without a configured token the path does not exist (404): metrics name members and
    subscriptions, which the exchange shows nobody by default. A wrong or missing token is
    answered 401, the same whatever the token's prefix (constant-time comparison).
    """
    token: str = settings.METRICS_TOKEN
    if not token:
        return _json({"status": "not found"}, 404)
    if not _token_matches(request, token):
        response = _json({"status": "unauthorized"}, 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
