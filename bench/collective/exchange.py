"""Pooled mode's transport: the real exchange, reached over HTTP like a lab reaches it.

Each lab publishes with the publish client (``POST /api/v1/objects/``; the exchange signs with
the lab's custodial key) and reads with ``FeedSync``: a webhook subscription pushed by the
Celery worker, and TAXII polling when asked to (or when a push is late). A publication
returns once every other lab's feed has verified and loaded every indicator of it; the
seconds that took, per lab, are the exchange's real latency.

``live_exchange`` starts the exchange for the command line: gunicorn and a Celery worker
(with beat) on 127.0.0.1 over the database and broker of the environment, and one member
with a token per lab.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from signatures.sdk.detect.feed import Applied, FeedSync, WebhookReceiver
from signatures.sdk.publish_client import Client, InputObject

from .lab import Lab, StixObject

#: Seconds a publication may take to reach every lab before the run gives up.
DEADLINE_S = 120.0
#: With push, how long to wait for it before polling TAXII as well.
PUSH_GRACE_S = 30.0


class ExchangeError(RuntimeError):
    """The exchange refused a publication or did not deliver it in time."""


@dataclass
class ExchangeTransport:
    """The labs' connections to the exchange at ``url``: one token and identity per lab."""

    url: str
    tokens: dict[str, str]
    identities: dict[str, str]
    push: bool = True
    feeds: dict[str, FeedSync] = field(default_factory=dict)
    receivers: dict[str, WebhookReceiver] = field(default_factory=dict)
    subscriptions: dict[str, str] = field(default_factory=dict)
    #: Lab -> indicator id -> monotonic time its feed loaded it.
    arrivals: dict[str, dict[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def identity(self, lab: str) -> str:
        return self.identities[lab]

    def attach(self, labs: list[Lab]) -> None:
        for lab in labs:
            feed = FeedSync(lab.detector, self.url, self.tokens[lab.name], log=io.StringIO())
            self.feeds[lab.name] = feed
            self.arrivals[lab.name] = {}
            lab.observe = feed.observe
            if self.push:
                receiver = WebhookReceiver(feed)
                receiver.on_apply = self._recorder(lab.name)
                receiver.start()
                self.receivers[lab.name] = receiver
                self.subscriptions[lab.name] = feed.subscribe(receiver)
            self._record(lab.name, feed.sync())

    def _recorder(self, lab: str) -> Callable[[list[Applied]], None]:
        return lambda applied: self._record(lab, applied)

    def _record(self, lab: str, applied: Sequence[Applied]) -> None:
        now = time.monotonic()
        with self._lock:
            for result in applied:
                if result.action == "loaded":
                    self.arrivals[lab].setdefault(result.indicator_id, now)

    def publish(self, lab: Lab, objects: list[StixObject]) -> dict[str, float]:
        client = Client(self.url, self.tokens[lab.name], retries=3, backoff=0.5, timeout=30.0)
        started = time.monotonic()
        results = client.post(
            [
                InputObject(
                    text=json.dumps(obj, separators=(",", ":")),
                    object_id=obj["id"],
                    where=lab.name,
                )
                for obj in objects
            ]
        )
        if refused := [r for r in results if r.get("status") == "refused"]:
            raise ExchangeError(f"the exchange refused {lab.name}'s indicators: {refused[:3]}")
        wanted = {obj["id"] for obj in objects}
        latencies = {}
        for other, feed in self.feeds.items():
            if other == lab.name:
                continue
            arrivals = self.arrivals[other]
            while not wanted <= arrivals.keys():
                waited = time.monotonic() - started
                if waited > DEADLINE_S:
                    missing = sorted(wanted - arrivals.keys())[:3]
                    raise ExchangeError(f"{other} did not receive {missing} in {DEADLINE_S:.0f} s")
                if not self.push or waited > PUSH_GRACE_S:
                    self._record(other, feed.sync())
                else:
                    time.sleep(0.005)
            latencies[other] = max(arrivals[i] for i in wanted) - started
        return latencies

    def close(self) -> None:
        for name, subscription in self.subscriptions.items():
            self.feeds[name].unsubscribe(subscription)
        for receiver in self.receivers.values():
            receiver.stop()
        for feed in self.feeds.values():
            feed.stop()


@contextmanager
def live_exchange(labs: Sequence[str], *, push: bool = True) -> Iterator[ExchangeTransport]:
    """The exchange under gunicorn with a Celery worker, and a member and token per lab."""
    # The bench scripts' helpers are top-level modules of bench/ (they run as scripts).
    bench = str(Path(__file__).resolve().parents[1])
    if bench not in sys.path:
        sys.path.insert(0, bench)
    from benchsetup import django_start, free_port, lab_with_token
    from detect_latency import WORKER_ENV, start, stop, wait_http

    django_start()
    from django.conf import settings

    members = {name: lab_with_token(f"collective-{name}") for name in labs}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = Path(settings.DATA_DIR)
    env = {**os.environ, **WORKER_ENV, "SITE_URL": url, "DATABASE_CONN_MAX_AGE": "60"}
    worker_log = data / "collective-worker.log"
    children = [
        start(
            [sys.executable, "-m", "gunicorn", "exchange.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "4"],
            data / "collective-web.log", env,
        ),
        start(
            [sys.executable, "-m", "celery", "-A", "exchange", "worker", "-B",
             "--concurrency", "2", "--loglevel", "INFO", "--without-gossip",
             "--without-mingle", "--schedule", str(data / "collective-beat")],
            worker_log, env,
        ),
    ]  # fmt: skip
    transport: ExchangeTransport | None = None
    try:
        wait_http(f"{url}/taxii2/")
        # Measured latencies must not include the worker's start-up.
        end = time.monotonic() + 60
        while b" ready." not in worker_log.read_bytes():
            if time.monotonic() > end or children[1].poll() is not None:
                raise ExchangeError(f"the Celery worker did not start; see {worker_log}")
            time.sleep(0.2)
        transport = ExchangeTransport(
            url=url,
            tokens={name: token for name, (_, token) in members.items()},
            identities={name: member.identity_id for name, (member, _) in members.items()},
            push=push,
        )
        yield transport
    finally:
        for child in children:
            stop(child)
