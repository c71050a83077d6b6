"""Lab-side detection: events/s on one core and memory per indicator, against stix2-matcher.

Indicators of the demo campaign's mix (IP ranges and addresses, prompt hashes, prompt
sketches, payment fingerprints, timing thresholds, ASNs) are loaded into a Detector at
1,000, 10,000 and 100,000 indicators, and the same stream of events (1,000 accounts;
a prompt on one event in ten, a card on one in five) is observed.

The traffic is the same whatever the feed's size, as a lab's traffic is: every indicator
set holds the same attack pool (``ATTACK``: the campaign's ranges, ASNs, cards, prompts and
cadences), which a fixed share of the events carries; the rest of a set is drawn from values
that the benign traffic never uses (other ranges, ASNs, cards and prompts, cadences no
account reaches). So the matches, and the share of events that hit, do not grow with the
feed: what grows is only what the detector must search.

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
import uuid
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
#: Share of each signal in the filler, the indicators beyond the attack pool.
MIX = (
    ("ip", 0.30),
    ("asn", 0.10),
    ("payment", 0.25),
    ("prompt", 0.25),
    ("sketch", 0.05),
    ("timing", 0.05),
)
#: The campaign's values, in every indicator set: (IP ranges, IP addresses, ASNs, cards).
ATTACK_RANGES = [f"198.18.{k}.0/24" for k in range(20)]
ATTACK_ADDRESSES = [f"198.19.0.{k + 1}" for k in range(20)]
ATTACK_ASNS = [64_500 + k for k in range(10)]
ATTACK_CARDS = [1_000_000 + k for k in range(20)]
#: The cadences of the campaign's farm accounts (one request every 3.6 s, 1,000 an hour).
ATTACK_TIMING = (
    {"requests_per_hour": (">", 900), "interval_cv": ("<", 0.1)},
    {"requests_per_hour": (">", 500), "interval_cv": ("<", 0.05)},
)
#: Share of the events that carry an attack value, per signal.
ATTACK_IP_SHARE = 0.02
ATTACK_ASN_SHARE = 0.01
ATTACK_CARD_SHARE = 0.05  # of the events with a card
ATTACK_PROMPT_SHARE = 0.3  # of the events with a prompt
#: Benign accounts are at least this far apart (1 s), so no benign cadence exceeds
#: 3,600 requests an hour, and the filler's timing thresholds start above it.
FILLER_MIN_REQUESTS_PER_HOUR = 5000


def card(n: int) -> str:
    body = f"400001{n % 10**9:09d}"
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(body)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return body + str((10 - total % 10) % 10)


def ip(n: int) -> str:
    """The first three octets of the filler's n-th range, in 10.0.0.0/8 (benign traffic
    comes from 100.64.0.0/10, the attack from 198.18.0.0/15)."""
    return f"10.{n // 256 % 256}.{n % 256}"


def sketch_pattern(prompt: str) -> str:
    seen = builder.prompt_pattern(prompt, technique="other")
    return (
        f"[prompt-pattern:simhash64 = '{seen['simhash64']}' AND "
        f"prompt-pattern:minhash = '{seen['minhash']}']"
    )


def attack_patterns() -> list[str]:
    """The attack pool: what the campaign's traffic matches, in every indicator set."""
    out = [indicators.ip_pattern(v) for v in (*ATTACK_RANGES, *ATTACK_ADDRESSES)]
    out += [f"[autonomous-system:number = {asn}]" for asn in ATTACK_ASNS]
    out += [
        indicators.payment_pattern(builder.payment_fingerprint(card(n), KEY)) for n in ATTACK_CARDS
    ]
    for template in TEMPLATES:
        seen = prompt_fields(template.format(name="Alice", n=1))
        out.append(indicators.prompt_hash_pattern(seen["prompt_sha256"]))
        out.append(sketch_pattern(template.format(name="Alice", n=1)))
    out += [indicators.timing_pattern(t) for t in ATTACK_TIMING]
    return out


def patterns(size: int, rng: random.Random) -> list[str]:
    """The attack pool and, up to ``size``, filler in the proportions of ``MIX``: values
    the benign traffic never carries."""
    out = attack_patterns()
    filler = size - len(out)
    for kind, share in MIX:
        for n in range(round(filler * share)):
            if kind == "ip":
                out.append(
                    indicators.ip_pattern(f"{ip(n)}.0/24" if n % 2 else f"{ip(n)}.{n % 250 + 1}")
                )
            elif kind == "asn":
                out.append(f"[autonomous-system:number = {200_000 + n}]")
            elif kind == "payment":
                out.append(indicators.payment_pattern(builder.payment_fingerprint(card(n), KEY)))
            elif kind == "prompt":
                out.append(indicators.prompt_hash_pattern(f"{n:064x}"))
            elif kind == "sketch":
                out.append(sketch_pattern(f"unrelated prompt number {n} " * 12))
            else:
                threshold = FILLER_MIN_REQUESTS_PER_HOUR + rng.randrange(50_000)
                out.append(
                    indicators.timing_pattern(
                        {
                            "requests_per_hour": (">", threshold),
                            "interval_cv": ("<", round(0.05 + rng.random() / 4, 3)),
                        }
                    )
                )
    return out


