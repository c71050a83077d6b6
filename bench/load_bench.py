"""Load benchmark: one greedy reader against everyone else (docs/taxii.md, "Limits").

Starts the exchange under gunicorn (gthread workers) on 127.0.0.1, fires N concurrent
``GET …/objects/?limit=999999999`` with one partner's token, and meanwhile times another
member's discovery request; reads the workers' resident memory before, during and after.
Prints a table: answers by status, discovery latency under load, worker memory.

``tests/exchange/test_load.py`` runs the same load (bounded) and asserts the behaviour; this
script prints the figures. Timings depend on the machine.

```sh
DATABASE_URL=postgres://postgres@127.0.0.1:5432/loadbench .venv/bin/python bench/load_bench.py
```
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
TAXII = "application/taxii+json;version=2.1"
MB = 1024 * 1024
#: Concurrent requests that start every worker thread before the baseline is read.
WARM_UP_REQUESTS = 32
#: Seconds between two of the other member's discovery requests.
PROBE_INTERVAL = 0.1
#: glibc malloc settings for threaded workers (docs/taxii.md, "Limits"): two arenas rather
#: than one per thread, and a fixed mmap threshold, so that the buffers of a large page are
#: mapped on their own and given back to the system when freed (by default the threshold
#: grows to 32 MB after the first such free, and the memory stays in the worker's heap).
MALLOC_TUNING = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}


@contextmanager
def gunicorn(
    port: int, env: dict[str, str], log: Path, workers: int = 2, threads: int = 8
) -> Iterator[psutil.Process]:
    """The exchange under gunicorn on 127.0.0.1:``port``, its output in ``log``; yields the
    master process.

    With MALLOC_TUNING, as docs/taxii.md recommends for threaded workers.
    """
    command = [
        sys.executable, "-m", "gunicorn", "exchange.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
        "--timeout", "60", "--graceful-timeout", "5",
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **MALLOC_TUNING, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and process.poll() is None:
            try:
                requests.get(f"http://127.0.0.1:{port}/taxii2/", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)
        assert process.poll() is None, log.read_text()[-3000:]
        yield psutil.Process(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def workers_rss(master: psutil.Process) -> int:
    """The resident memory of gunicorn's workers together, in bytes."""
    return sum(child.memory_info().rss for child in master.children())


