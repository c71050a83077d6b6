"""The Celery worker's metrics: task failures and retries, served on a port of its own.

The worker answers no HTTP, so it exports on a separate bind, ``WORKER_METRICS_PORT``
(off when unset), which the compose file does not publish: only the scraper on the
deployment's network reaches it. Tasks run in the prefork pool's child processes, so the
counters need ``PROMETHEUS_MULTIPROC_DIR`` (docs/operations.md); the main process serves
what every child wrote there.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import task_failure, task_retry, worker_ready

logger = logging.getLogger(__name__)


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or "unknown")


def _on_task_failure(sender: Any = None, **kwargs: Any) -> None:
    from exchange.observability.metrics import TASK_FAILURES

    TASK_FAILURES.labels(_task_name(sender)).inc()


def _on_task_retry(sender: Any = None, **kwargs: Any) -> None:
    from exchange.observability.metrics import TASK_RETRIES

    TASK_RETRIES.labels(_task_name(sender)).inc()


def _on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    port = os.environ.get("WORKER_METRICS_PORT", "").strip()
    if not port:
        return
    from prometheus_client import start_http_server

    from exchange.observability.metrics import event_registry, multiprocess

    if not multiprocess():
        logger.warning(
            "WORKER_METRICS_PORT is set without PROMETHEUS_MULTIPROC_DIR: the pool's "
            "processes count on their own, and the port shows none of their tasks"
        )
    address = os.environ.get("WORKER_METRICS_ADDR", "0.0.0.0")
    start_http_server(int(port), addr=address, registry=event_registry())
    logger.info("worker metrics on %s:%s", address, port)


def worker_signals_connect() -> None:
    """Connect the handlers (weak=False: they are module functions, kept alive anyway)."""
    task_failure.connect(_on_task_failure, weak=False, dispatch_uid="metrics-task-failure")
    task_retry.connect(_on_task_retry, weak=False, dispatch_uid="metrics-task-retry")
    worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="metrics-worker-ready")
