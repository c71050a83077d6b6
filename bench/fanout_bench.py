"""Fan-out benchmark: publish-to-delivered latency (p50, p99) and delivered objects/s for 1,
10 and 50 webhook subscribers, receivers on 127.0.0.1, a real Celery worker and broker.

Run it against a SCRATCH database (it migrates it and adds members and subscriptions):

    createdb -h 127.0.0.1 -U postgres fanout_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanout_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 DATA_DIR=/tmp/fanout-bench \\
      .venv/bin/python bench/fanout_bench.py --objects 300 --concurrency 4

Latency runs from the commit of the publish transaction to the receipt of the object by a
receiver; objects/s counts objects delivered to all subscribers over the whole round.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
os.environ.setdefault("FANOUT_ALLOW_HTTP", "true")


class Receiver:
    """Records when each object id first arrived."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.monotonic()
                with receiver.lock:
                    for obj in json.loads(body)["objects"]:
                        receiver.first_seen.setdefault(obj["id"], now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def worker_start(concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "celery", "-A", "exchange", "worker", "-B",
        "--concurrency", str(concurrency), "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle",
        "--schedule", str(log.with_suffix(".beat")),
    ]  # fmt: skip
    env = {**os.environ, "DATABASE_CONN_MAX_AGE": "60"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return process


def run_round(subscribers: int, objects: int, per_publish: int, deadline: float) -> dict[str, Any]:
    from exchange.fanout.models import Subscription
    from exchange.fanout.services import subscription_create
    from members.models import Member
    from signatures.sdk.constants import TLP2_GREEN
    from signatures.services import objects_publish

    publisher = Member.objects.get(name="bench-publisher")
    reader = Member.objects.get(name="bench-reader")
    Subscription.objects.filter(owner=reader).delete()
    receivers = [Receiver() for _ in range(subscribers)]
    for n, receiver in enumerate(receivers):
        subscription_create(
            owner=reader, name=f"bench {n}", channel="webhook", url=receiver.url, max_batch=100
        )

    def indicator() -> dict[str, Any]:
        return {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-11-20T09:30:00.000Z",
            "modified": "2026-11-20T09:30:00.000Z",
            "created_by_ref": publisher.identity_id,
            "name": "bench",
            "indicator_types": ["malicious-activity"],
            "pattern": "[ipv4-addr:value = '203.0.113.7']",
            "pattern_type": "stix",
            "valid_from": "2026-11-20T00:00:00Z",
            "object_marking_refs": [TLP2_GREEN],
        }

    committed: dict[str, float] = {}
    started = time.monotonic()
    for _ in range(0, objects, per_publish):
        batch = [indicator() for _ in range(per_publish)]
        objects_publish(member=publisher, objects=batch)
        now = time.monotonic()
        committed.update((obj["id"], now) for obj in batch)
        time.sleep(0.05)  # a steady stream, not a single burst
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if all(len(r.first_seen.keys() & committed.keys()) == len(committed) for r in receivers):
            break
        time.sleep(0.05)
    latencies = [
        r.first_seen[object_id] - at
        for r in receivers
        for object_id, at in committed.items()
        if object_id in r.first_seen
    ]
    finished = max(max(r.first_seen.values(), default=started) for r in receivers)
    for receiver in receivers:
        receiver.close()
    Subscription.objects.filter(owner=reader).delete()
    expected = len(committed) * subscribers
    return {
        "subscribers": subscribers,
        "objects": len(committed),
        "delivered": len(latencies),
        "lost": expected - len(latencies),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * percentile(latencies, 0.99) if latencies else float("nan"),
        "objects_per_s": len(latencies) / max(finished - started, 1e-9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", default="1,10,50")
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--per-publish", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=300.0)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    from members.choices import MemberKind
    from members.models import Member
    from signatures.services import member_create

    call_command("migrate", verbosity=0)
    if not Member.objects.filter(kind=MemberKind.FORUM).exists():
        member_create(name="forum", kind="forum")
    for name in ("bench-publisher", "bench-reader"):
        if not Member.objects.filter(name=name).exists():
            member_create(name=name, kind="lab")

    from django.conf import settings

    log = Path(settings.DATA_DIR) / "fanout-bench-worker.log"
    worker = worker_start(args.concurrency, log)
    try:
        time.sleep(5)  # worker and beat up
        rows = [
            run_round(int(n), args.objects, args.per_publish, args.deadline)
            for n in args.subscribers.split(",")
        ]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    print(f"\nfan-out: {engine} + {broker}, worker concurrency {args.concurrency}, "
          f"{args.objects} objects in publishes of {args.per_publish}")  # fmt: skip
    columns = [("subscribers", 11), ("delivered", 10), ("lost", 5), ("p50 ms", 9), ("p99 ms", 9)]
    header = " ".join(f"{name:>{width}}" for name, width in [*columns, ("obj/s", 9)])
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['subscribers']:>11} {row['delivered']:>10} {row['lost']:>5} "
            f"{row['p50_ms']:>9.1f} {row['p99_ms']:>9.1f} {row['objects_per_s']:>9.1f}"
        )


if __name__ == "__main__":
    main()
