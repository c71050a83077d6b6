"""TAXII 2.1 serving benchmark: the exchange (and optionally another server) under taxii2-client.

Loads N objects into a dedicated PostgreSQL database with COPY, starts the exchange under
gunicorn on 127.0.0.1 (or uses --url), and measures with taxii2-client:

- full poll (Get Objects, as_pages with per_request=1000), objects/s;
- first-page and last-page latency (the last page reached through its ``next`` cursor);
- filtered polls: match[type], match[id], added_after;
- single-object GET (Get An Object) median latency;
- ingest (Add Objects in batches), objects/s.

``--with-medallion`` starts Medallion 3.0.0 (memory backend, from a separate venv, see
bench/README.md) loaded with the same N objects and runs the same measurements against
it; ``--compare-url`` points them at any other TAXII 2.1 server. This is a script, not a
test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["indicator"] * 8 + ["infrastructure", "attack-pattern"]
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


# --- Objects ---------------------------------------------------------------------------------


def object_id(n: int, series: int) -> str:
    """Ids differ per series (the --objects of a load), so loads of several sizes coexist."""
    return f"{TYPES[n % len(TYPES)]}--{uuid.UUID(int=(series << 40) | n, version=4)}"


def bench_object(n: int, creator: str, series: int) -> dict[str, Any]:
    """A ~1 KB STIX 2.1 object, about the size of a signed signature on the exchange."""
    object_type = TYPES[n % len(TYPES)]
    stamp = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    obj: dict[str, Any] = {
        "type": object_type,
        "spec_version": "2.1",
        "id": object_id(n, series),
        "created": stamp,
        "modified": stamp,
        "created_by_ref": creator,
        "name": f"Bench object {n}",
        "description": "Distillation account farm egress observed across member labs. " * 4,
        "object_marking_refs": [TLP_GREEN],
        "labels": ["distillation", "account-farm"],
    }
    if object_type == "indicator":
        obj |= {
            "indicator_types": ["malicious-activity"],
            "pattern": f"[ipv4-addr:value = '198.51.{n // 250 % 250}.{n % 250}']",
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": stamp,
        }
    elif object_type == "infrastructure":
        obj["infrastructure_types"] = ["anonymization"]
    # Stands in for the X.590 signature every served object carries.
    obj["x_bench_signature"] = {"algorithm": "Ed25519", "value": "A" * 86, "thumbprint": "B" * 43}
    return obj


# --- Loading the exchange's database ---------------------------------------------------------


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def database_create(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


@dataclass
class Loaded:
    collection_id: str
    user: str
    password: str
    creator: str
    seconds: float = 0.0


def exchange_load(count: int, database_url: str) -> Loaded:
    """Migrate, create a bench member and collection, COPY ``count`` objects into it."""
    database_create(database_url)
    django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from members.models import Member
    from members.services import token_issue
    from signatures.models import Collection, CollectionEntry, StixObject
    from signatures.services import collection_create, member_create

    member = Member.objects.filter(name="bench-lab").first()
    if member is None:
        if not Member.objects.filter(kind="forum").exists():
            member_create(name="bench-forum", kind="forum")
        member = member_create(name="bench-lab", kind="lab")
    _, token = token_issue(member=member, scopes=["read", "publish"])
    title = f"Bench {count}"
    collection = Collection.objects.filter(title=title).first()
    if collection is not None and collection.entries.count() >= count:
        return Loaded(str(collection.id), member.name, token, member.identity_id)
    if collection is not None:
        collection.delete()
    collection = collection_create(title=title, readers=[member], writers=[member])

    started = time.perf_counter()
    objects_table = StixObject._meta.db_table
    entries_table = CollectionEntry._meta.db_table
    now = datetime.now(UTC)
    base = now - timedelta(microseconds=count * 10)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {objects_table}")
        first_pk = cursor.fetchone()[0] + 1
        raw_cursor = cursor.cursor
        with raw_cursor.copy(
            f"COPY {objects_table} (id, stix_id, type, spec_version, version, modified, "
            "created_by_ref, revoked, tlp, raw, data, publisher_id, received_at) FROM STDIN"
        ) as copy:
            for n in range(count):
                obj = bench_object(n, member.identity_id, count)
                raw = orjson.dumps(obj).decode()
                modified = datetime.fromisoformat(obj["modified"].replace("Z", "+00:00"))
                version = obj["modified"][:-1] + "000Z"
                copy.write_row(
                    (
                        first_pk + n, obj["id"], obj["type"], "2.1", version, modified,
                        member.identity_id, False, "green", raw, raw, member.pk, now,
                    )
                )  # fmt: skip
        with raw_cursor.copy(
            f"COPY {entries_table} (collection_id, stix_object_id, date_added, stix_id, type, "
            "version, spec_version, is_latest, is_first) FROM STDIN"
        ) as copy:
            for n in range(count):
                obj_type = TYPES[n % len(TYPES)]
                stix_id = object_id(n, count)
                stamp = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
                version = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
                copy.write_row(
                    (
                        collection.id, first_pk + n, base + timedelta(microseconds=n * 10),
                        stix_id, obj_type, version, "2.1", True, True,
                    )
                )  # fmt: skip
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{objects_table}', 'id'), "
            f"(SELECT max(id) FROM {objects_table}))"
        )
        cursor.execute(f"ANALYZE {objects_table}")
        cursor.execute(f"ANALYZE {entries_table}")
    Collection.objects.filter(pk=collection.pk).update(
        last_date_added=base + timedelta(microseconds=count * 10)
    )
    loaded = Loaded(str(collection.id), member.name, token, member.identity_id)
    loaded.seconds = time.perf_counter() - started
    return loaded


# --- Servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def exchange_server(database_url: str, workers: int) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SITE_URL": url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "exchange.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(f"{url}/taxii2/")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def medallion_server(count: int, medallion: str) -> Iterator[tuple[str, str]]:
    """Medallion 3.0.0 with its memory backend holding the same ``count`` objects."""
    collection_id = str(uuid.uuid4())
    base = datetime.now(UTC) - timedelta(seconds=count)
    objects, manifest = [], []
    for n in range(count):
        obj = bench_object(n, "identity--a11ce000-0000-4000-8000-000000000001", count)
        stamp = (base + timedelta(microseconds=n * 10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        objects.append(obj)
        manifest.append(
            {
                "id": obj["id"],
                "date_added": stamp,
                "version": obj["modified"],
                "media_type": "application/stix+json;version=2.1",
            }
        )
    data = {
        "/discovery": {
            "title": "Medallion bench",
            "default": "http://127.0.0.1/bench/",
            "api_roots": ["http://127.0.0.1/bench/"],
        },
        "bench": {
            "information": {
                "title": "bench",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 100 * 1024 * 1024,
            },
            "status": [],
            "collections": [
                {
                    "id": collection_id,
                    "title": "Bench",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": objects,
                    "manifest": manifest,
                }
            ],
        },
    }
    workdir = Path(tempfile.mkdtemp(prefix="medallion-bench-"))
    (workdir / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(workdir / "data.json"),
        },
        "users": {"bench": "bench"},
        "taxii": {"max_page_size": 1000},
    }
    (workdir / "config.json").write_text(json.dumps(config))
    port = free_port()
    process = subprocess.Popen(
        [medallion, "--host", "127.0.0.1", "--port", str(port), str(workdir / "config.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/taxii2/", timeout=300)
        yield f"http://127.0.0.1:{port}", collection_id
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


# --- Measurements ----------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    api_root: str
    collection_id: str
    user: str
    password: str
    creator: str = "identity--a11ce000-0000-4000-8000-000000000001"
    results: dict[str, str] = field(default_factory=dict)

    def collection(self) -> Collection:
        return Collection(
            f"{self.url}/{self.api_root}/collections/{self.collection_id}/",
            user=self.user,
            password=self.password,
        )


def median_ms(action: Callable[[], Any], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def full_poll(collection: Collection, **filters: Any) -> tuple[int, float, list[str]]:
    """Objects, seconds, and the ``next`` values in order (the last opens the last page)."""
    started = time.perf_counter()
    count = 0
    cursors: list[str] = []
    for envelope in as_pages(collection.get_objects, per_request=1000, **filters):
        count += len(envelope.get("objects", []))
        if envelope.get("next"):
            cursors.append(envelope["next"])
    return count, time.perf_counter() - started, cursors


def measure(target: Target, ingest: int, series: int) -> None:
    """``series``: the objects loaded (earlier runs' ingests may have added more)."""
    results = target.results
    collection = target.collection()
    # Warm every worker (first request per process loads the app and its connections).
    for _ in range(8):
        collection.get_objects(limit=10)
    count, seconds, cursors = full_poll(collection)
    results["objects served"] = f"{count}"
    results["full poll objects/s"] = f"{count / seconds:,.0f}"
    results["full poll s"] = f"{seconds:.2f}"
    results["first page ms (1000)"] = (
        f"{median_ms(lambda: collection.get_objects(limit=1000), 5):.1f}"
    )
    if cursors:
        last = cursors[-1]
        try:
            results["last page ms (cursor)"] = (
                f"{median_ms(lambda: collection.get_objects(limit=1000, next=last), 5):.1f}"
            )
        except requests.HTTPError as exc:
            results["last page ms (cursor)"] = f"n/a ({exc.response.status_code})"
    typed, seconds, _ = full_poll(collection, type="attack-pattern")
    results["match[type] poll objects/s"] = f"{typed / seconds:,.0f} ({typed})"

    ids = [object_id(n, series) for n in random.Random(7).sample(range(series), 50)]
    results["match[id] ms"] = (
        f"{median_ms(lambda: collection.get_objects(id=random.choice(ids)), 30):.1f}"
    )
    try:
        # The exchange's cursors are positions, valid on the manifest too: its last page.
        manifest = collection.get_manifest(limit=1000, next=cursors[-1])
    except (requests.HTTPError, IndexError):
        manifest = collection.get_manifest(limit=1000)
    records = manifest.get("objects", [])
    if records:
        # added_after the middle record of that page: a tail poll of a few hundred objects.
        after = records[len(records) // 2]["date_added"]
        tail, seconds, _ = full_poll(collection, added_after=after)
        results["added_after poll ms"] = f"{seconds * 1000:.1f} ({tail})"
    results["get object median ms"] = (
        f"{median_ms(lambda: collection.get_object(random.choice(ids)), 50):.1f}"
    )

    batch = 500
    started = time.perf_counter()
    offset = 10_000_000 + random.Random().randrange(1_000_000) * 1000
    added = 0
    while added < ingest:
        objects = [
            {k: v for k, v in bench_object(offset + added + i, target.creator, series).items()
             if k != "x_bench_signature"}
            for i in range(min(batch, ingest - added))
        ]  # fmt: skip
        status = collection.add_objects({"objects": objects}, wait_for_completion=True)
        if status.failure_count:
            raise RuntimeError(f"{target.name} refused objects: {status.failures[:1]}")
        added += len(objects)
    results["ingest objects/s"] = f"{ingest / (time.perf_counter() - started):,.0f}"
    collection._conn.close()


def print_table(targets: list[Target]) -> None:
    rows = list(dict.fromkeys(key for target in targets for key in target.results))
    width = max(len(row) for row in rows) + 2
    columns = [max(len(t.name), *(len(v) for v in t.results.values())) + 2 for t in targets]
    print("".ljust(width) + "".join(t.name.rjust(c) for t, c in zip(targets, columns, strict=True)))
    for row in rows:
        cells = [t.results.get(row, "-").rjust(c) for t, c in zip(targets, columns, strict=True)]
        print(row.ljust(width) + "".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 1) + 1))
    parser.add_argument("--ingest", type=int, default=1000, help="objects to add, in batches")
    parser.add_argument("--url", help="an exchange already running on this database")
    parser.add_argument("--with-medallion", action="store_true")
    parser.add_argument("--medallion", default="/tmp/medallion-venv/bin/medallion")
    parser.add_argument("--compare-url")
    parser.add_argument("--compare-api-root")
    parser.add_argument("--compare-collection")
    parser.add_argument("--compare-user")
    parser.add_argument("--compare-password")
    args = parser.parse_args()

    loaded = exchange_load(args.objects, args.database_url)
    if loaded.seconds:
        print(f"loaded {args.objects} objects by COPY in {loaded.seconds:.1f}s")
    targets: list[Target] = []
    with contextmanager_or_url(args) as url:
        exchange = Target(
            "exchange", url, "feed", loaded.collection_id, loaded.user, loaded.password,
            loaded.creator,
        )  # fmt: skip
        root = ApiRoot(f"{url}/feed/", user=loaded.user, password=loaded.password)
        assert root.max_content_length > 0
        Server(f"{url}/taxii2/", user=loaded.user, password=loaded.password).refresh()
        measure(exchange, args.ingest, args.objects)
        targets.append(exchange)
    if args.compare_url:
        other = Target(
            "compare", args.compare_url.rstrip("/"), args.compare_api_root,
            args.compare_collection, args.compare_user, args.compare_password,
        )  # fmt: skip
        measure(other, args.ingest, args.objects)
        targets.append(other)
    if args.with_medallion:
        with medallion_server(args.objects, args.medallion) as (url, collection_id):
            medallion = Target("medallion 3.0.0", url, "bench", collection_id, "bench", "bench")
            measure(medallion, args.ingest, args.objects)
            targets.append(medallion)
    print(f"\nTAXII 2.1 bench, {args.objects} objects, taxii2-client as_pages per_request=1000")
    print_table(targets)


@contextmanager
def contextmanager_or_url(args: argparse.Namespace) -> Iterator[str]:
    if args.url:
        yield args.url.rstrip("/")
        return
    with exchange_server(args.database_url, args.workers) as url:
        yield url


if __name__ == "__main__":
    main()
