"""The project's URLs plus views whose database connection is dropped while they run.

``/api/v1/drill/objects/`` has PostgreSQL terminate the request's own connection (as a failover
does, from the server's side), then hands the request to the real view, whose first
query meets the dead connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponseBase
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from exchange.api.objects import ObjectListView
from exchange.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def terminate_own_connection() -> None:
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    # A second connection does the killing, as the failing-over server would.
    from psycopg import connect

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def dropping(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @csrf_exempt
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        terminate_own_connection()
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    path("api/v1/drill/objects/", dropping(ObjectListView.as_view()), name="drill-objects"),
    *urlpatterns,
]
