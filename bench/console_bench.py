"""Analyst console at campaign scale: the queue and the dashboard over N objects.

Loads N objects (default 100,000) into a dedicated PostgreSQL database with COPY, as
bench/taxii_bench.py's ``exchange_load`` does: three labs publishing network, prompt and
payment indicators (a tenth of them repeating another lab's pattern, so corroboration is
real), sightings of other labs' indicators, address observables and CIDR indicators, at
TLP:CLEAR, GREEN and AMBER, received over 30 days, with a triage row for one object in 50.
Then it times the worker's count of the pool (``console.pool_count``: the dashboard's numbers
and every object's corroboration, which the pages read), and the console's pages in-process
with Django's test client, signed in as an analyst: the queue (default sort, page 20, sorts
by confidence, corroboration, state, kind and lab, a CIDR search, a text search) and the
dashboard, each the median of ``--repeat`` runs after one warm-up, with the number of SQL
queries the page makes. Next to each page it times the plain
SQL aggregate that is the least any page showing those numbers must run (no visibility rule,
no latest-version rule): what the database itself costs for the same answer.

The machine's load average is printed at the start and the end. This is a script, not a
test: timings depend on the machine.

    .venv/bin/python bench/console_bench.py --objects 100000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from taxii_bench import database_create, django_setup  # noqa: E402

TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
}
PHASES = ["account-acquisition", "access-provisioning", "bulk-extraction"]
LABS = ("bench-aurora", "bench-borealis", "bench-cirrus")
TRIAGE_STATES = ("under-review", "released", "members-only", "retired")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def stix_id(object_type: str, n: int, series: int) -> str:
    return f"{object_type}--{uuid.UUID(int=(series << 48) | (7 << 40) | n, version=4)}"


def _pattern(n: int) -> str:
    """A unique pattern of one of the three kinds."""
    kind = n % 3
    if kind == 0:
        return f"[ipv4-addr:value = '198.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}']"
    if kind == 1:
        return f"[prompt-template:normalized_sha256 = '{n:064x}']"
    return f"[payment-instrument:fingerprint = '{(n * 7919):064x}']"


def bench_object(n: int, labs: list[Any], series: int, count: int) -> tuple[dict[str, Any], Any]:
    """Object n and the lab that publishes it (see the module docstring for the mix)."""
    lab = labs[n % len(labs)]
    stamp = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)).strftime(
        "%Y-%m-%dT%H:%M:%S.%f"
    )[:-3] + "Z"
    tlp = "amber" if n % 7 == 0 else "clear" if n % 11 == 0 else "green"
    common = {
        "spec_version": "2.1",
        "created": stamp,
        "modified": stamp,
        "created_by_ref": lab.identity_id,
        "object_marking_refs": [TLP[tlp]],
    }
    role = n % 10
    if role == 8:
        value = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        return {"type": "ipv4-addr", "spec_version": "2.1", "id": stix_id("ipv4-addr", n, series),
                "value": value}, lab  # fmt: skip
    if role == 7 and n >= 5:
        return {
            "type": "sighting",
            "id": stix_id("sighting", n, series),
            **common,
            "sighting_of_ref": stix_id("indicator", n - 5, series),
            "count": n % 500 + 1,
            "first_seen": stamp,
            "last_seen": stamp,
        }, lab
    if role == 6 and n >= 5:
        pattern = _pattern(n - 5)  # another lab's pattern (5 is not a multiple of 3)
    elif role == 9:
        pattern = f"[ipv4-addr:value ISSUBSET '100.{n // 256 % 64 + 64}.{n % 256}.0/24']"
    else:
        pattern = _pattern(n)
    return {
        "type": "indicator",
        "id": stix_id("indicator", n, series),
        **common,
        "name": f"Campaign signature {n}",
        "description": "Distillation account farm seen across member labs.",
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": stamp,
        "confidence": n % 101,
        "kill_chain_phases": [
            {"kill_chain_name": "ai-isac-distillation", "phase_name": PHASES[n % 3]}
        ],
    }, lab


def console_load(count: int, database_url: str) -> tuple[Any, float]:
    """Migrate, create the Forum, three labs, a collection and an analyst; COPY the objects.
    A load of the same size is kept and reused."""
    database_create(database_url)
    django_setup(database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User

    from exchange.console.models import Triage
    from members.models import Member, Membership
    from signatures.models import Collection, CollectionEntry, StixObject
    from signatures.services import collection_create, member_create

    forum = Member.objects.filter(kind="forum").first() or member_create(
        name="bench-forum", kind="forum"
    )
    labs = [
        Member.objects.filter(name=name).first() or member_create(name=name, kind="lab")
        for name in LABS
    ]
    analyst = User.objects.filter(username="bench-analyst").first()
    if analyst is None:
        analyst = User.objects.create_user("bench-analyst", is_staff=True)
        Membership.objects.create(user=analyst, member=forum)
        analyst.groups.add(Group.objects.get(name="analyst"))
    title = f"Console bench {count}"
    collection = Collection.objects.filter(title=title).first()
    if collection is not None and collection.entries.count() >= count:
        return analyst, 0.0
    if collection is not None:
        collection.delete()
    collection = collection_create(title=title, readers=[forum, *labs], writers=labs)

    started = time.perf_counter()
    objects_table = StixObject._meta.db_table
    entries_table = CollectionEntry._meta.db_table
    now = datetime.now(UTC)
    spread = timedelta(days=30) / count
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {objects_table}")
        first_pk = cursor.fetchone()[0] + 1
        raw_cursor = cursor.cursor
        rows = []
        with raw_cursor.copy(
            f"COPY {objects_table} (id, stix_id, type, spec_version, version, modified, "
            "created_by_ref, revoked, tlp, raw, data, publisher_id, received_at) FROM STDIN"
        ) as copy:
            for n in range(count):
                obj, lab = bench_object(n, labs, count, count)
                raw = orjson.dumps(obj).decode()
                modified_text = obj.get("modified")
                modified = (
                    datetime.fromisoformat(modified_text.replace("Z", "+00:00"))
                    if modified_text
                    else None
                )
                version = modified_text[:-1] + "000000Z" if modified_text else ""
                marking = (obj.get("object_marking_refs") or [""])[0]
                tlp = next((level for level, ref in TLP.items() if ref == marking), "")
                received = now - spread * (count - n)
                copy.write_row(
                    (
                        first_pk + n, obj["id"], obj["type"], "2.1", version, modified,
                        obj.get("created_by_ref", ""), False, tlp, raw, raw, lab.pk, received,
                    )
                )  # fmt: skip
                rows.append((first_pk + n, received, obj["id"], obj["type"], version))
        with raw_cursor.copy(
            f"COPY {entries_table} (collection_id, stix_object_id, date_added, stix_id, type, "
            "version, spec_version, is_latest, is_first) FROM STDIN"
        ) as copy:
            for pk, received, object_id, object_type, version in rows:
                copy.write_row(
                    (collection.id, pk, received, object_id, object_type, version, "2.1",
                     True, True)
                )  # fmt: skip
        with raw_cursor.copy(
            f"COPY {Triage._meta.db_table} (stix_id, state, publisher_tlp, updated_at) FROM STDIN"
        ) as copy:
            for n, (_, received, object_id, _, _) in enumerate(rows):
                if n % 50 == 0:
                    copy.write_row((object_id, TRIAGE_STATES[n // 50 % 4], "", received))
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{objects_table}', 'id'), "
            f"(SELECT max(id) FROM {objects_table}))"
        )
        for table in (objects_table, entries_table, Triage._meta.db_table):
            cursor.execute(f"ANALYZE {table}")
    Collection.objects.filter(pk=collection.pk).update(last_date_added=now)
    return analyst, time.perf_counter() - started


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median milliseconds of ``repeat`` runs after one warm-up, and the last result."""
    result = run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def sql_ms(sql: str, repeat: int) -> float:
    from django.db import connection

    def run() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    return timed(run, repeat)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/bench_console"
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DATA_DIR", "/tmp/console-bench-data")
    Path(os.environ["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    print(f"start: {load_average()}")
    analyst, seconds = console_load(args.objects, args.database_url)
    if seconds:
        print(f"loaded {args.objects:,} objects by COPY in {seconds:.1f} s")
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from exchange.console.models import CorroborationCount
    from exchange.console.selectors import QUEUE_TYPES
    from exchange.console.services.pool_counts import pool_count
    from signatures.models import StixObject

    client = Client()
    client.force_login(analyst)
    objects = StixObject._meta.db_table
    queued = ", ".join(f"'{t}'" for t in sorted(QUEUE_TYPES))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {objects}")
        print(f"objects stored: {cursor.fetchone()[0]:,}")
        cursor.execute("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
        print(f"pg_trgm: {'installed' if cursor.fetchone() else 'missing (text search scans)'}")

    # The least SQL each page's numbers need: a count and one page of rows for the queue,
    # the grouped counts for the dashboard.
    plain_queue = (
        f"SELECT count(*) FROM {objects} WHERE type IN ({queued}); "
        f"SELECT id FROM {objects} WHERE type IN ({queued}) ORDER BY received_at DESC, id DESC "
        "LIMIT 50"
    )
    plain_dashboard = (
        f"SELECT type, tlp, count(*) FROM {objects} WHERE type IN ({queued}) GROUP BY 1, 2; "
        f"SELECT publisher_id, received_at::date, count(*) FROM {objects} "
        f"WHERE type IN ({queued}) AND received_at > now() - interval '14 days' GROUP BY 1, 2"
    )
    pages = [
        ("queue (newest first)", "/console/", plain_queue),
        ("queue page 20", "/console/?page=20", plain_queue),
        ("queue sort -confidence", "/console/?sort=-confidence", plain_queue),
        ("queue sort -corroboration", "/console/?sort=-corroboration", plain_queue),
        ("queue search CIDR", "/console/?q=100.70.0.0/16", plain_queue),
        ("queue search text", "/console/?q=signature+4242", plain_queue),
        ("queue sort state", "/console/?sort=state", plain_queue),
        ("queue sort -kind", "/console/?sort=-kind", plain_queue),
        ("queue sort lab", "/console/?sort=lab", plain_queue),
        ("dashboard", "/console/dashboard/", plain_dashboard),
    ]
    # What the worker does every CONSOLE_COUNT_SECONDS when the pool changed: the pages
    # below read its result.
    count_ms, counted = timed(pool_count, max(1, args.repeat // 2))
    print(
        f"pool count (worker): {count_ms:,.0f} ms; "
        f"{CorroborationCount.objects.count():,} corroborated objects, "
        f"{counted.counts['indicators']:,} indicators"
    )
    print()
    print(f"{'page':<28}{'median ms':>10}{'queries':>9}{'rows':>8}{'plain SQL ms':>14}")
    for label, url, plain in pages:

        def get(url: str = url) -> Any:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response, len(queries)

        ms, (response, query_count) = timed(get, args.repeat)
        shown = re.search(rb'id="queue-count">([\d,]+\+?) object', response.content)
        count = shown.group(1).decode() if shown else "-"
        plain_ms = sum(sql_ms(statement, args.repeat) for statement in plain.split("; "))
        print(f"{label:<28}{ms:>10.1f}{query_count:>9}{count!s:>8}{plain_ms:>14.1f}")
    print()
    print(f"end: {load_average()}")


if __name__ == "__main__":
    main()
