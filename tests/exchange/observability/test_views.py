"""/healthz, /readyz and /metrics (exchange/observability/views.py)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from exchange.fanout.models import Delivery, DeliveryItem, DeliveryState
from exchange.fanout.services import subscription_create
from members.models import Member
from signatures.models import CollectionEntry
from signatures.sdk.constants import TLP2_BY_LEVEL
from tests import stix_samples as samples

TOKEN = "scrape-" + "x" * 40


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_it_answers_healthz_without_touching_the_database() -> None:
    # No django_db mark: any query would raise.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_it_answers_probes_for_hosts_outside_allowed_hosts_and_without_https_redirect(
    settings: Any,
) -> None:
    settings.ALLOWED_HOSTS = ["exchange.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200


@pytest.mark.django_db
def test_it_reports_ready_when_the_database_and_broker_answer() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_it_reports_not_ready_when_the_broker_is_unreachable(settings: Any) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"] == {
        "ok": False,
        "ms": body["checks"]["broker"]["ms"],
        "error": "ConnectionError",
    }


def test_it_hides_metrics_when_no_token_is_configured(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_it_refuses_metrics_without_the_token(settings: Any, header: str | None) -> None:
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"exchange_" not in response.content


def scrape() -> str:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def sample(text: str, metric_name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition, or None when it is absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(metric_name):
            continue
        metric, _, value = line.rpartition(" ")
        head, _, rest = metric.partition("{")
        if head != metric_name:
            continue
        present = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if present == wanted:
            return float(value)
    return None


@pytest.mark.django_db
def test_it_counts_requests_by_route_name_and_objects_by_member(
    settings: Any, lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    settings.METRICS_TOKEN = TOKEN
    before = scrape()
    client = client_for(lab_a, "read", "publish")
    good = samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}")
    bad = {"type": "indicator", "id": "indicator--not-a-uuid", "spec_version": "2.1"}
    response = client.post("/api/v1/objects/", samples.bundle(good, bad), format="json")
    assert response.status_code == 207, response.content
    assert client.get("/api/v1/objects/does-not-exist/").status_code == 404
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert grew("exchange_objects_total", member="lab-a", channel="rest", outcome="accepted") == 1
    assert grew("exchange_objects_total", member="lab-a", channel="rest", outcome="refused") == 1
    assert (
        grew("exchange_http_requests_total", endpoint="object-list", method="POST", status="207")
        == 1
    )
    assert (
        grew("exchange_http_requests_total", endpoint="object-detail", method="GET", status="404")
        == 1
    )
    assert "does-not-exist" not in after
    assert (
        grew("exchange_http_request_duration_seconds_count", endpoint="object-list", method="POST")
        == 1
    )


@pytest.mark.django_db
def test_it_measures_taxii_pages_in_bytes(
    settings: Any, lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    from signatures.selectors import collection_default

    settings.METRICS_TOKEN = TOKEN
    before = sample(scrape(), "exchange_taxii_page_bytes_count", endpoint="taxii-objects") or 0
    collection = collection_default()
    response = client_for(lab_a, "read").get(
        f"/feed/collections/{collection.id}/objects/",
        HTTP_ACCEPT="application/taxii+json;version=2.1",
    )
    assert response.status_code == 200, response.content
    after = scrape()
    assert sample(after, "exchange_taxii_page_bytes_count", endpoint="taxii-objects") == before + 1
    assert (sample(after, "exchange_taxii_page_bytes_sum", endpoint="taxii-objects") or 0) >= len(
        response.content
    )


@pytest.mark.django_db
def test_it_reads_fanout_backlog_lag_and_dead_letters_from_the_database(
    settings: Any, lab_a: Member
) -> None:
    from signatures.services import objects_publish

    settings.METRICS_TOKEN = TOKEN
    subscription, _ = subscription_create(
        owner=lab_a, name="hook", channel="webhook", url="https://hooks.example.org/in"
    )
    objects = [
        samples.ip_range_indicator(
            lab_a.identity_id,
            id=f"indicator--{uuid.uuid4()}",
            object_marking_refs=[TLP2_BY_LEVEL["green"]],
        )
        for _ in range(3)
    ]
    report = objects_publish(member=lab_a, objects=objects)
    assert report.count("accepted") == 3
    entries = list(CollectionEntry.objects.filter(pk__in=[e.pk for e in report.entries]))
    hour_ago = timezone.now() - timedelta(hours=1)
    dead = Delivery.objects.create(
        subscription=subscription,
        state=DeliveryState.DEAD,
        first_seq=1,
        object_count=1,
        attempts=10,
    )
    DeliveryItem.objects.create(
        subscription=subscription, collection_entry=entries[0], seq=1, delivery=dead
    )
    for seq, entry in enumerate(entries[1:], start=2):
        DeliveryItem.objects.create(
            subscription=subscription, collection_entry=entry, seq=seq, created_at=hour_ago
        )

    text = scrape()
    labels = {"subscription": str(subscription.pk), "member": "lab-a", "name": "hook"}
    assert sample(text, "exchange_fanout_backlog_objects", **labels) == 2
    assert sample(text, "exchange_fanout_dead_letters", **labels) == 1
    assert sample(text, "exchange_fanout_retries", **labels) == 9
    assert sample(text, "exchange_fanout_paused", **labels) == 0
    lag = sample(text, "exchange_fanout_lag_seconds", **labels)
    assert lag is not None and lag >= 3600
