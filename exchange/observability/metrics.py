"""Prometheus metrics (docs/operations.md, "Metrics").

Two kinds, chosen by where the truth lives:

* **Events** (requests, their latency, objects accepted and refused, TAXII page sizes,
  worker task failures) are counters and histograms in the process that saw them. Under
  gunicorn's and Celery's several processes, prometheus-client's multiprocess mode adds them
  up: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder private to the container (compose
  mounts a tmpfs there), and every process writes its values to files in it that a scrape
  reads. Without the variable (a laptop, one process) they live in the process.
* **State** (fan-out backlog, lag, retries and dead letters per subscription) is read from
  the database at scrape time by :class:`FanoutCollector`. The database is the one record
  every process and every replica shares, so these gauges are right however many web
  servers and workers run, and after any of them restarts; a gauge kept in process memory
  would be neither.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "exposition"]

REQUESTS = Counter(
    "exchange_http_requests_total",
    "HTTP requests answered, by endpoint (the route's name, never the raw path).",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "exchange_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by endpoint.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OBJECTS = Counter(
    "exchange_objects_total",
    "Objects a member published, by outcome: accepted, present (already stored) or refused. "
    "TAXII counts stored and present objects as accepted (its status has one success count).",
    ["member", "channel", "outcome"],
)
TAXII_PAGE_BYTES = Histogram(
    "exchange_taxii_page_bytes",
    "Bytes of TAXII response bodies that list objects or versions, by endpoint.",
    ["endpoint"],
    buckets=(1024, 8192, 65536, 262144, 1048576, 4194304, 16777216),
)
TASK_FAILURES = Counter(
    "exchange_worker_task_failures_total",
    "Celery tasks that raised, by task name (a retried attempt counts in retries instead).",
    ["task"],
)
TASK_RETRIES = Counter(
    "exchange_worker_task_retries_total", "Celery tasks that asked to be retried.", ["task"]
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class FanoutCollector(Collector):
    """Per-subscription fan-out state, read from the database at each scrape.

    Four grouped queries over undelivered rows and the retained deliveries, whatever the
    number of subscriptions (they use the fan-out's own indexes).
    """

    def collect(self) -> Iterator[Metric]:
        from exchange.fanout.models import Delivery, DeliveryItem, DeliveryState, Subscription
        from exchange.fanout.selectors import subscriptions_backlog

        subscriptions = list(
            Subscription.objects.values_list("pk", "owner__name", "name", "status")
        )
        ids = [pk for pk, *_ in subscriptions]
        backlog = subscriptions_backlog(ids)
        oldest: dict[Any, Any] = {}
        for field, rows in (
            ("subscription_id", DeliveryItem.objects.filter(delivery__isnull=True)),
            (
                "delivery__subscription_id",
                DeliveryItem.objects.filter(delivery__state=DeliveryState.PENDING),
            ),
        ):
            for pk, at in rows.order_by().values_list(field).annotate(at=Min("created_at")):
                if pk not in oldest or at < oldest[pk]:
                    oldest[pk] = at
        deliveries = {
            pk: (dead, retries or 0)
            for pk, dead, retries in Delivery.objects.order_by()
            .values_list("subscription_id")
            .annotate(
                dead=Count("pk", filter=Q(state=DeliveryState.DEAD)),
                retries=Sum("attempts", filter=Q(attempts__gt=1))
                - Count("pk", filter=Q(attempts__gt=1)),
            )
        }
        now = timezone.now()
        labels = ["subscription", "member", "name"]
        families = {
            "backlog": GaugeMetricFamily(
                "exchange_fanout_backlog_objects",
                "Objects matched for a subscription and not yet delivered (dead letters excluded).",
                labels=labels,
            ),
            "lag": GaugeMetricFamily(
                "exchange_fanout_lag_seconds",
                "Age of the oldest undelivered object of a subscription (0 when none).",
                labels=labels,
            ),
            "dead": GaugeMetricFamily(
                "exchange_fanout_dead_letters",
                "Dead-lettered deliveries of a subscription (kept until replayed).",
                labels=labels,
            ),
            "retries": GaugeMetricFamily(
                "exchange_fanout_retries",
                "Attempts after the first, over a subscription's retained deliveries.",
                labels=labels,
            ),
            "paused": GaugeMetricFamily(
                "exchange_fanout_paused",
                "1 when a subscription is paused, else 0.",
                labels=labels,
            ),
        }
        for pk, member, name, status in subscriptions:
            values = [str(pk), member, name]
            at = oldest.get(pk)
            dead, retries = deliveries.get(pk, (0, 0))
            families["backlog"].add_metric(values, backlog.get(pk, 0))
            families["lag"].add_metric(values, (now - at).total_seconds() if at else 0.0)
            families["dead"].add_metric(values, dead)
            families["retries"].add_metric(values, retries)
            families["paused"].add_metric(values, 1 if status == "paused" else 0)
        yield from families.values()


class _ProcessCollector(Collector):
    """The counters and histograms of this process (no multiprocess folder)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def event_registry() -> CollectorRegistry:
    """The counters and histograms: of every process sharing the multiprocess folder, or of
    this process alone."""
    registry = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessCollector())
    return registry


def exposition() -> bytes:
    """The text format of every metric the web server exports."""
    registry = event_registry()
    registry.register(FanoutCollector())
    return generate_latest(registry)
