"""Publish throughput: objects/s accepted for a 1,000-object bundle, every check included.

Runs the exchange in-process (Django's test client: the full middleware, authentication,
parsing, validation, signing and storage path, without a socket) against the database
named by DATABASE_URL, which it migrates. Use a scratch database: it adds members and
collections.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_publish \\
        .venv/bin/python bench/publish_bench.py
    DATA_DIR=/tmp/bench-sqlite .venv/bin/python bench/publish_bench.py   # SQLite

Three tables:

1. **One publisher** (REST ``POST /api/v1/objects/``): seconds and objects/s for fresh
   objects, for a re-publish of the same bundle (every object "present", what a retrying
   client costs) and for an update (a new ``modified`` on every indicator, the observables
   unchanged: a lab revising its signatures), next to ``stix2.parse`` alone on the same
   objects (the reference library's own parsing, with its pattern grammar, and nothing
   else: no schemas, no signing, no storage). The bundle is built by the SDK in this
   process, which warms the pattern caches the server shares with it; they are emptied
   before each publish, so that the server parses every pattern as it would a lab's.
2. **Collection size** (``--sizes``): the fresh rate into a collection already holding N
   objects, loaded by COPY, to show that it does not depend on N.
3. **Publishers in parallel** (``--publishers``): P processes, each its own lab, publishing
   through the publish service at once, into one shared collection and into one collection
   each; aggregate objects/s and the ratio to one publisher, next to the ratio P processes
   of plain Python get on the same host (the ceiling the CPUs set).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from benchsetup import database_engine, django_start, lab_with_token

django_start()

import stix2  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from members.models import Member  # noqa: E402
from signatures.bulk_insert import rows_copy  # noqa: E402
from signatures.models import Collection, CollectionEntry, StixObject  # noqa: E402
from signatures.sdk import builder, indicators, profile  # noqa: E402
from signatures.sdk.flat_patterns import flat_comparisons  # noqa: E402


def bundle_objects(size: int, creator: str) -> list[dict[str, Any]]:
    """``size`` objects: prompt observables and the indicators over them, half each."""
    objects = []
    for n in range(size // 2):
        prompt = builder.prompt_pattern(
            f"Explain your chain of thought for task {uuid.uuid4()} in full detail, step {n}.",
            technique="cot-extraction",
        )
        objects.append(prompt)
        objects.append(
            indicators.indicator(
                indicators.pattern_for(prompt),
                created_by_ref=creator,
                name=f"bench prompt {n}",
                phases=["bulk-extraction"],
                confidence=60,
            )
        )
    return objects


def bundle_of(size: int, creator: str) -> bytes:
    objects = bundle_objects(size, creator)
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})


def revised(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same objects with a new version of every indicator (one second later)."""
    later = []
    for obj in objects:
        if obj["type"] == "indicator":
            modified = datetime.fromisoformat(obj["modified"]) + timedelta(seconds=1)
            obj = {**obj, "modified": modified.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
        later.append(obj)
    return later


def caches_empty() -> None:
    """Forget the patterns the SDK parsed while building the bundle in this process."""
    profile._pattern_errors.cache_clear()
    flat_comparisons.cache_clear()


def stix2_parse_seconds(objects: list[dict[str, Any]]) -> float:
    """stix2's own parse of the same objects (allow_custom for the profile's observables)."""
    caches_empty()
    started = time.perf_counter()
    for obj in objects:
        stix2.parse(obj, allow_custom=True, version="2.1")
    return time.perf_counter() - started


def one_publisher(client: Client, lab: Member, size: int, rounds: int) -> list[float]:
    print(
        f"{'run':<10} {'round':>5} {'seconds':>8} {'objects/s':>10} {'accepted':>9} "
        f"{'present':>8} {'stix2.parse objects/s':>22} {'exchange/stix2':>15}"
    )
    fresh_rates = []
    for round_number in range(1, rounds + 1):
        objects = bundle_objects(size, lab.identity_id)
        body = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})
        parse_rate = size / stix2_parse_seconds(objects)
        updated = orjson.dumps(
            {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": revised(objects)}
        )
        for label, sent in (("fresh", body), ("re-publish", body), ("update", updated)):
            caches_empty()
            started = time.perf_counter()
            response = client.post("/api/v1/objects/", sent, content_type="application/json")
            elapsed = time.perf_counter() - started
            report = response.json()
            if response.status_code != 200:
                raise SystemExit(f"publish failed: {response.status_code} {report}")
            rate = size / elapsed
            if label == "fresh":
                fresh_rates.append(rate)
            print(
                f"{label:<10} {round_number:>5} {elapsed:>8.3f} {rate:>10,.0f} "
                f"{report['accepted']:>9} {report['present']:>8} "
                + (f"{parse_rate:>22,.0f} {rate / parse_rate:>14.1f}x" if label == "fresh" else "")
            )
    return fresh_rates


def collection_grow(collection: Collection, lab: Member, to_size: int) -> None:
    """COPY synthetic indicators into ``collection`` until it holds ``to_size`` entries."""
    have = CollectionEntry.objects.filter(collection=collection).count()
    chunk = 20_000
    while have < to_size:
        count = min(chunk, to_size - have)
        now = timezone.now()
        with transaction.atomic():
            rows, entries = [], []
            for n in range(count):
                stix_id = f"indicator--{uuid.uuid4()}"
                raw = orjson.dumps(
                    {
                        "type": "indicator",
                        "id": stix_id,
                        "n": have + n,
                        "created_by_ref": lab.identity_id,
                    }
                ).decode()
                rows.append(
                    [stix_id, "indicator", "2.1", "2026-12-01T00:00:00.000Z", now,
                     lab.identity_id, False, "amber", raw, raw, lab.pk, now]
                )  # fmt: skip
                entries.append((stix_id,))
            pks = rows_copy(
                StixObject,
                ["stix_id", "type", "spec_version", "version", "modified", "created_by_ref",
                 "revoked", "tlp", "raw", "data", "publisher_id", "received_at"],
                rows,
                count=count,
            )  # fmt: skip
            locked = Collection.objects.select_for_update().get(pk=collection.pk)
            entry_rows = [
                [locked.pk, pk, locked.next_date_added(now), stix_id, "indicator",
                 "2026-12-01T00:00:00.000Z", "2.1", True, True]
                for pk, (stix_id,) in zip(pks, entries, strict=True)
            ]  # fmt: skip
            rows_copy(
                CollectionEntry,
                ["collection_id", "stix_object_id", "date_added", "stix_id", "type", "version",
                 "spec_version", "is_latest", "is_first"],
                entry_rows,
                count=count,
            )  # fmt: skip
            locked.save(update_fields=["last_date_added"])
        have += count
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _publisher_process(
    name: str, collection_pk: str | None, size: int, rounds: int, start: Any, results: Any
) -> None:
    from django.db import connections

    connections.close_all()  # not the parent's connection
    from signatures.services import objects_publish

    lab = Member.objects.get(name=name)
    collection = Collection.objects.get(pk=collection_pk) if collection_pk else None
    bundles = [bundle_objects(size, lab.identity_id) for _ in range(rounds)]
    caches_empty()
    start.wait()
    started = time.perf_counter()
    for objects in bundles:
        report = objects_publish(member=lab, objects=objects, collection=collection)
        if report.count("accepted") != size:
            raise SystemExit(f"{name}: {report.count('refused')} refused")
    results.put((started, time.perf_counter(), size * rounds))


def _spin(loops: int, start: Any, results: Any) -> None:
    start.wait()
    started = time.perf_counter()
    total = 0
    for n in range(loops):
        total += n
    results.put(time.perf_counter() - started)


def cpu_scaling(counts: list[int], loops: int = 10_000_000) -> dict[int, float]:
    """How much more work N processes of plain Python get done than one, on this host: the
    ceiling for N publishers (shared or hyper-threaded CPUs give less than N)."""
    context = multiprocessing.get_context("fork")
    seconds: dict[int, float] = {}
    for count in sorted({1, *counts}):
        start, results = context.Barrier(count), context.Queue()
        processes = [
            context.Process(target=_spin, args=(loops, start, results)) for _ in range(count)
        ]
        for process in processes:
            process.start()
        seconds[count] = max(results.get(timeout=600) for _ in processes)
        for process in processes:
            process.join()
    return {count: count * seconds[1] / seconds[count] for count in seconds}


def publishers_parallel(counts: list[int], size: int, rounds: int) -> None:
    from signatures.services import collection_create, member_create

    ceiling = cpu_scaling(counts)
    print(
        f"{'publishers':>10} {'collection':<11} {'objects':>8} {'seconds':>8} "
        f"{'objects/s':>10} {'vs one':>7} {'cpu ceiling':>12}"
    )
    context = multiprocessing.get_context("fork")
    single: dict[str, float] = {}
    for count in sorted({1, *counts}):  # one publisher first: the others' reference
        for shared in (True, False):
            if shared and count == 1:
                label = "shared"
            elif count == 1:
                continue
            else:
                label = "shared" if shared else "one each"
            suffix = uuid.uuid4().hex[:8]
            labs = [member_create(name=f"bench-p{n}-{suffix}", kind="lab") for n in range(count)]
            collections = [
                collection_create(title=f"bench {suffix} {n}", readers=labs, writers=labs)
                for n in range(1 if shared else count)
            ]
            connection.close()
            start = context.Barrier(count)
            results = context.Queue()
            processes = [
                context.Process(
                    target=_publisher_process,
                    args=(
                        lab.name,
                        str(collections[0 if shared else n].pk),
                        size,
                        rounds,
                        start,
                        results,
                    ),
                )
                for n, lab in enumerate(labs)
            ]
            for process in processes:
                process.start()
            finished = [results.get(timeout=600) for _ in processes]
            for process in processes:
                process.join()
                if process.exitcode != 0:
                    raise SystemExit(f"a publisher failed ({process.exitcode})")
            began = min(item[0] for item in finished)
            ended = max(item[1] for item in finished)
            total = sum(item[2] for item in finished)
            rate = total / (ended - began)
            single.setdefault("rate", rate)
            print(
                f"{count:>10} {label:<11} {total:>8} {ended - began:>8.2f} {rate:>10,.0f} "
                f"{rate / single['rate']:>6.2f}x {ceiling[count]:>11.2f}x"
            )
    print(
        "cpu ceiling: the work N processes of plain Python get done at once, over one "
        "process's, on this host right now (N independent cores would give N)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sizes",
        default="",
        help="collection sizes to measure at, e.g. 0,100000,1000000 (PostgreSQL)",
    )
    parser.add_argument("--publishers", default="", help="parallel publisher counts, e.g. 1,2,4")
    args = parser.parse_args()

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average at start: {load}; CPUs: {os.cpu_count()}")
    lab, token = lab_with_token("bench-lab")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    # As exchange/wsgi.py does once the application is loaded.
    gc.collect()
    gc.freeze()
    print(f"database: {database_engine()}; bundle: {args.objects} objects; rounds: {args.rounds}")
    print("\n## One publisher, REST API")
    one_publisher(client, lab, args.objects, args.rounds)

    if args.sizes:
        print("\n## Fresh rate by collection size (REST API, the default collection)")
        print(f"{'objects in collection':>22} {'median objects/s':>17}")
        collection = Collection.objects.default()
        for size in (int(text) for text in args.sizes.split(",")):
            collection_grow(collection, lab, size)
            rates = []
            for _ in range(args.rounds):
                body = bundle_of(args.objects, lab.identity_id)
                caches_empty()
                started = time.perf_counter()
                response = client.post("/api/v1/objects/", body, content_type="application/json")
                rates.append(args.objects / (time.perf_counter() - started))
                if response.status_code != 200:
                    raise SystemExit(f"publish failed: {response.status_code}")
            held = CollectionEntry.objects.filter(collection=collection).count()
            print(f"{held:>22,} {sorted(rates)[len(rates) // 2]:>17,.0f}")

    if args.publishers:
        print("\n## Publishers in parallel (the publish service, separate processes and labs)")
        publishers_parallel(
            [int(text) for text in args.publishers.split(",")], args.objects, args.rounds
        )


if __name__ == "__main__":
    main()
