"""Signing cost: sign/verify throughput and what signing adds to a 1,000-object publish.

Runs the exchange in-process (Django's test client: middleware, authentication, parsing,
validation, signing and storage, without a socket) against the database named by
DATABASE_URL, which it migrates. Use a scratch database: it adds members and objects.

    DATA_DIR=/tmp/bench-signing .venv/bin/python bench/signing_bench.py          # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_signing \
        DATA_DIR=/tmp/bench-signing .venv/bin/python bench/signing_bench.py      # PostgreSQL

Prints one table. Rows:

- ``jss sign`` / ``jss verify``: the pure SDK (``signatures.sdk.jss``), one indicator at a time;
- ``publish, signing skipped``: the publish path with its signing step replaced by a no-op,
  the cost of everything else (the baseline);
- ``publish, custodial``: unsigned objects, signed by the exchange with the lab's custodial key;
- ``publish, client-signed``: objects the lab signed itself, verified by the exchange;
- ``GET 1000 + JWS``: one REST page of 1,000 objects with its transport signature, and the
  detached JWS over that body alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from benchsetup import database_engine, django_start, lab_with_token
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

django_start()

from django.test import Client  # noqa: E402

from members.keystore import forum_signer  # noqa: E402
from signatures.object_signing import PublishSigning  # noqa: E402
from signatures.sdk import jss  # noqa: E402
from signatures.services import signing_key_register  # noqa: E402


def indicator(creator: str, n: int) -> dict[str, Any]:
    """A realistic indicator (about 600 bytes) with a fresh id."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-11-20T09:30:00.123Z",
        "modified": "2026-11-20T09:30:00.123Z",
        "created_by_ref": creator,
        "name": f"Account-farm egress range {n}",
        "description": "Templated prompt harvesting consistent with model distillation.",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value ISSUBSET '10.{n // 256 % 256}.{n % 256}.0/24']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": "2026-11-20T00:00:00Z",
        "confidence": 80,
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
        "labels": ["distillation", "account-farm"],
    }


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}"


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    lab, token = lab_with_token(f"bench-signing-{uuid.uuid4().hex[:8]}")
    lab_key = Ed25519PrivateKey.generate()
    signing_key_register(member=lab, jwk=jss.public_jwk(lab_key.public_key()))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    print(
        f"database: {database_engine()}; bundle: {args.objects} objects; "
        f"best of {args.rounds} rounds"
    )
    rows: list[tuple[str, str, str]] = []

    # The pure SDK, on the same objects the publish rows use.
    signer = jss.Signer(lab_key, signee=lab.identity_id)
    verifier = jss.Verifier(
        [
            jss.public_jwk(
                lab_key.public_key(), signee=lab.identity_id, valid_from="2026-01-01T00:00:00Z"
            )
        ]
    )
    sample = [indicator(lab.identity_id, n) for n in range(args.objects)]
    signed: list[dict[str, Any]] = []
    sign_time = min(
        timed(lambda: signed.__setitem__(slice(None), [signer.sign(o) for o in sample]))
        for _ in range(args.rounds)
    )
    verify_time = min(
        timed(lambda: [verifier.verify(o) for o in signed]) for _ in range(args.rounds)
    )
    assert all(verifier.verify(o).valid for o in signed[:10])
    rows.append(
        (
            "jss sign (ms per object)",
            f"{sign_time * 1000 / args.objects:.3f}",
            rate(args.objects, sign_time),
        )
    )
    rows.append(
        (
            "jss verify (ms per object)",
            f"{verify_time * 1000 / args.objects:.3f}",
            rate(args.objects, verify_time),
        )
    )

    def publish(objects: list[dict[str, Any]]) -> float:
        body = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})
        start = time.perf_counter()
        response = client.post("/api/v1/objects/", data=body, content_type="application/json")
        seconds = time.perf_counter() - start
        result = response.json()
        assert response.status_code == 200 and result["accepted"] == len(objects), result
        return seconds

    def fresh(sign: bool) -> list[dict[str, Any]]:
        objects = [indicator(lab.identity_id, n) for n in range(args.objects)]
        return [signer.sign(o) for o in objects] if sign else objects

    apply = PublishSigning.apply
    PublishSigning.apply = lambda self, item: None  # type: ignore[method-assign]
    try:
        baseline = min(publish(fresh(False)) for _ in range(args.rounds))
    finally:
        PublishSigning.apply = apply  # type: ignore[method-assign]
    custodial = min(publish(fresh(False)) for _ in range(args.rounds))
    client_signed = min(publish(fresh(True)) for _ in range(args.rounds))
    for name, seconds in [
        ("publish, signing skipped", baseline),
        ("publish, custodial", custodial),
        ("publish, client-signed", client_signed),
    ]:
        extra = f" (+{(seconds / baseline - 1) * 100:.0f}%)" if seconds is not baseline else ""
        rows.append((name, f"{seconds * 1000:.0f}{extra}", rate(args.objects, seconds)))

    page_times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        response = client.get("/api/v1/objects/", {"limit": 1000, "type": "indicator"})
        page_times.append(time.perf_counter() - start)
        assert response.status_code == 200 and "X-ISAC-JWS-Signature" in response
    body = response.content
    forum = forum_signer()
    assert forum is not None
    jws_time = min(
        timed(lambda: jss.jws_detached_sign(body, forum.private_key, forum.thumbprint))
        for _ in range(args.rounds)
    )
    rows.append(
        ("GET 1000 + JWS (page)", f"{min(page_times) * 1000:.1f}", rate(1000, min(page_times)))
    )
    rows.append((f"JWS alone ({len(body) // 1024} KiB body)", f"{jws_time * 1000:.2f}", "-"))

    print(f"{'measurement':<32} {'ms':>26} {'objects/s':>10}")
    for name, ms, per_second in rows:
        print(f"{name:<32} {ms:>26} {per_second:>10}")
    print(f"median page time: {statistics.median(page_times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
