"""The checks behind ``/readyz``: the database and the Celery broker, each bounded in time.

``/healthz`` runs none of them: a process that answers is alive, and an orchestrator that
restarted web servers whenever PostgreSQL blinked would turn a database failover into an
outage. Readiness is for routing traffic and for the compose healthcheck.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from kombu.connection import Connection
from redis import Redis
from redis.exceptions import RedisError

#: Seconds a readiness check may take; a probe that hangs is worse than one that fails.
CHECK_TIMEOUT = 2.0

_redis_clients: dict[str, Redis] = {}


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    #: Milliseconds the check took.
    ms: float
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"ok": self.ok, "ms": round(self.ms, 1)}
        if self.error:
            result["error"] = self.error
        return result


def _timed(probe: Any) -> Check:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"; the class names what failed
        return Check(False, (time.perf_counter() - started) * 1000, type(exc).__name__)
    return Check(True, (time.perf_counter() - started) * 1000)


def _database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # Leave no broken connection behind for the next request of this process.
        connection.close()
        raise


def _broker() -> None:
    url: str = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        client = _redis_clients.get(url)
        if client is None:
            client = Redis.from_url(
                url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
            )
            _redis_clients[url] = client
        if not client.ping():
            raise RedisError("no PONG")
        return
    if url == "filesystem://":
        # The embedded broker is a folder: ready when the worker and we can write to it.
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        if not folder.is_dir():
            raise FileNotFoundError(folder)
        return
    with Connection(url, connect_timeout=CHECK_TIMEOUT) as broker:  # type: ignore[no-untyped-call]
        broker.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)


def database_check() -> Check:
    return _timed(_database)


def broker_check() -> Check:
    return _timed(_broker)
