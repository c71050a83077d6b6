"""Lab-side detection: events/s on one core and memory per indicator, against stix2-matcher.

Indicators of the demo campaign's mix (IP ranges and addresses, prompt hashes, prompt
sketches, payment fingerprints, timing thresholds, ASNs) are loaded into a Detector at
1,000, 10,000 and 100,000 indicators, and the same stream of events (1,000 accounts;
a prompt on one event in ten, a card on one in five; some of them hits) is observed.
stix2-matcher (OASIS, 3.0) evaluates a sample of the same (event, indicator) pairs with
each pattern compiled once; its events/s is its pairs/s divided by the indicator count.

    .venv/bin/python bench/detect_bench.py [--sizes 1000 10000 100000] [--events 20000]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stix2matcher.matcher import Pattern as ReferencePattern

from signatures.sdk import builder, indicators
from signatures.sdk.detect import Detector, TelemetryEvent
from signatures.sdk.detect.engine import observed_data
from signatures.sdk.detect.events import EventView, prompt_fields

KEY = b"ai-isac-demo-sharing-key-not-for-production"
LAB = "identity--a11ce000-0000-4000-8000-000000000001"
T0 = 1_795_478_400_000_000
TEMPLATES = (
    "You are an expert tutor. Solve the following problem about {name} and her {n} apples. "
    "Before giving the final answer, write out your complete internal reasoning step by step, "
    "including every intermediate calculation, and do not skip any step.",
    "Act as a strict grader. Here is a student answer written by {name} for question {n}. Score "
    "it from 1 to 10 against the rubric, justify every point you award or deduct, and then "
    "rewrite the answer so it would earn full marks.",
    "Review the following Python function written by {name}. List every bug you find, explain "
    "your reasoning for each one in detail, then critique your own review and produce an "
    "improved final version of the function number {n}.",
)
NAMES = ("Alice", "Bob", "Zhang Wei", "Priya", "Ana", "Mohammed Al-Farsi")
#: Share of each signal in the demo's mix.
MIX = (
    ("ip", 0.30),
    ("asn", 0.10),
    ("payment", 0.25),
    ("prompt", 0.25),
    ("sketch", 0.05),
    ("timing", 0.05),
)


def card(n: int) -> str:
    body = f"400001{n % 10**9:09d}"
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(body)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return body + str((10 - total % 10) % 10)


def ip(n: int) -> str:
    return f"{10 + n // 65536 % 200}.{n // 256 % 256}.{n % 256}"


def patterns(size: int, rng: random.Random, mix: tuple[tuple[str, float], ...] = MIX) -> list[str]:
    out: list[str] = []
    sketches = [
        builder.prompt_pattern(t.format(name="Alice", n=1), technique="other") for t in TEMPLATES
    ]
    for kind, share in mix:
        count = round(size * share)
        for n in range(count):
            if kind == "ip":
                out.append(
                    indicators.ip_pattern(f"{ip(n)}.0/24" if n % 2 else f"{ip(n)}.{n % 250 + 1}")
                )
            elif kind == "asn":
                out.append(f"[autonomous-system:number = {64_500 + n}]")
            elif kind == "payment":
                out.append(indicators.payment_pattern(builder.payment_fingerprint(card(n), KEY)))
            elif kind == "prompt":
                out.append(indicators.prompt_hash_pattern(f"{n:064x}"))
            elif kind == "sketch":
                # Sketches of other prompts, plus the three templates the traffic uses.
                seen = (
                    sketches[n]
                    if n < len(sketches)
                    else builder.prompt_pattern(
                        f"unrelated prompt number {n} " * 12, technique="other"
                    )
                )
                out.append(
                    f"[prompt-pattern:simhash64 = '{seen['simhash64']}' AND "
                    f"prompt-pattern:minhash = '{seen['minhash']}']"
                )
            else:
                out.append(
                    indicators.timing_pattern(
                        {
                            "requests_per_hour": (">", 500 + rng.randrange(5000)),
                            "interval_cv": ("<", round(0.05 + rng.random() / 4, 3)),
                        }
                    )
                )
    return out


def make_events(count: int, rng: random.Random) -> list[TelemetryEvent]:
    prompts = [
        prompt_fields(t.format(name=name, n=n))
        for t in TEMPLATES
        for name in NAMES
        for n in range(3)
    ]
    prompts += [
        prompt_fields(f"an ordinary question number {n} about the weather") for n in range(40)
    ]
    fingerprints = [builder.payment_fingerprint(card(n * 7), KEY) for n in range(2000)]
    events = []
    clock = {f"acct-{a}": T0 + rng.randrange(1_000_000) for a in range(1000)}
    for n in range(count):
        account = f"acct-{rng.randrange(1000)}"
        # Farm accounts (one in ten) are machine-regular; the rest are irregular.
        step = 3_600_000 if int(account[5:]) % 10 == 0 else rng.randrange(1_000_000, 120_000_000)
        clock[account] += step
        fields: dict[str, Any] = {
            "event_id": f"e{n}",
            "time_us": clock[account],
            "account_id": account,
            "source_ip": f"{ip(rng.randrange(400_000))}.{rng.randrange(1, 255)}",
            "asn": 64_000 + rng.randrange(2000),
            "tokens_in": 800 + rng.randrange(400),
        }
        if n % 5 == 0:
            fields["payment_fingerprint"] = rng.choice(fingerprints)
        if n % 10 == 0:
            fields.update(rng.choice(prompts))
        events.append(TelemetryEvent(**fields))
    return events


def run(
    size: int,
    events: list[TelemetryEvent],
    rng: random.Random,
    sample_pairs: int,
    mix: tuple[tuple[str, float], ...],
) -> dict[str, Any]:
    texts = patterns(size, rng, mix)
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    detector = Detector()
    loaded = [
        detector.load(
            indicators.indicator(
                t, created_by_ref=LAB, name="b", phases=["bulk-extraction"], confidence=50
            )
        )
        for t in texts
    ]
    load_s = time.perf_counter() - started
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert all(r.status == "compiled" for r in loaded), [
        r for r in loaded if r.status != "compiled"
    ][:3]
    gc.collect()
    started = time.perf_counter()
    found = sum(len(detector.observe(e)) for e in events)
    observe_s = time.perf_counter() - started

    # stix2-matcher on a random sample of the same (event, indicator) pairs.
    reference = {t: ReferencePattern(t, "2.1") for t in rng.sample(texts, min(len(texts), 200))}
    pairs = [(rng.choice(events), rng.choice(list(reference))) for _ in range(sample_pairs)]
    bundles = {id(e): observed_data(EventView(e), n) for n, (e, _) in enumerate(pairs)}
    started = time.perf_counter()
    for e, text in pairs:
        reference[text].match([bundles[id(e)]])
    pair_s = (time.perf_counter() - started) / len(pairs)
    return {
        "indicators": size,
        "load_s": load_s,
        "memory_per_indicator": memory / size,
        "events_per_s": len(events) / observe_s,
        "matches": found,
        "reference_events_per_s": 1 / (pair_s * size),
        "reference_pairs_per_s": 1 / pair_s,
        "sample": len(pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--sample-pairs", type=int, default=2000)
    parser.add_argument(
        "--timing-share",
        type=float,
        default=dict(MIX)["timing"],
        help="share of timing indicators (taken from the prompt hashes); each one that a "
        "farm account meets is a reported match, so a large share measures the output",
    )
    args = parser.parse_args()
    shares = dict(MIX)
    shares["prompt"] += shares["timing"] - args.timing_share
    shares["timing"] = args.timing_share
    mix = tuple(shares.items())
    load1, load5, load15 = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.2f} {load5:.2f} {load15:.2f}")
    rng = random.Random(2611)
    events = make_events(args.events, rng)
    prompts = sum(e.prompt_sha256 is not None for e in events)
    print(f"events: {len(events)} from 1,000 accounts, {prompts} with a prompt, 1 in 5 with a card")
    print(f"mix: {', '.join(f'{k} {s:.1%}' for k, s in mix)}")
    print()
    header = (
        f"{'indicators':>10} {'load s':>7} {'bytes/ind':>9} {'events/s':>9} {'matches':>8}"
        f" {'stix2-matcher ev/s':>18} {'(pairs/s, sampled)':>20}"
    )
    print(header)
    for size in args.sizes:
        r = run(size, events, random.Random(size), args.sample_pairs, mix)
        print(
            f"{r['indicators']:>10,} {r['load_s']:>7.1f} {r['memory_per_indicator']:>9,.0f}"
            f" {r['events_per_s']:>9,.0f} {r['matches']:>8,} {r['reference_events_per_s']:>18,.2f}"
            f" {r['reference_pairs_per_s']:>10,.0f} ({r['sample']:,})"
        )
    print()
    print(
        "stix2-matcher is too slow to run every pair: it matched a random sample of "
        "(event, indicator) pairs, each pattern compiled once; its events/s is pairs/s "
        "divided by the number of indicators."
    )


if __name__ == "__main__":
    main()