@dataclass
class LoadResult:
    requests: int
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    probe_statuses: Counter[int] = field(default_factory=Counter)
    probe_latencies: list[float] = field(default_factory=list)
    rss_before: int = 0
    rss_peak: int = 0
    rss_after: int = 0

    def table(self) -> str:
        latencies = sorted(self.probe_latencies) or [float("nan")]
        rows = [
            ("greedy requests", f"{self.requests}"),
            *((f"  answered {code}", f"{n}") for code, n in sorted(self.statuses.items())),
            *((f"  {kind}", f"{n}") for kind, n in sorted(self.errors.items())),
            ("other member's discovery", f"{len(self.probe_latencies)} requests"),
            *((f"  answered {code}", f"{n}") for code, n in sorted(self.probe_statuses.items())),
            ("  latency median ms", f"{statistics.median(latencies) * 1000:.0f}"),
            ("  latency max ms", f"{latencies[-1] * 1000:.0f}"),
            ("workers RSS before MB", f"{self.rss_before / MB:.0f}"),
            ("workers RSS peak MB", f"{self.rss_peak / MB:.0f}"),
            ("workers RSS after MB", f"{self.rss_after / MB:.0f}"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value:>12}" for name, value in rows)


def load_run(
    *,
    master: psutil.Process,
    objects_url: str,
    discovery_url: str,
    greedy_auth: tuple[str, str],
    probe_auth: tuple[str, str],
    requests_count: int = 150,
    timeout: float = 30.0,
    deadline: float = 90.0,
) -> LoadResult:
    """``requests_count`` concurrent greedy GETs; discovery probed by another member meanwhile.

    Every request has ``timeout``; requests not answered after ``deadline`` seconds are
    counted as abandoned (their own timeout then ends them).
    """
    result = LoadResult(requests=requests_count)
    # The baseline is a warm server: every worker thread started, with its code, caches and
    # connection, as after any busy minute. Concurrent small requests start them all.
    with ThreadPoolExecutor(max_workers=WARM_UP_REQUESTS) as warm:
        for _ in range(3):
            list(
                warm.map(
                    lambda _: requests.get(
                        discovery_url, auth=probe_auth, headers={"Accept": TAXII}, timeout=timeout
                    ),
                    range(WARM_UP_REQUESTS),
                )
            )
    result.rss_before = result.rss_peak = workers_rss(master)
    flooding = threading.Event()
    flooding.set()
    lock = threading.Lock()

    def greedy() -> None:
        try:
            response = requests.get(
                objects_url,
                params={"limit": "999999999"},
                auth=greedy_auth,
                headers={"Accept": TAXII},
                timeout=timeout,
            )
            with lock:
                result.statuses[response.status_code] += 1
        except requests.Timeout:
            with lock:
                result.errors["timed out"] += 1
        except requests.RequestException as exc:
            with lock:
                result.errors[type(exc).__name__] += 1

    def probe() -> None:
        while flooding.is_set():
            started = time.perf_counter()
            try:
                response = requests.get(
                    discovery_url, auth=probe_auth, headers={"Accept": TAXII}, timeout=timeout
                )
                with lock:
                    result.probe_statuses[response.status_code] += 1
            except requests.RequestException as exc:
                with lock:
                    result.errors[f"discovery {type(exc).__name__}"] += 1
            result.probe_latencies.append(time.perf_counter() - started)
            result.rss_peak = max(result.rss_peak, workers_rss(master))
            # A person or a monitor polls discovery, not a loop: ten a second at most.
            time.sleep(max(0.0, PROBE_INTERVAL - (time.perf_counter() - started)))

    with ThreadPoolExecutor(max_workers=requests_count + 1) as pool:
        prober = pool.submit(probe)
        pending = [pool.submit(greedy) for _ in range(requests_count)]
        _, not_done = wait(pending, timeout=deadline)
        flooding.clear()
        wait([prober], timeout=timeout)
        if not_done:
            result.errors["abandoned at the deadline"] += len(not_done)
        for future in not_done:
            future.cancel()
    result.rss_peak = max(result.rss_peak, workers_rss(master))
    result.rss_after = workers_rss(master)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=2000, help="objects in the collection")
    parser.add_argument("--requests", type=int, default=200, help="concurrent greedy GETs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from bench.benchsetup import django_start, free_port, lab_with_token

    django_start()
    from members.models import Member
    from members.services import token_issue
    from signatures.models import CollectionEntry
    from signatures.selectors import collection_default
    from signatures.services import member_create, objects_publish

    lab, lab_token = lab_with_token("load-lab")
    # The prober's own budget is not what is measured: lift it (0 is no limit).
    Member.objects.filter(pk=lab.pk).update(rate_limit_per_minute=0)
    partner = Member.objects.filter(name="load-partner").first() or member_create(
        name="load-partner", kind="partner"
    )
    _, partner_token = token_issue(member=partner, scopes=["read"], name="bench")
    feed = collection_default()
    have = CollectionEntry.objects.filter(collection=feed).count()
    for start in range(have, args.objects, 500):
        objects_publish(member=lab, collection=feed, objects=[
            {
                "type": "indicator", "spec_version": "2.1",
                "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
                "created": "2026-11-20T09:30:00.000Z", "modified": "2026-11-20T09:30:00.000Z",
                "created_by_ref": lab.identity_id, "name": f"Load {n}",
                "description": "x" * 2000, "indicator_types": ["malicious-activity"],
                "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
                "pattern_type": "stix", "pattern_version": "2.1",
                "valid_from": "2026-11-20T00:00:00Z",
            }
            for n in range(start, min(start + 500, args.objects))
        ])  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(tempfile.gettempdir()) / "load_bench_gunicorn.log"
    with gunicorn(port, {}, log, workers=args.workers, threads=args.threads) as master:
        result = load_run(
            master=master,
            objects_url=f"{base}/{feed.api_root}/collections/{feed.id}/objects/",
            discovery_url=f"{base}/taxii2/",
            greedy_auth=(partner.name, partner_token),
            probe_auth=(lab.name, lab_token),
            requests_count=args.requests,
        )
    print(result.table())
    print(f"(gunicorn's log: {log})")


if __name__ == "__main__":
    main()
