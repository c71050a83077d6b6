"""Publish-to-match latency: from publishing a new indicator on a live exchange to the first
match ``isac-detect`` prints for it, through webhook push (issue goal: under 5 s).

Starts the exchange under gunicorn on 127.0.0.1 and a real Celery worker (with beat), runs
``isac-detect`` with a webhook subscription (polling set to an hour, so only the push can
bring the indicator), then, round after round, publishes an indicator on a fresh address
range and feeds ``isac-detect`` an event from that range every 20 ms until it reports the
match. Run it against a SCRATCH database (it migrates it and adds two labs):

    createdb -h 127.0.0.1 -U postgres detect_latency
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/detect_latency \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/12 DATA_DIR=/tmp/detect-latency \\
      .venv/bin/python bench/detect_latency.py --rounds 10

The latency includes the event cadence (at most 20 ms). Give it a broker database no other
worker consumes.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

from benchsetup import ROOT, django_start, free_port, lab_with_token

#: Seconds between two events sent to isac-detect while waiting for a match.
EVENT_EVERY = 0.02
#: Fan-out settings for a quick heartbeat, as the fan-out tests use.
WORKER_ENV = {"FANOUT_ALLOW_HTTP": "true", "FANOUT_HEARTBEAT_MS": "500"}


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_http(url: str, deadline: float = 60.0) -> None:
    import requests

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {deadline:.0f} s")


def read_lines(stream: IO[bytes], into: queue.Queue[tuple[float, str]]) -> None:
    """Timestamp each line as it arrives (a thread per stream)."""
    for line in iter(stream.readline, b""):
        into.put((time.monotonic(), line.decode(errors="replace").rstrip("\n")))


def indicator(creator: str, cidr: str) -> dict[str, Any]:
    from signatures.sdk import indicators

    return indicators.indicator(
        indicators.ip_pattern(cidr),
        created_by_ref=creator,
        name=f"latency probe {cidr}",
        phases=["access-provisioning"],
        confidence=60,
        tlp="green",
        id=f"indicator--{uuid.uuid4()}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--deadline", type=float, default=60.0, help="per round (s)")
    args = parser.parse_args()

    django_start()
    from django.conf import settings

    from signatures.services import objects_publish

    publisher, _ = lab_with_token("latency-publisher")
    _, token = lab_with_token("latency-reader")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = Path(settings.DATA_DIR)
    env = {**os.environ, **WORKER_ENV, "SITE_URL": url, "DATABASE_CONN_MAX_AGE": "60"}
    children = [
        start(
            [sys.executable, "-m", "gunicorn", "exchange.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "4"],
            data / "detect-latency-web.log", env,
        ),
        start(
            [sys.executable, "-m", "celery", "-A", "exchange", "worker", "-B",
             "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip",
             "--without-mingle", "--schedule", str(data / "detect-latency-beat")],
            data / "detect-latency-worker.log", env,
        ),
    ]  # fmt: skip
    detector: subprocess.Popen[bytes] | None = None
    latencies: list[float] = []
    try:
        wait_http(f"{url}/taxii2/")
        detector = subprocess.Popen(
            [sys.executable, "-m", "signatures.sdk.detect.cli", "--feed", url, "--token", token,
             "--events", "-", "--webhook-port", "0", "--poll", "3600", "--no-sightings"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
        )  # fmt: skip
        assert detector.stdin and detector.stdout and detector.stderr
        out: queue.Queue[tuple[float, str]] = queue.Queue()
        err: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=read_lines, args=(detector.stdout, out), daemon=True).start()
        threading.Thread(target=read_lines, args=(detector.stderr, err), daemon=True).start()
        while "indicators" not in (line := err.get(timeout=args.deadline)[1]):
            print(line, file=sys.stderr)
        print(line, file=sys.stderr)  # the initial load is done: the subscription exists

        for n in range(args.rounds):
            cidr = f"10.{n % 250}.{n // 250}.0/24"
            probe = indicator(publisher.identity_id, cidr)
            report = objects_publish(member=publisher, objects=[probe])
            published = time.monotonic()
            assert report.count("refused") == 0, report.as_dict()
            matched = None
            sent = 0
            while matched is None and time.monotonic() - published < args.deadline:
                event = {
                    "event_id": f"probe-{n}-{sent}",
                    "time": time.time(),
                    "account_id": f"probe-{n}",
                    "source_ip": cidr.replace("0/24", "7"),
                }
                detector.stdin.write(json.dumps(event).encode() + b"\n")
                detector.stdin.flush()
                sent += 1
                try:
                    at, line = out.get(timeout=EVENT_EVERY)
                except queue.Empty:
                    continue
                if json.loads(line)["indicator"] == probe["id"]:
                    matched = at
            if matched is None:
                print(f"round {n}: no match within {args.deadline:.0f} s", file=sys.stderr)
                continue
            latencies.append(matched - published)
            while not out.empty():  # the matches of events already in flight
                out.get()
    finally:
        if detector is not None:
            if detector.stdin:
                detector.stdin.close()
            stop(detector)
        for child in children:
            stop(child)
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    print(f"\npublish -> first match in isac-detect (webhook push): {engine} + {broker}, "
          f"gunicorn 2 workers, Celery worker concurrency 2, {args.rounds} rounds")  # fmt: skip
    if not latencies:
        print("no round matched")
        return
    print(f"matched {len(latencies)}/{args.rounds}")
    print(
        f"median {statistics.median(latencies):.3f} s, "
        f"p90 {sorted(latencies)[int(0.9 * (len(latencies) - 1))]:.3f} s, "
        f"max {max(latencies):.3f} s (goal: under 5 s)"
    )


if __name__ == "__main__":
    main()