def make_events(count: int, rng: random.Random) -> list[TelemetryEvent]:
    attack_prompts = [
        prompt_fields(t.format(name=name, n=n))
        for t in TEMPLATES
        for name in NAMES
        for n in range(3)
    ]
    prompts = [
        prompt_fields(f"an ordinary question number {n} about the weather in city {n % 7}")
        for n in range(40)
    ]
    attack_cards = [builder.payment_fingerprint(card(n), KEY) for n in ATTACK_CARDS]
    cards = [builder.payment_fingerprint(card(500_000 + n), KEY) for n in range(2000)]
    attack_ips = [*ATTACK_ADDRESSES, *(r.replace(".0/24", ".77") for r in ATTACK_RANGES)]
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
            "source_ip": rng.choice(attack_ips)
            if rng.random() < ATTACK_IP_SHARE
            else f"100.{64 + rng.randrange(64)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "asn": rng.choice(ATTACK_ASNS)
            if rng.random() < ATTACK_ASN_SHARE
            else 1000 + rng.randrange(2000),
            "tokens_in": 800 + rng.randrange(400),
        }
        if n % 5 == 0:
            attack = rng.random() < ATTACK_CARD_SHARE
            fields["payment_fingerprint"] = rng.choice(attack_cards if attack else cards)
        if n % 10 == 0:
            attack = rng.random() < ATTACK_PROMPT_SHARE
            fields.update(rng.choice(attack_prompts if attack else prompts))
        events.append(TelemetryEvent(**fields))
    return events


def indicator_objects(texts: list[str]) -> list[dict[str, Any]]:
    """Indicators of the patterns, as the feed delivers them. The envelope is built and
    checked once (``indicators.indicator`` parses its pattern, as the exchange did on
    publish): a lab receives checked indicators, and that parse is not the detector's."""
    envelope = indicators.indicator(
        texts[0], created_by_ref=LAB, name="b", phases=["bulk-extraction"], confidence=50
    )
    return [
        {**envelope, "id": f"indicator--{uuid.UUID(int=n, version=4)}", "pattern": text}
        for n, text in enumerate(texts)
    ]


def run(
    size: int, events: list[TelemetryEvent], rng: random.Random, sample_pairs: int
) -> dict[str, Any]:
    texts = patterns(size, rng)
    objects = indicator_objects(texts)
    # Memory is measured on a load of its own: tracing slows the load down, and a detector
    # built while tracing observed at half the speed (100,000 indicators, first pass).
    tracemalloc.start()
    traced = Detector()
    for obj in objects:
        traced.load(obj)
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del traced
    gc.collect()
    started = time.perf_counter()
    detector = Detector()
    loaded = [detector.load(obj) for obj in objects]
    load_s = time.perf_counter() - started
    assert all(r.status == "compiled" for r in loaded), [
        r for r in loaded if r.status != "compiled"
    ][:3]
    gc.collect()
    # CPU time of this process (one thread, so one core): the host is shared, and wall
    # time would also count the time other processes hold the core.
    started = time.process_time()
    per_event = [len(detector.observe(e)) for e in events]
    observe_s = time.process_time() - started

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
        "matches": sum(per_event),
        "hit_share": sum(1 for n in per_event if n) / len(events),
        "reference_events_per_s": 1 / (pair_s * size),
        "reference_pairs_per_s": 1 / pair_s,
        "sample": len(pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--sample-pairs", type=int, default=2000)
    args = parser.parse_args()
    load1, load5, load15 = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.2f} {load5:.2f} {load15:.2f}")
    rng = random.Random(2611)
    events = make_events(args.events, rng)
    prompts = sum(e.prompt_sha256 is not None for e in events)
    print(f"events: {len(events)} from 1,000 accounts, {prompts} with a prompt, 1 in 5 with a card")
    print(
        f"traffic: the same at every size; an attack pool of {len(attack_patterns())} indicators"
        f" is in every set, and {ATTACK_IP_SHARE:.0%} of the events come from its addresses,"
        f" {ATTACK_ASN_SHARE:.0%} from its ASNs, {ATTACK_CARD_SHARE:.0%} of the cards and"
        f" {ATTACK_PROMPT_SHARE:.0%} of the prompts are its own, and one account in ten keeps"
        " its cadence; the other values never match"
    )
    print(f"filler beyond the pool: {', '.join(f'{k} {s:.0%}' for k, s in MIX)}")
    print()
    header = (
        f"{'indicators':>10} {'load s':>7} {'bytes/ind':>9} {'events/s':>9} {'matches':>8}"
        f" {'hit':>6} {'stix2-matcher ev/s':>18} {'(pairs/s, sampled)':>20}"
    )
    print(header)
    for size in args.sizes:
        r = run(size, events, random.Random(size), args.sample_pairs)
        print(
            f"{r['indicators']:>10,} {r['load_s']:>7.1f} {r['memory_per_indicator']:>9,.0f}"
            f" {r['events_per_s']:>9,.0f} {r['matches']:>8,} {r['hit_share']:>6.1%}"
            f" {r['reference_events_per_s']:>18,.2f}"
            f" {r['reference_pairs_per_s']:>10,.0f} ({r['sample']:,})"
        )
    print()
    print(
        "events/s: per second of the process's CPU time, on one core. "
        "hit: the share of events with at least one match. stix2-matcher is too slow to run "
        "every pair: it matched a random sample of (event, indicator) pairs, each pattern "
        "compiled once; its events/s is pairs/s divided by the number of indicators."
    )


if __name__ == "__main__":
    main()
