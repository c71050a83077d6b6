"""TAXII 2.1 serving benchmark: the exchange (and optionally another server) under taxii2-client.

Loads N objects into a dedicated PostgreSQL database with COPY, starts the exchange under
gunicorn on 127.0.0.1 (or uses --url), and measures with taxii2-client:

- full poll (Get Objects, as_pages with per_request=1000), objects/s;
- first-page and last-page latency (the last page reached through its ``next`` cursor);
- filtered polls: match[type], match[id], added_after;
- single-object GET (Get An Object) median latency;
- ingest (Add Objects in batches), objects/s.

In the same run it measures what PostgreSQL itself streams for the rows a full poll serves
(the collection's latest entries' ``raw``, in date_added order): a psycopg server-side cursor
and COPY, and the full poll's share of each; the same poll read with orjson instead of
taxii2-client's json; what the detached JWS costs on one 1,000-object page, and what a client
spends parsing one (json and orjson), against the time a page has at half the cursor's rate.
The machine's load average is printed at the start and the end.

``--with-medallion`` starts Medallion 3.0.0 (memory backend, from a separate venv, see
bench/README.md) and ``--with-opentaxii`` OpenTAXII 0.9.3 (its SQL backend on the same
PostgreSQL database, its own tables, from a separate venv), each loaded with the same N
objects, and runs the same measurements against them (``--others get``: only the
single-object GET, match[id] and the first page, for sizes where their full polls would take
hours); ``--compare-url`` points them at any other TAXII 2.1 server. This is a script, not a
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
    # A full poll of 1,000,000 objects is 1,000 requests within a minute or two.
    Member.objects.filter(pk=member.pk).update(rate_limit_per_minute=0)
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
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
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
        # Ingest batches of 500 are published in the request, as no Celery worker runs here.
        "TAXII_ASYNC_OBJECTS": "1000",
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


OPENTAXII_SETUP = """
import json, sys
from opentaxii.http import app
title, password = sys.argv[1], sys.argv[2]
with app.app_context():
    api = app.taxii_server.servers.taxii2.persistence.api
    roots = [r for r in api.get_api_roots() if r.title == "bench"]
    root = roots[0] if roots else api.add_api_root(title="bench", description="bench", default=True)
    found = [c for c in api.get_collections(api_root_id=str(root.id)) if c.title == title]
    collection = found[0] if found else api.add_collection(
        api_root_id=str(root.id), title=title, is_public=False, is_public_write=False
    )
    auth = app.taxii_server.auth.api
    from opentaxii.entities import Account
    auth.update_account(
        Account(id=None, username="bench", permissions={}, is_admin=True), password
    )
    print(json.dumps({"api_root": str(root.id), "collection": str(collection.id)}))
