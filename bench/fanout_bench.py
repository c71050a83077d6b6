"""Fan-out benchmark: publish-to-delivered latency (p50, p99) and delivered objects/s for 1,
10 and 50 webhook subscribers, receivers on 127.0.0.1, a real Celery worker and broker.

Run it against a SCRATCH database (it migrates it and adds members and subscriptions):

    createdb -h 127.0.0.1 -U postgres fanout_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanout_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 DATA_DIR=/tmp/fanout-bench \\
      .venv/bin/python bench/fanout_bench.py --objects 300 --concurrency 4

Latency runs from the commit of the publish transaction to the receipt of the object by a
receiver; objects/s counts objects delivered to all subscribers over the whole round, from
the first publish to the last receipt (so it can never beat the publishing itself: the
"publish s" column). A short warm-up round (one subscriber) runs first and is not counted.

Each subscriber count runs twice. "stream" publishes the objects in publishes of
``--per-publish``, ``--pause`` seconds apart: a lab's steady flow, whose latency is the
figure that counts, and whose objects/s is bounded by that pacing. "burst" publishes them
in one bundle, as a lab pushing a campaign's worth of signatures at once: its objects/s is
what the fan-out delivers when it has a backlog, rather than the pacing of the publisher.

The receivers run in a process of their own, as HTTP/1.1 servers that keep connections
open, so they neither share the publisher's interpreter lock nor cost the sender a new
connection per request. After each round the same batches, as the receivers got them, are
posted again by a plain loop of ``requests.post`` to the same receivers: the speed of
sending them with nothing else to do, the alternative each round is compared with
("vs loop").
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
os.environ.setdefault("FANOUT_ALLOW_HTTP", "true")


class Receiver:
    """Records when each object id first arrived, and every body, in order."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.monotonic()
                ids = [obj["id"] for obj in json.loads(body)["objects"]]
                with receiver.lock:
                    receiver.bodies.append(body)
                    for object_id in ids:
                        receiver.first_seen.setdefault(object_id, now)
                self.send_response(204)
                self.send_header("Content-Length", "0")
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


def receivers_serve(commands: Connection) -> None:
    """The receivers' process: ("start", n) -> urls; ("seen",) -> first arrivals and
    bodies of each, then reset; ("stop",) -> closes them all."""
    receivers: list[Receiver] = []
    while True:
        command, *args = commands.recv()
        if command == "start":
            receivers = [Receiver() for _ in range(args[0])]
            commands.send([r.url for r in receivers])
        elif command == "seen":
            with_bodies = args[0]
            answer = []
            for r in receivers:
                with r.lock:
                    answer.append((dict(r.first_seen), r.bodies if with_bodies else []))
                    r.first_seen, r.bodies = {}, []
            commands.send(answer)
        elif command == "count":
            commands.send(min((len(r.first_seen) for r in receivers), default=0))
        elif command == "stop":
            for r in receivers:
                r.close()
            receivers = []
            commands.send("stopped")
        else:
            return


