"""Real components for the fan-out tests: a Celery worker subprocess (with its embedded beat)
on the configured broker, webhook receivers on 127.0.0.1, and helpers to publish and wait.

The worker sees the test database: PostgreSQL's test_<name>, or the file-based SQLite test
database (settings give SQLite a file test name for this reason).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from members.models import Member
from signatures.sdk import webhook_signing
from signatures.services import objects_publish
from tests import stix_samples as samples

BASE_DIR = Path(__file__).resolve().parents[3]
DEADLINE = 90.0

#: Settings the worker runs with: short leases and backoffs keep the fault tests quick.
FAST = {
    "FANOUT_ALLOW_HTTP": "true",
    "FANOUT_HEARTBEAT_MS": "500",
    "FANOUT_BACKOFF_BASE_MS": "200",
    "FANOUT_BACKOFF_MAX_MS": "1000",
    "FANOUT_RETRY_AFTER_MAX_MS": "2000",
    "FANOUT_CONNECT_TIMEOUT_MS": "1000",
    "FANOUT_READ_TIMEOUT_MS": "1000",
    "FANOUT_LEASE_SECONDS": "4",
    "FANOUT_KICK_TTL_SECONDS": "3",
    "FANOUT_MAX_ATTEMPTS": "30",
}


def wait_until(predicate: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``predicate`` until true; fail the test (not hang) after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def database_url() -> str:
    """The URL of the database this test runs on, for a subprocess."""
    conf = connection.settings_dict
    if conf["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{conf['NAME']}"
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"


class Worker:
    """``celery -A exchange worker -B`` in its own process group (so SIGKILL takes it all)."""

    def __init__(self, log_dir: Path, broker_url: str, extra_env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.broker_url = broker_url
        self.extra_env = extra_env
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = self.log_dir / f"worker-{self.runs}.log"
        env = {
            **os.environ,
            **FAST,
            "DATABASE_URL": database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": self.broker_url,
            "DATA_DIR": str(settings.DATA_DIR),
            "SECRET_KEY": settings.SECRET_KEY,
            "MASTER_KEY": settings.MASTER_KEY,
            **self.extra_env,
        }
        command = [
            sys.executable, "-m", "celery", "-A", "exchange", "worker", "-B",
            "--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle",
            "--hostname", f"fanout-test-{uuid.uuid4().hex[:8]}@127.0.0.1",
            "--schedule", str(self.log_dir / f"beat-{self.runs}"),
        ]  # fmt: skip
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_until(lambda: b" ready." in log.read_bytes() or not self.alive, "the worker")
        assert self.alive, log.read_text()[-3000:]

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its children at once, mid-whatever they were doing."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive:
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-4000:] for path in sorted(self.log_dir.glob("*.log"))
        )


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(broker_url: str | None = None, **extra_env: str) -> Worker:
        worker = Worker(tmp_path, broker_url or settings.CELERY_BROKER_URL, extra_env)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@dataclass
class Received:
    delivery_id: str
    signature: str
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1. ``behaviour(n)`` -> (status, headers, delay seconds)
    decides the answer to its n-th request (1-based); every request is recorded."""

    server: ThreadingHTTPServer
    behaviour: Callable[[int], tuple[int, dict[str, str], float]]
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    secret: str = ""

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def accepted(self) -> list[Received]:
        """Requests answered 2xx with a valid signature (what the subscriber acted on)."""
        with self.lock:
            return list(self._accepted)

    _accepted: list[Received] = field(default_factory=list)

    def objects(self) -> list[dict[str, Any]]:
        return [obj for hit in self.accepted() for obj in json.loads(hit.body)["objects"]]

    def ids(self) -> list[str]:
        return [obj["id"] for obj in self.objects()]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hit = Received(
                delivery_id=self.headers.get(webhook_signing.DELIVERY_HEADER, ""),
                signature=self.headers.get(webhook_signing.SIGNATURE_HEADER, ""),
                body=body,
            )
            with receiver.lock:
                receiver.requests.append(hit)
                number = len(receiver.requests)
            status, headers, delay = receiver.behaviour(number)
            if delay:
                time.sleep(delay)
            if 200 <= status < 300:
                try:
                    webhook_signing.signature_verify(receiver.secret, hit.signature, body)
                except webhook_signing.SignatureInvalid:
                    status = 401
                else:
                    with receiver.lock:
                        receiver._accepted.append(hit)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (the time-out test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(
        behaviour: Callable[[int], tuple[int, dict[str, str], float]] = lambda n: (204, {}, 0.0),
    ) -> Receiver:
        server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        server.daemon_threads = True
        receiver = Receiver(server=server, behaviour=behaviour)
        server.RequestHandlerClass = _handler(receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.server.shutdown()
        receiver.server.server_close()


def indicators(creator: Member, count: int, *, tlp: str = "green") -> list[dict[str, Any]]:
    """``count`` distinct indicators by ``creator`` at the given TLP level."""
    from signatures.sdk.constants import TLP2_BY_LEVEL

    return [
        samples.ip_range_indicator(
            creator.identity_id,
            id=f"indicator--{uuid.uuid4()}",
            name=f"Account-farm egress range {n}",
            object_marking_refs=[TLP2_BY_LEVEL[tlp]],
        )
        for n in range(count)
    ]


def publish(member: Member, objects: list[dict[str, Any]]) -> list[str]:
    report = objects_publish(member=member, objects=objects)
    refused = [o.reason for o in report.outcomes if o.status == "refused"]
    assert not refused, refused
    return [obj["id"] for obj in objects]


@dataclass
class Subscriber:
    label: str
    receiver: Receiver
    subscription_id: str
    #: The object ids this subscriber may read and asked for.
    entitled: set[str] = field(default_factory=set)


@pytest.fixture
def subscribers(
    lab_a: Member, lab_b: Member, partner: Member, receivers: Callable[..., Receiver]
) -> Callable[..., list[Subscriber]]:
    """Three webhook subscribers: the publisher lab A, lab B and a partner.

    :func:`publish_mixed` publishes TLP:GREEN objects (every one of them may read them) and
    TLP:RED objects without recipients (only their publisher, lab A, may).
    """
    from exchange.fanout.services import subscription_create

    def make(
        behaviour: Callable[[int], tuple[int, dict[str, str], float]] | None = None,
        **options: Any,
    ) -> list[Subscriber]:
        made = []
        for label, owner in (("lab-a", lab_a), ("lab-b", lab_b), ("partner", partner)):
            receiver = receivers(behaviour) if behaviour else receivers()
            subscription, secret = subscription_create(
                owner=owner, name=f"{label} hook", channel="webhook", url=receiver.url, **options
            )
            receiver.secret = secret
            made.append(Subscriber(label, receiver, str(subscription.pk)))
        return made

    return make


def publish_mixed(lab_a: Member, subscribers: list[Subscriber], rounds: int, per_round: int) -> int:
    """Publish ``rounds`` bundles of green and red indicators; record who is entitled."""
    published = 0
    for _ in range(rounds):
        green = publish(lab_a, indicators(lab_a, per_round))
        red = publish(lab_a, indicators(lab_a, max(1, per_round // 4), tlp="red"))
        published += len(green) + len(red)
        for subscriber in subscribers:
            subscriber.entitled |= set(green)
            if subscriber.label == "lab-a":
                subscriber.entitled |= set(red)
    return published


COUNTS_FILE = "fanout-fault-counts.jsonl"


def settle_and_count(test: str, subscribers: list[Subscriber], published: int) -> dict[str, Any]:
    """Wait until every subscriber holds every object it is entitled to, then count and
    print published / delivered / duplicates / lost / forbidden per subscriber."""
    try:
        wait_until(
            lambda: all(s.entitled <= set(s.receiver.ids()) for s in subscribers),
            "every entitled subscriber to hold every object",
        )
    finally:
        counts: dict[str, Any] = {"test": test, "published": published, "subscribers": {}}
        for s in subscribers:
            received = s.receiver.ids()
            unique = set(received)
            counts["subscribers"][s.label] = {
                "entitled": len(s.entitled),
                "delivered": len(unique & s.entitled),
                "duplicates": len(received) - len(unique),
                "lost": len(s.entitled - unique),
                "forbidden": len(unique - s.entitled),
                "requests": len(s.receiver.requests),
            }
        print(f"\nfan-out counts: {json.dumps(counts)}")
        with (Path(settings.DATA_DIR) / COUNTS_FILE).open("a") as out:
            out.write(json.dumps(counts) + "\n")
    for label, row in counts["subscribers"].items():
        assert row["lost"] == 0 and row["forbidden"] == 0, (label, row)
    return counts


def assert_verbatim_and_signed(subscribers: list[Subscriber], publisher: Member) -> None:
    """Every received object is the stored text byte for byte and its member signature
    verifies with the pure verifier (signatures.sdk.jss) against the publisher's JWKS."""
    from members.selectors import member_jwks
    from signatures.models import StixObject
    from signatures.sdk import jss

    verifier = jss.Verifier(member_jwks(publisher))
    raws = dict(StixObject.objects.values_list("stix_id", "raw"))
    for subscriber in subscribers:
        for hit in subscriber.receiver.accepted():
            for obj in json.loads(hit.body)["objects"]:
                assert raws[obj["id"]].encode() in hit.body
                report = verifier.verify(obj)
                assert report.valid, report.reason