"""


@contextmanager
def opentaxii_server(
    count: int, database_url: str, venv: str, workers: int
) -> Iterator[tuple[str, str, str]]:
    """OpenTAXII 0.9.3 (TAXII 2.1, SQL backend) on the bench database, its own tables,
    holding the same ``count`` objects (COPY, kept for later runs of the same size)."""
    import psycopg

    workdir = Path(tempfile.mkdtemp(prefix="opentaxii-bench-"))
    sqlalchemy_url = database_url.replace("postgres://", "postgresql+psycopg2://", 1)
    (workdir / "config.yml").write_text(
        json.dumps(
            {
                "domain": "127.0.0.1",
                "support_basic_auth": True,
                "return_server_error_details": False,
                "auth_api": {
                    "class": "opentaxii.auth.sqldb.SQLDatabaseAPI",
                    "parameters": {
                        "db_connection": sqlalchemy_url,
                        "create_tables": True,
                        "secret": "bench-secret",
                        "token_ttl_secs": 3600,
                    },
                },
                "taxii1": None,
                "taxii2": {
                    "persistence_api": {
                        "class": "opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI",
                        "parameters": {"db_connection": sqlalchemy_url, "create_tables": True},
                    },
                    "max_content_length": 100 * 1024 * 1024,
                    "title": "OpenTAXII bench",
                    "public_discovery": True,
                },
                "logging": {"opentaxii": "warning", "root": "warning"},
            }
        )  # JSON is YAML
    )
    env = os.environ | {"OPENTAXII_CONFIG": str(workdir / "config.yml")}
    setup = subprocess.run(
        [f"{venv}/bin/python", "-c", OPENTAXII_SETUP, f"Bench {count}", "bench"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    ids = json.loads(setup.stdout.strip().splitlines()[-1])
    with psycopg.connect(database_url, autocommit=True) as conn:
        held = conn.execute(
            "SELECT count(*) FROM opentaxii_stixobject WHERE collection_id = %s",
            [ids["collection"]],
        ).fetchone()
        if held is None or held[0] < count:
            conn.execute(
                "DELETE FROM opentaxii_stixobject WHERE collection_id = %s", [ids["collection"]]
            )
            base = datetime.now(UTC) - timedelta(seconds=count)
            with conn.cursor().copy(
                "COPY opentaxii_stixobject (pk, id, collection_id, type, spec_version, "
                "date_added, version, serialized_data) FROM STDIN"
            ) as copy:
                for n in range(count):
                    obj = bench_object(n, "identity--a11ce000-0000-4000-8000-000000000001", count)
                    data = {k: v for k, v in obj.items() if k not in ("id", "type", "spec_version")}
                    copy.write_row(
                        (
                            uuid.uuid4(), obj["id"], ids["collection"], obj["type"], "2.1",
                            base + timedelta(microseconds=n * 10),
                            datetime.fromisoformat(obj["modified"].replace("Z", "+00:00")),
                            orjson.dumps(data).decode(),
                        )
                    )  # fmt: skip
            conn.execute("ANALYZE opentaxii_stixobject")
    port = free_port()
    process = subprocess.Popen(
        [
            f"{venv}/bin/gunicorn", "opentaxii.http:app", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--log-level", "warning",
            # Each of its pages counts the whole collection: seconds at 1,000,000 objects.
            "--timeout", "600",
        ],
        env=env, cwd=workdir,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/taxii2/")
        yield f"http://127.0.0.1:{port}", f"taxii2/{ids['api_root']}", ids["collection"]
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
    #: The collection resource, for a server whose own cannot be read (OpenTAXII 0.9.3
    #: answers 500 on it under PostgreSQL: its ids are UUID objects that json.dumps refuses).
    info: dict[str, Any] | None = None

    def collection(self) -> Collection:
        return Collection(
            f"{self.url}/{self.api_root}/collections/{self.collection_id}/",
            user=self.user,
            password=self.password,
            collection_info=self.info,
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


def raw_poll(target: Target) -> tuple[int, float]:
    """The full poll as a client that reads each page with orjson: objects, seconds."""
    url = f"{target.url}/{target.api_root}/collections/{target.collection_id}/objects/"
    session = requests.Session()
    session.auth = (target.user, target.password)
    session.headers["Accept"] = "application/taxii+json;version=2.1"
    params: dict[str, Any] = {"limit": 1000}
    count = 0
    started = time.perf_counter()
    while True:
        response = session.get(url, params=params)
        response.raise_for_status()
        envelope = orjson.loads(response.content)
        count += len(envelope.get("objects", []))
        if not envelope.get("more"):
            break
        params["next"] = envelope["next"]
    session.close()
    return count, time.perf_counter() - started


def measure(target: Target, ingest: int, series: int, *, full: bool = True) -> None:
    """``series``: the objects loaded (earlier runs' ingests may have added more).

    Without ``full``: only the first page, match[id] and the single-object GET. The results
    are printed as they come as well, so a run cut short keeps what it measured.
    """
    try:
        _measure(target, ingest, series, full=full)
    finally:
        print(f"{target.name}: {target.results}", flush=True)


def _measure(target: Target, ingest: int, series: int, *, full: bool) -> None:
    results = target.results
    collection = target.collection()
    ids = [object_id(n, series) for n in random.Random(7).sample(range(series), 50)]
    # Warm every worker (first request per process loads the app and its connections).
    for n in range(8):
        collection.get_object(ids[n])
    if not full:
        results["first page ms (1000)"] = (
            f"{median_ms(lambda: collection.get_objects(limit=1000), 3):.1f}"
        )
        results["match[id] ms"] = (
            f"{median_ms(lambda: collection.get_objects(id=random.choice(ids)), 30):.1f}"
        )
        results["get object median ms"] = (
            f"{median_ms(lambda: collection.get_object(random.choice(ids)), 200):.1f}"
        )
        collection._conn.close()
        return
    count, seconds, cursors = full_poll(collection)
    results["objects served"] = f"{count}"
    results["full poll objects/s"] = f"{count / seconds:,.0f}"
    results["full poll s"] = f"{seconds:.2f}"
    raw_count, raw_seconds = raw_poll(target)
    results["full poll objects/s (orjson)"] = f"{raw_count / raw_seconds:,.0f}"
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
        f"{median_ms(lambda: collection.get_object(random.choice(ids)), 200):.1f}"
    )

    if not ingest:
        collection._conn.close()
        return
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
        try:
            status = collection.add_objects(
                {"objects": objects}, wait_for_completion=True, timeout=120
            )
        except requests.HTTPError as exc:
            results["ingest objects/s"] = f"n/a ({exc.response.status_code})"
            break
        if status.status != "complete":
            results["ingest objects/s"] = f"n/a ({status.status} after 120 s)"
            break
        if status.failure_count:
            raise RuntimeError(f"{target.name} refused objects: {status.failures[:1]}")
        added += len(objects)
    else:
        results["ingest objects/s"] = f"{ingest / (time.perf_counter() - started):,.0f}"
    collection._conn.close()


def postgres_stream(database_url: str, collection_id: str) -> dict[str, str]:
    """What PostgreSQL alone streams of the rows a full poll serves: the latest entries'
    ``raw`` in date_added order, by a server-side cursor (fetchmany(1000), as a page) and
    by COPY; rows/s each."""
    import psycopg

    from signatures.models import CollectionEntry, StixObject

    select = (
        f"SELECT o.raw FROM {CollectionEntry._meta.db_table} e "
        f"JOIN {StixObject._meta.db_table} o ON o.id = e.stix_object_id "
        f"WHERE e.collection_id = '{uuid.UUID(collection_id)}' AND e.is_latest "
        "ORDER BY e.date_added, e.id"
    )
    results: dict[str, str] = {}
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        rows = 0
        with conn.cursor(name="bench_poll") as cursor:
            cursor.execute(select)
            while batch := cursor.fetchmany(1000):
                rows += len(batch)
        seconds = time.perf_counter() - started
        results["server-side cursor rows/s"] = f"{rows / seconds:,.0f}"
        conn.rollback()
        started = time.perf_counter()
        copied = 0
        with conn.cursor().copy(f"COPY ({select}) TO STDOUT") as copy:
            for block in copy:
                copied += bytes(block).count(b"\n")
        results["COPY rows/s"] = f"{copied / (time.perf_counter() - started):,.0f}"
        results["rows"] = f"{rows}"
    return results


def page_costs(target: Target) -> dict[str, str]:
    """What one 1,000-object page body costs to sign (the detached JWS, next to its parts)
    and what it costs a client to parse, with the json module taxii2-client uses and with
    orjson."""
    import base64
    import hashlib

    from members.keystore import forum_signer
    from signatures.sdk.jss import jws_detached_sign

    url = f"{target.url}/{target.api_root}/collections/{target.collection_id}/objects/"
    body = requests.get(
        url,
        params={"limit": 1000},
        auth=(target.user, target.password),
        headers={"Accept": "application/taxii+json;version=2.1"},
        timeout=60,
    ).content
    signer = forum_signer()
    if signer is None:
        return {"JWS": "no Forum key"}
    key, kid = signer.private_key, signer.thumbprint
    return {
        "page body bytes": f"{len(body):,}",
        "JWS ms per page": f"{median_ms(lambda: jws_detached_sign(body, key, kid), 21):.2f}",
        "of which base64url ms": (f"{median_ms(lambda: base64.urlsafe_b64encode(body), 21):.2f}"),
        "SHA-512 of the body ms": f"{median_ms(lambda: hashlib.sha512(body).digest(), 21):.2f}",
        "client json.loads ms": f"{median_ms(lambda: json.loads(body), 21):.2f}",
        "client orjson.loads ms": f"{median_ms(lambda: orjson.loads(body), 21):.2f}",
    }


def print_table(targets: list[Target]) -> None:
    rows = list(dict.fromkeys(key for target in targets for key in target.results))
    width = max(len(row) for row in rows) + 2
    columns = [max(len(t.name), *(len(v) for v in t.results.values())) + 2 for t in targets]
    print("".ljust(width) + "".join(t.name.rjust(c) for t, c in zip(targets, columns, strict=True)))
    for row in rows:
        cells = [t.results.get(row, "-").rjust(c) for t, c in zip(targets, columns, strict=True)]
        print(row.ljust(width) + "".join(cells))


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def rate(results: dict[str, str], key: str) -> float:
    return float(results[key].split()[0].replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 1) + 1))
    parser.add_argument("--ingest", type=int, default=1000, help="objects to add, in batches")
    parser.add_argument("--url", help="an exchange already running on this database")
    parser.add_argument("--with-medallion", action="store_true")
    parser.add_argument("--medallion", default="/tmp/medallion-venv/bin/medallion")
    parser.add_argument("--with-opentaxii", action="store_true")
    parser.add_argument("--opentaxii-venv", default="/tmp/opentaxii-venv")
    parser.add_argument(
        "--others",
        choices=["all", "get"],
        default="all",
        help="what to measure on the other servers: everything, or the GETs only",
    )
    parser.add_argument("--compare-url")
    parser.add_argument("--compare-api-root")
    parser.add_argument("--compare-collection")
    parser.add_argument("--compare-user")
    parser.add_argument("--compare-password")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average at start {load_average()}")

    loaded = exchange_load(args.objects, args.database_url)
    if loaded.seconds:
        print(f"loaded {args.objects} objects by COPY in {loaded.seconds:.1f}s")
    targets: list[Target] = []
    others_full = args.others == "all"
    with contextmanager_or_url(args) as url:
        exchange = Target(
            "exchange", url, "feed", loaded.collection_id, loaded.user, loaded.password,
            loaded.creator,
        )  # fmt: skip
        root = ApiRoot(f"{url}/feed/", user=loaded.user, password=loaded.password)
        assert root.max_content_length > 0
        Server(f"{url}/taxii2/", user=loaded.user, password=loaded.password).refresh()
        measure(exchange, args.ingest, args.objects)
        page = page_costs(exchange)
        targets.append(exchange)
    stream = postgres_stream(args.database_url, loaded.collection_id)
    if args.compare_url:
        other = Target(
            "compare", args.compare_url.rstrip("/"), args.compare_api_root,
            args.compare_collection, args.compare_user, args.compare_password,
        )  # fmt: skip
        measure(other, args.ingest, args.objects, full=others_full)
        targets.append(other)
    if args.with_opentaxii:
        with opentaxii_server(
            args.objects, args.database_url, args.opentaxii_venv, args.workers
        ) as (url, api_root, collection_id):
            opentaxii = Target("opentaxii 0.9.3", url, api_root, collection_id, "bench", "bench")
            opentaxii.info = {
                "id": collection_id,
                "title": f"Bench {args.objects}",
                "can_read": True,
                "can_write": True,
                "media_types": ["application/stix+json;version=2.1"],
            }
            # Its Add Objects stores the objects, then its status stays pending for good
            # (the same UUID serialisation error), which taxii2-client waits on forever.
            measure(opentaxii, 0, args.objects, full=others_full)
            targets.append(opentaxii)
    if args.with_medallion:
        with medallion_server(args.objects, args.medallion) as (url, collection_id):
            medallion = Target("medallion 3.0.0", url, "bench", collection_id, "bench", "bench")
            measure(medallion, args.ingest, args.objects, full=others_full)
            targets.append(medallion)
    print(f"\nTAXII 2.1 bench, {args.objects} objects, taxii2-client as_pages per_request=1000")
    print_table(targets)

    results = exchange.results
    cursor_rate = rate(stream, "server-side cursor rows/s")
    copy_rate = rate(stream, "COPY rows/s")
    print(f"\nPostgreSQL alone, the same {stream['rows']} rows (latest entries' raw, in order)")
    for name, key in [
        ("full poll, taxii2-client", "full poll objects/s"),
        ("full poll, orjson client", "full poll objects/s (orjson)"),
    ]:
        served = rate(results, key)
        print(
            f"  {name:26s} {served:>10,.0f} objects/s = {served / cursor_rate:4.0%} of the "
            f"server-side cursor ({cursor_rate:,.0f} rows/s), {served / copy_rate:4.0%} of "
            f"COPY ({copy_rate:,.0f} rows/s)"
        )
    print("\nOne 1,000-object page: the detached JWS (X-ISAC-JWS-Signature), a client's parse")
    for key, value in page.items():
        print(f"  {key:26s} {value:>10}")
    if "client orjson.loads ms" in page:
        budget, read = 2000 / cursor_rate * 1000, 1000 / cursor_rate * 1000
        parse = float(page["client orjson.loads ms"])
        print(
            f"  At half the cursor's rate a whole page has {budget:.1f} ms: reading its rows "
            f"at the cursor's own speed takes {read:.1f} ms and the fastest client parse "
            f"{parse:.1f} ms, which leaves {budget - read - parse:.1f} ms for everything else "
            "(HTTP, authentication, the JWS)."
        )
    print(f"\nmachine: load average at end {load_average()}")


@contextmanager
def contextmanager_or_url(args: argparse.Namespace) -> Iterator[str]:
    if args.url:
        yield args.url.rstrip("/")
        return
    with exchange_server(args.database_url, args.workers) as url:
        yield url


if __name__ == "__main__":
    main()
