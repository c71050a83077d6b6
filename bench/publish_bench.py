"""Publish throughput: objects/s accepted by POST /api/v1/objects/ for one bundle.

Runs the exchange in-process (Django's test client: the full middleware, authentication,
parsing, validation, signing and storage path, without a socket) against the database
named by DATABASE_URL, which it migrates. Use a scratch database: it adds members.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_publish \
        .venv/bin/python bench/publish_bench.py
    DATA_DIR=/tmp/bench-sqlite .venv/bin/python bench/publish_bench.py   # SQLite

Prints a table: bundle size, seconds, objects/s, for fresh objects and for a re-publish
of the same bundle (every object "present"), which is what a retrying client costs.
"""

from __future__ import annotations

import argparse
import time
import uuid

import orjson
from benchsetup import database_engine, django_start, lab_with_token

django_start()

from django.test import Client  # noqa: E402

from signatures.sdk import builder, indicators  # noqa: E402


def bundle_of(size: int, creator: str) -> bytes:
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
    return orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    lab, token = lab_with_token("bench-lab")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")

    print(f"database: {database_engine()}; bundle: {args.objects} objects; rounds: {args.rounds}")
    print(
        f"{'run':<10} {'round':>5} {'seconds':>9} {'objects/s':>10} {'accepted':>9} {'present':>8}"
    )
    for round_number in range(1, args.rounds + 1):
        body = bundle_of(args.objects, lab.identity_id)
        for label in ("fresh", "re-publish"):
            started = time.perf_counter()
            response = client.post("/api/v1/objects/", body, content_type="application/json")
            elapsed = time.perf_counter() - started
            report = response.json()
            if response.status_code != 200:
                raise SystemExit(f"publish failed: {response.status_code} {report}")
            print(
                f"{label:<10} {round_number:>5} {elapsed:>9.3f} {args.objects / elapsed:>10.0f} "
                f"{report['accepted']:>9} {report['present']:>8}"
            )


if __name__ == "__main__":
    main()
