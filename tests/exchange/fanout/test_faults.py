"""Fault tests: a real worker, a real broker, real receivers; nothing lost, nothing leaked.

Each test publishes TLP:GREEN objects (for every subscriber) and TLP:RED ones (for their
publisher only) and ends by counting, per subscriber, what was delivered, duplicated,
lost and delivered without entitlement (printed, and appended to
DATA_DIR/fanout-fault-counts.jsonl).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kombu.pools
import pytest
from django.conf import settings

from exchange.celery import app
from exchange.fanout.models import DeliveryAttempt
from members.models import Member
from tests.exchange.fanout.conftest import (
    Subscriber,
    Worker,
    assert_verbatim_and_signed,
    publish_mixed,
    settle_and_count,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.live]


def test_it_loses_nothing_when_the_worker_is_killed_mid_batch(
    lab_a: Member,
    subscribers: Callable[..., list[Subscriber]],
    start_worker: Callable[..., Worker],
) -> None:
    """Proves: SIGKILL of the whole worker (pool and beat) while deliveries are in flight
    loses nothing. The killed sender's lease expires, the heartbeat of a new worker re-queues
    the subscription, and the unfinished delivery is sent again under the same id."""
    slow = subscribers(lambda n: (200, {}, 0.3), max_batch=4)
    worker = start_worker()
    published = publish_mixed(lab_a, slow, rounds=4, per_round=8)
    wait_until(lambda: sum(len(s.receiver.requests) for s in slow) >= 3, "deliveries to start")
    worker.kill()
    in_flight = sum(len(s.receiver.requests) for s in slow)
    assert in_flight < sum(len(s.entitled) for s in slow)  # the kill was mid-fan-out
    published += publish_mixed(lab_a, slow, rounds=1, per_round=8)  # while no worker runs
    start_worker()
    settle_and_count("worker SIGKILL", slow, published)
    assert_verbatim_and_signed(slow, lab_a)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateBroker:
    """A broker this test may stop: its own redis-server on a free loopback port when the
    suite runs on Redis (the shared one is never touched), else its own folder for the
    embedded filesystem broker, "stopped" by moving the folder away."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.redis = settings.CELERY_BROKER_URL.startswith("redis://")
        self.process: subprocess.Popen[bytes] | None = None
        self.port = _free_port()
        # The worker gets its own DATA_DIR, so settings put its filesystem broker here.
        self.data_dir = root / "data"
        self.folder = self.data_dir / "broker" / "queue"
        self.folder.mkdir(parents=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0" if self.redis else "filesystem://"

    @property
    def transport_options(self) -> dict[str, Any]:
        if self.redis:
            return {}
        return {
            "data_folder_in": str(self.folder),
            "data_folder_out": str(self.folder),
            "store_processed": False,
        }

    @property
    def worker_env(self) -> dict[str, str]:
        return {} if self.redis else {"DATA_DIR": str(self.data_dir)}

    def start(self) -> None:
        if not self.redis:
            parked = self.data_dir / "broker-down"
            if parked.exists():
                parked.rename(self.data_dir / "broker")
            return
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1",
             "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_until(answers, "the private redis-server", deadline=20)

    def stop(self) -> None:
        if not self.redis:
            if self.folder.exists():
                (self.data_dir / "broker").rename(self.data_dir / "broker-down")
            return
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def publishing_through(broker: PrivateBroker) -> Iterator[None]:
    """Point this process's Celery app (the after-publish kicks) at ``broker``."""
    saved = (app.conf.broker_url, app.conf.broker_transport_options)

    def switch(url: str, options: dict[str, Any]) -> None:
        # kombu keeps process-wide pools keyed by connection: empty them all, and the
        # app's handles on them, so the next publish connects to the new broker.
        kombu.pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url = url
        app.conf.broker_transport_options = options

    switch(broker.url, broker.transport_options)
    try:
        yield
    finally:
        switch(*saved)


def test_it_loses_nothing_while_the_broker_is_down(
    lab_a: Member,
    subscribers: Callable[..., list[Subscriber]],
    start_worker: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    """Proves: objects published while the broker is stopped are all delivered after it is
    back. Publishing never fails (the kick is best effort; the outbox row is committed with
    the object), and the heartbeat dispatches the outbox once the broker answers again.

    With Redis the worker rides out the outage and reconnects. kombu's filesystem transport
    cannot: its consumer exits when the folder vanishes, so there the worker is stopped
    with the broker and a new one is started after it (as a supervisor would)."""
    broker = PrivateBroker(tmp_path)
    broker.start()
    hooks = subscribers()
    try:
        with publishing_through(broker):
            worker = start_worker(broker.url, **broker.worker_env)
            published = publish_mixed(lab_a, hooks, rounds=1, per_round=4)
            wait_until(lambda: all(s.receiver.requests for s in hooks), "first deliveries")
            # kombu 5.7's Redis transport has crashed the worker (AttributeError in
            # restore_unacked) when the broker was stopped within a second of the worker's
            # start; the outage begins once the worker has run a few tasks, as in service.
            log = worker.log_dir / f"worker-{worker.runs}.log"
            wait_until(lambda: log.read_bytes().count(b"] succeeded in") >= 6, "a few tasks")
            if not broker.redis:
                worker.stop()
            broker.stop()
            published += publish_mixed(lab_a, hooks, rounds=3, per_round=6)
            time.sleep(1)  # the worker's beat now sends its heartbeats into the void
            undelivered = [s for s in hooks if not s.entitled <= set(s.receiver.ids())]
            assert undelivered, "nothing was published during the outage"
            broker.start()
            if not broker.redis:
                start_worker(broker.url, **broker.worker_env)
            counts = settle_and_count("broker stopped", hooks, published)
    finally:
        broker.stop()
    assert counts["published"] == published
    assert_verbatim_and_signed(hooks, lab_a)


def test_it_retries_a_receiver_that_fails_then_recovers(
    lab_a: Member,
    subscribers: Callable[..., list[Subscriber]],
    start_worker: Callable[..., Worker],
) -> None:
    """Proves: 500s, and 429 with Retry-After, are retried with backoff until the receiver
    recovers; every attempt is recorded with its status code; nothing is dead-lettered."""

    def flaky(n: int) -> tuple[int, dict[str, str], float]:
        if n <= 6:
            return 500, {}, 0.0
        if n <= 8:
            return 429, {"Retry-After": "1"}, 0.0
        return 200, {}, 0.0

    hooks = subscribers(flaky, max_batch=5)
    start_worker()
    published = publish_mixed(lab_a, hooks, rounds=3, per_round=5)
    settle_and_count("receiver 500 then 200", hooks, published)
    codes = set(DeliveryAttempt.objects.values_list("status_code", flat=True))
    assert {500, 429, 200} <= codes
    assert not DeliveryAttempt.objects.filter(latency_ms__isnull=True).exists()
    assert_verbatim_and_signed(hooks, lab_a)


def test_it_retries_a_receiver_that_times_out(
    lab_a: Member,
    subscribers: Callable[..., list[Subscriber]],
    start_worker: Callable[..., Worker],
) -> None:
    """Proves: a receiver slower than the read time-out is retried; it may process a
    delivery the sender gave up on, so it sees duplicates, which it drops by delivery id
    (the X-ISAC-Delivery-Id is the same on every attempt); nothing is lost."""
    hooks = subscribers(lambda n: (200, {}, 2.5 if n <= 3 else 0.0), max_batch=5)
    start_worker()
    published = publish_mixed(lab_a, hooks, rounds=3, per_round=5)
    settle_and_count("receiver times out", hooks, published)
    errors = DeliveryAttempt.objects.exclude(error="").values_list("error", flat=True)
    assert any("Timeout" in error for error in errors), list(errors)
    for subscriber in hooks:
        by_delivery: dict[str, set[bytes]] = {}
        for hit in subscriber.receiver.requests:
            by_delivery.setdefault(hit.delivery_id, set()).add(hit.body)
        # A retry re-sends the same delivery: same id, same objects.
        assert all(len(bodies) == 1 for bodies in by_delivery.values())
