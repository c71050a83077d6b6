"""The fan-out gauges read at scrape time and the event counters of every process
(exchange/observability/metrics.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from exchange.fanout.models import Delivery, DeliveryItem, DeliveryState, Subscription
from exchange.fanout.services import subscription_create, subscription_pause
from exchange.observability import metrics
from members.models import Member
from signatures.models import CollectionEntry
from signatures.sdk.constants import TLP2_BY_LEVEL
from signatures.services import objects_publish
from tests import stix_samples as samples
from tests.exchange.observability.conftest import Exposition

ROOT = Path(__file__).resolve().parents[3]


def green_entries(member: Member, count: int) -> list[CollectionEntry]:
    objects = [
        samples.ip_range_indicator(
            member.identity_id,
            id=f"indicator--{uuid.uuid4()}",
            object_marking_refs=[TLP2_BY_LEVEL["green"]],
        )
        for _ in range(count)
    ]
    report = objects_publish(member=member, objects=objects)
    assert report.count("accepted") == count
    return list(CollectionEntry.objects.filter(pk__in=[e.pk for e in report.entries]))


def webhook(owner: Member, name: str) -> Subscription:
    subscription, _ = subscription_create(
        owner=owner, name=name, channel="webhook", url=f"https://hooks.example.org/{name}"
    )
    return subscription


def labels_of(subscription: Subscription) -> dict[str, str]:
    return {
        "subscription": str(subscription.pk),
        "member": subscription.owner.name,
        "name": subscription.name,
    }


@pytest.mark.django_db
def test_it_reads_fanout_backlog_lag_retries_and_dead_letters_from_the_database(
    scrape: Callable[[], Exposition], lab_a: Member
) -> None:
    subscription = webhook(lab_a, "hook")
    entries = green_entries(lab_a, 5)
    now = timezone.now()
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
    delivered = Delivery.objects.create(
        subscription=subscription, state=DeliveryState.DELIVERED, first_seq=2, object_count=1
    )
    DeliveryItem.objects.create(
        subscription=subscription,
        collection_entry=entries[1],
        seq=2,
        delivery=delivered,
        created_at=now - timedelta(days=1),
    )
    pending = Delivery.objects.create(
        subscription=subscription,
        state=DeliveryState.PENDING,
        first_seq=3,
        object_count=1,
        attempts=3,
    )
    DeliveryItem.objects.create(
        subscription=subscription,
        collection_entry=entries[2],
        seq=3,
        delivery=pending,
        created_at=now - timedelta(hours=2),
    )
    for seq, entry in enumerate(entries[3:], start=4):
        DeliveryItem.objects.create(
            subscription=subscription,
            collection_entry=entry,
            seq=seq,
            created_at=now - timedelta(hours=1),
        )

    text = scrape()
    labels = labels_of(subscription)
    # Two unbatched items and the one of the pending delivery; not the dead or delivered one.
    assert text.value("exchange_fanout_backlog_objects", **labels) == 3
    assert text.value("exchange_fanout_dead_letters", **labels) == 1
    # 9 after the dead delivery's first attempt, 2 after the pending one's.
    assert text.value("exchange_fanout_retries", **labels) == 11
    assert text.value("exchange_fanout_paused", **labels) == 0
    # The oldest undelivered item is the pending delivery's (the delivered one is older).
    lag = text.value("exchange_fanout_lag_seconds", **labels)
    assert lag is not None and 2 * 3600 <= lag < 24 * 3600


@pytest.mark.django_db
def test_it_reports_every_subscription_even_with_nothing_to_send_and_marks_the_paused(
    scrape: Callable[[], Exposition], lab_a: Member, lab_b: Member
) -> None:
    idle = webhook(lab_a, "idle")
    paused = webhook(lab_b, "paused")
    subscription_pause(subscription=paused)

    text = scrape()
    for name in ("backlog_objects", "lag_seconds", "dead_letters", "retries"):
        assert text.value(f"exchange_fanout_{name}", **labels_of(idle)) == 0
        assert text.value(f"exchange_fanout_{name}", **labels_of(paused)) == 0
    assert text.value("exchange_fanout_paused", **labels_of(idle)) == 0
    assert text.value("exchange_fanout_paused", **labels_of(paused)) == 1


@pytest.mark.django_db
def test_it_exports_the_counters_of_this_process_without_a_multiprocess_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    task = f"tests.counted-{uuid.uuid4().hex[:8]}"
    metrics.TASK_RETRIES.labels(task).inc(2)
    text = Exposition(metrics.exposition().decode())
    assert text.value("exchange_worker_task_retries_total", task=task) == 2
    assert text.value("exchange_worker_task_failures_total", task=task) is None


def python(code: str, multiproc_dir: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_it_adds_up_the_counters_every_process_wrote_to_the_multiprocess_folder(
    tmp_path: Path,
) -> None:
    count = "from exchange.observability import metrics\n" + (
        "metrics.TASK_FAILURES.labels('tests.shared').inc()\n"
    )
    python(count, tmp_path)
    python(count, tmp_path)
    served = python(
        "from prometheus_client import generate_latest\n"
        "from exchange.observability.metrics import event_registry\n"
        "print(generate_latest(event_registry()).decode())\n",
        tmp_path,
    )
    text = Exposition(served)
    assert text.value("exchange_worker_task_failures_total", task="tests.shared") == 2
    assert text.value("exchange_worker_task_retries_total", task="tests.shared") is None
