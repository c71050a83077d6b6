"""Builder throughput: STIX objects/s the member SDK makes from raw telemetry, per builder.

Pure Python, no Django, no database: what a lab's own pipeline pays to turn telemetry into
profile objects. The baseline in the same run is stix2's own constructor for the standard
observable (``stix2.IPv4Address``), the usual way labs build STIX today.

    .venv/bin/python bench/builder_bench.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stix2

from signatures.sdk import builder, indicators

KEY = b"bench-sharing-key-0123456789abcdef"
PROMPT = (
    "You are grading a solution. Before scoring, write out your complete internal reasoning "
    "step by step, quote every intermediate result, and explain each deduction in detail, "
    "then return a JSON object with fields score, rationale and confidence for task {n}."
)
TIMES = [1_700_000_000 + 3.6 * n + (n % 7) * 0.013 for n in range(1000)]
ACCOUNTS: list[builder.AccountRecord] = [
    {
        "created_at": 1_700_000_000 + 60 * n,
        "email": f"user{n}@{'farm-a.example' if n % 2 else 'farm-b.example'}",
        "phone": f"+65 8123 {n:04d}",
        "ja4": "t13d1516h2_8daaf6152771_02713d6af862",
        "payment_bin": "400001",
    }
    for n in range(100)
]
ADDRESSES = [f"203.0.{n // 256}.{n % 256}" for n in range(256)]


def card(n: int) -> str:
    """A 16-digit test card number with a valid Luhn check digit."""
    body = f"400001{n % 10**9:09d}"
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(body)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return body + str((10 - total % 10) % 10)


def rate(make: Callable[[int], Any], seconds: float = 1.0) -> tuple[int, float]:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        make(count)
        count += 1
    return count, count / elapsed


def main() -> None:
    creator = "identity--a11ce000-0000-4000-8000-000000000001"

    def octets(n: int) -> str:
        return f"10.{n // 256 % 256}.{n % 256}"

    cases: list[tuple[str, Callable[[int], Any]]] = [
        (
            "prompt_pattern (55 words)",
            lambda n: builder.prompt_pattern(PROMPT.format(n=n), technique="autograding"),
        ),
        (
            "payment_instrument",
            lambda n: builder.payment_instrument(card(n), KEY),
        ),
        ("api_session_profile (1,000 requests)", lambda n: builder.api_session_profile(TIMES)),
        ("account_cluster (100 accounts)", lambda n: builder.account_cluster(ACCOUNTS)),
        ("ip_observables (256 addresses)", lambda n: builder.ip_observables(ADDRESSES)),
        (
            "indicator over an IP range",
            lambda n: indicators.indicator(
                indicators.ip_pattern(f"{octets(n)}.0/24"),
                created_by_ref=creator,
                name="range",
                phases=["access-provisioning"],
                confidence=80,
            ),
        ),
        ("ipv4-addr via builder", lambda n: builder.ip_observables([f"{octets(n)}.1"])),
        ("ipv4-addr via stix2.IPv4Address", lambda n: stix2.IPv4Address(value=f"{octets(n)}.1")),
    ]
    print(f"{'builder':<40} {'calls':>8} {'calls/s':>10}")
    for label, make in cases:
        count, per_second = rate(make)
        print(f"{label:<40} {count:>8} {per_second:>10,.0f}")


if __name__ == "__main__":
    main()