class Receivers:
    """The parent's handle on the receivers' process."""

    def __init__(self) -> None:
        # fork before any thread of this process runs: the child only serves HTTP.
        self.commands, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=receivers_serve, args=(theirs,), daemon=True
        )
        self.process.start()

    def ask(self, *command: Any) -> Any:
        self.commands.send(command)
        return self.commands.recv()

    def close(self) -> None:
        self.commands.send(("exit",))
        self.process.join(timeout=10)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of the live processes of a process group, from /proc
    (Linux): what the worker spent, however busy the rest of the machine was."""
    ticks = 0
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


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


def run_round(
    receivers: Receivers,
    worker: subprocess.Popen[bytes],
    subscribers: int,
    objects: int,
    per_publish: int,
    pause: float,
    deadline: float,
) -> dict[str, Any]:
    from exchange.fanout.models import Subscription
    from exchange.fanout.services import subscription_create
    from members.models import Member
    from signatures.sdk.constants import TLP2_GREEN
    from signatures.services import objects_publish

    publisher = Member.objects.get(name="bench-publisher")
    reader = Member.objects.get(name="bench-reader")
    Subscription.objects.filter(owner=reader).delete()
    urls = receivers.ask("start", subscribers)
    for n, url in enumerate(urls):
        subscription_create(
            owner=reader, name=f"bench {n}", channel="webhook", url=url, max_batch=100
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
    cpu_before = group_cpu_seconds(worker.pid)
    started = time.monotonic()
    for _ in range(0, objects, per_publish):
        batch = [indicator() for _ in range(per_publish)]
        objects_publish(member=publisher, objects=batch)
        now = time.monotonic()
        committed.update((obj["id"], now) for obj in batch)
        time.sleep(pause)
    published = time.monotonic() - started
    end = time.monotonic() + deadline
    while time.monotonic() < end and receivers.ask("count") < len(committed):
        time.sleep(0.05)
    seen = receivers.ask("seen", True)
    latencies = [
        first_seen[object_id] - at
        for first_seen, _ in seen
        for object_id, at in committed.items()
        if object_id in first_seen
    ]
    finished = max(max(first_seen.values(), default=started) for first_seen, _ in seen)
    # Deleting a subscription while its pump records an attempt would fail on the
    # attempt's foreign key: let the runs end first.
    mine = Subscription.objects.filter(owner=reader)
    while time.monotonic() < end and mine.filter(lease_until__isnull=False).exists():
        time.sleep(0.05)
    worker_cpu = group_cpu_seconds(worker.pid) - cpu_before
    mine.delete()
    requests_made = sum(len(bodies) for _, bodies in seen)
    loop_rate = loop_post(urls, [bodies for _, bodies in seen])
    receivers.ask("seen", False)
    receivers.ask("stop")
    expected = len(committed) * subscribers
    rate = len(latencies) / max(finished - started, 1e-9)
    return {
        "mode": "stream" if pause else "burst",
        "subscribers": subscribers,
        "objects": len(committed),
        "delivered": len(latencies),
        "lost": expected - len(latencies),
        "publish_s": published,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * percentile(latencies, 0.99) if latencies else float("nan"),
        "objects_per_s": rate,
        "requests": requests_made,
        "worker_cpu_s": worker_cpu,
        "loop_objects_per_s": loop_rate,
    }


def loop_post(urls: list[str], bodies: list[list[bytes]]) -> float:
    """Objects/s of a plain loop of ``requests.post`` sending the same batches to the same
    receivers, one after the other, with nothing else running."""
    import requests

    objects = sum(len(json.loads(body)["objects"]) for batch in bodies for body in batch)
    headers = {"Content-Type": "application/stix+json;version=2.1"}
    started = time.monotonic()
    for url, batch in zip(urls, bodies, strict=True):
        for body in batch:
            requests.post(url, data=body, headers=headers, timeout=10).raise_for_status()
    return objects / max(time.monotonic() - started, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", default="1,10,50")
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--per-publish", type=int, default=10)
    parser.add_argument(
        "--pause", type=float, default=0.05, help="seconds between publishes (stream rounds)"
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=300.0)
    parser.add_argument("--warmup", type=int, default=20, help="objects of the warm-up round")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({os.cpu_count()} CPUs)", flush=True)  # fmt: skip
    receivers = Receivers()

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
        if args.warmup:
            run_round(receivers, worker, 1, args.warmup, min(args.warmup, args.per_publish), 0, 60)
        rows = [
            run_round(receivers, worker, int(n), args.objects, per_publish, pause, args.deadline)
            for n in args.subscribers.split(",")
            for per_publish, pause in ((args.per_publish, args.pause), (args.objects, 0.0))
        ]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        receivers.close()
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    load = os.getloadavg()
    print(f"\nfan-out: {engine} + {broker}, worker concurrency {args.concurrency}, "
          f"{args.objects} objects in publishes of {args.per_publish} ({args.pause} s apart "
          f"in stream rounds, all in one in burst rounds); load average at end: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    columns = [
        ("mode", 6), ("subscribers", 11), ("delivered", 10), ("lost", 5), ("publish s", 9),
        ("p50 ms", 9), ("p99 ms", 9), ("obj/s", 9), ("requests", 8), ("worker cpu s", 12),
        ("loop obj/s", 10), ("vs loop", 7),
    ]  # fmt: skip
    header = " ".join(f"{name:>{width}}" for name, width in columns)
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['mode']:>6} {row['subscribers']:>11} {row['delivered']:>10} {row['lost']:>5} "
            f"{row['publish_s']:>9.2f} {row['p50_ms']:>9.1f} {row['p99_ms']:>9.1f} "
            f"{row['objects_per_s']:>9.1f} {row['requests']:>8} {row['worker_cpu_s']:>12.2f} "
            f"{row['loop_objects_per_s']:>10.1f} "
            f"{row['objects_per_s'] / row['loop_objects_per_s']:>6.2f}x"
        )
    print(
        "vs loop: delivered objects/s of the fan-out (publish to receipt, every step) over a "
        "plain requests.post loop of the same batches to the same receivers (sending alone). "
        "worker cpu s: CPU the Celery worker (all its processes) spent in the round."
    )


if __name__ == "__main__":
    main()
