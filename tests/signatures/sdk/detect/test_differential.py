"""The compiled matcher answers exactly as stix2-matcher on a seeded, generated corpus.

Patterns over standard observables (ipv4-addr, domain-name, autonomous-system,
email-addr, network-traffic, user-account) with every comparison operator, NOT, AND/OR
inside and across observation expressions, FOLLOWEDBY, and the WITHIN, REPEATS and
START ... STOP qualifiers; observed-data with one to five observations of one to three
objects each. A second corpus holds the shapes the profile's builders write, which are
compiled without the parser (``compile_simple``); that path against the parser itself is
in ``test_compiler.py``. The seed is fixed, so a failure names a case that reproduces.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from stix2matcher.matcher import match as reference_match

from signatures.sdk import indicators
from signatures.sdk.detect.compiler import compile_pattern, compile_simple, matches
from signatures.sdk.detect.events import parse_time_us
from signatures.sdk.normalize import format_epoch_us

SEED = 20261124
CASES = 600
BASE_US = 1_795_478_400_000_000

IPS = ["10.0.0.1", "10.0.0.7", "10.0.1.5", "10.0.3.200", "192.168.1.1"]
CIDRS = ["10.0.0.0/24", "10.0.0.0/16", "10.0.1.0/24", "192.168.0.0/16", "10.0.0.4/30"]
DOMAINS = ["mail.example", "farm.example", "labs.example", "Mail.example"]
EMAILS = ["a@mail.example", "b@farm.example", "c@labs.example"]
ASNS = [64500, 64501, 64511]
PORTS = [80, 443, 8080]
PROTOCOLS = [["tcp"], ["tcp", "http"], ["udp", "dns"]]
LOGINS = ["alice", "bob", "carol01"]

#: (type, path, values the objects take, literals a pattern compares with)
PROPERTIES: list[tuple[str, str, list[Any], list[Any]]] = [
    ("ipv4-addr", "value", IPS, [*IPS[:3], 7]),
    ("domain-name", "value", DOMAINS, [*DOMAINS, "farm"]),
    ("email-addr", "value", EMAILS, EMAILS),
    ("autonomous-system", "number", ASNS, [*ASNS, 64500.0, "64500", True]),
    ("network-traffic", "dst_port", PORTS, [*PORTS, 443.0, 1000]),
    ("network-traffic", "protocols[*]", PROTOCOLS, ["tcp", "http", "dns"]),
    ("network-traffic", "protocols[0]", PROTOCOLS, ["tcp", "udp"]),
    ("user-account", "account_login", LOGINS, [*LOGINS, "bob"]),
]
LIKES = ["%.example", "mail%", "_@%", "farm.exampl_", "10.0.%", "%o%"]
REGEXES = ["^mail", "example$", "[0-9]+", "^(tcp|udp)$", "a.c", "b@", "^10\\.0\\.0\\."]


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def comparison(rng: random.Random, object_type: str | None = None) -> tuple[str, str]:
    choices = [p for p in PROPERTIES if object_type in (None, p[0])]
    object_type, path, _, literals = rng.choice(choices)
    lhs = f"{object_type}:{path}"
    negation = "NOT " if rng.random() < 0.15 else ""
    kind = rng.random()
    if object_type == "ipv4-addr" and kind < 0.3:
        return object_type, f"{lhs} {negation}ISSUBSET '{rng.choice(CIDRS)}'"
    if kind < 0.45:
        return (
            object_type,
            f"{lhs} {negation}{rng.choice(['=', '!='])} {literal(rng.choice(literals))}",
        )
    if kind < 0.6:
        operator = rng.choice([">", "<", ">=", "<="])
        value = rng.choice([v for v in literals if not isinstance(v, bool)])
        return object_type, f"{lhs} {negation}{operator} {literal(value)}"
    if kind < 0.75:
        same = [v for v in literals if type(v) is type(literals[0])]
        picked = rng.sample(same, k=min(len(same), rng.randint(1, 3)))
        return object_type, f"{lhs} {negation}IN ({', '.join(literal(v) for v in picked)})"
    if kind < 0.87:
        return object_type, f"{lhs} {negation}LIKE {literal(rng.choice(LIKES))}"
    return object_type, f"{lhs} {negation}MATCHES {literal(rng.choice(REGEXES))}"


def observation(rng: random.Random) -> str:
    object_type, first = comparison(rng)
    parts = [first]
    for _ in range(rng.choice([0, 0, 1, 2])):
        # Mostly the same object type (AND across types can never hold, as the spec says).
        _, more = comparison(rng, object_type if rng.random() < 0.8 else None)
        parts.append(f"{rng.choice(['AND', 'OR'])} {more}")
    body = " ".join(parts)
    if len(parts) == 3 and rng.random() < 0.5:
        body = f"({parts[0]} {parts[1]}) {parts[2]}"
    return f"[{body}]"


def qualified(rng: random.Random, expression: str) -> str:
    roll = rng.random()
    if roll < 0.15:
        return f"{expression} WITHIN {rng.choice([1, 5, 10, 2.5])} SECONDS"
    if roll < 0.25:
        return f"{expression} REPEATS {rng.choice([2, 3])} TIMES"
    if roll < 0.32:
        start = format_epoch_us(BASE_US + rng.choice([0, 3, 8]) * 1_000_000)
        stop = format_epoch_us(BASE_US + rng.choice([5, 12, 30]) * 1_000_000)
        return f"{expression} START t'{start}' STOP t'{stop}'"
    return expression


def pattern(rng: random.Random) -> str:
    expression = qualified(rng, observation(rng))
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        operator = rng.choice(["AND", "OR", "FOLLOWEDBY"])
        expression = qualified(rng, f"({expression}) {operator} {qualified(rng, observation(rng))}")
    return expression


def sco(rng: random.Random, serial: int) -> dict[str, Any]:
    object_type = rng.choice(sorted({p[0] for p in PROPERTIES}))
    obj: dict[str, Any] = {
        "type": object_type,
        "id": f"{object_type}--{serial:08d}-0000-4000-8000-000000000000",
    }
    for kind, path, values, _ in PROPERTIES:
        if kind == object_type and rng.random() < 0.85:
            obj[path.split("[")[0]] = rng.choice(values)
    return obj


def observed_data(rng: random.Random) -> list[dict[str, Any]]:
    bundles, serial = [], 0
    for n in range(rng.randint(1, 5)):
        objects = []
        for _ in range(rng.randint(1, 3)):
            serial += 1
            objects.append(sco(rng, serial))
        stamp = format_epoch_us(BASE_US + rng.randint(0, 20) * 1_000_000)
        data = {
            "type": "observed-data",
            "id": f"observed-data--{n:08d}-0000-4000-8000-000000000000",
            "first_observed": stamp,
            "last_observed": stamp,
            "number_observed": rng.choice([1, 1, 1, 2]),
            "object_refs": [o["id"] for o in objects],
        }
        bundles.append({"type": "bundle", "objects": [data, *objects]})
    return bundles


@dataclass
class Observed:
    time_us: int
    by_type: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    def objects(self, object_type: str) -> Sequence[Mapping[str, Any]]:
        return self.by_type.get(object_type, [])


def observations(bundles: list[dict[str, Any]]) -> list[Observed]:
    """What the compiled matcher sees: one observation per instance of each observed-data."""
    out = []
    for bundle in bundles:
        data, *objects = bundle["objects"]
        seen = Observed(parse_time_us(data["first_observed"], "first_observed"))
        for obj in objects:
            seen.by_type.setdefault(obj["type"], []).append(obj)
        out.extend([seen] * data["number_observed"])
    return out


def corpus() -> list[tuple[str, list[dict[str, Any]]]]:
    rng = random.Random(SEED)
    return [(pattern(rng), observed_data(rng)) for _ in range(CASES)]


def test_it_answers_like_stix2_matcher_on_the_generated_corpus() -> None:
    disagreements = []
    matched = 0
    for n, (text, bundles) in enumerate(corpus()):
        expected = bool(reference_match(text, bundles, stix_version="2.1"))
        got = matches(compile_pattern(text), observations(bundles))
        matched += expected
        if got != expected:
            disagreements.append((n, text, expected))
    assert disagreements == []
    # The corpus is only a test if it has both answers in fair numbers.
    assert CASES * 0.15 < matched < CASES * 0.85


def simple_pattern(rng: random.Random) -> str:
    """A pattern in one of the builders' shapes (``indicators.py``)."""
    roll = rng.random()
    if roll < 0.25:
        return indicators.ip_pattern(rng.choice([*IPS, *CIDRS]))
    if roll < 0.4:
        return indicators.observation(
            indicators.comparison("autonomous-system", "number", "=", rng.choice(ASNS))
        )
    if roll < 0.55:
        return indicators.observation(
            indicators.comparison(
                rng.choice(["domain-name", "email-addr"]), "value", "=", rng.choice(DOMAINS)
            )
        )
    # Thresholds joined by AND, as timing_pattern writes them, on a numeric property.
    thresholds = [
        (rng.choice(["dst_port", "src_port"]), rng.choice([">", "<", ">=", "<=", "=", "!="]))
        for _ in range(rng.randint(1, 3))
    ]
    return indicators.observation(
        *(
            indicators.comparison("network-traffic", prop, operator, rng.choice([80, 443.0, 1000]))
            for prop, operator in thresholds
        )
    )


def simple_sco(rng: random.Random, serial: int, object_type: str) -> dict[str, Any]:
    """An object, most often of the type the pattern reads, so that both answers occur."""
    obj = sco(rng, serial)
    while rng.random() < 0.7 and obj["type"] != object_type and object_type != "email-addr":
        obj = sco(rng, serial)
    if obj["type"] == "network-traffic" and rng.random() < 0.7:
        obj["src_port"] = rng.choice(PORTS)
    if obj["type"] == "email-addr":
        obj["value"] = rng.choice(DOMAINS)
    return obj


def test_it_answers_like_stix2_matcher_on_the_builders_shapes() -> None:
    rng = random.Random(SEED + 1)
    disagreements, matched = [], 0
    for n in range(CASES):
        text = simple_pattern(rng)
        object_type = text[1 : text.index(":")]
        assert compile_simple(text) is not None, text
        bundles = []
        for m in range(rng.randint(1, 3)):
            objects = [simple_sco(rng, 10 * m + k, object_type) for k in range(rng.randint(1, 3))]
            stamp = format_epoch_us(BASE_US + m * 1_000_000)
            data = {
                "type": "observed-data",
                "id": f"observed-data--{m:08d}-0000-4000-8000-000000000000",
                "first_observed": stamp,
                "last_observed": stamp,
                "number_observed": 1,
                "object_refs": [o["id"] for o in objects],
            }
            bundles.append({"type": "bundle", "objects": [data, *objects]})
        expected = bool(reference_match(text, bundles, stix_version="2.1"))
        matched += expected
        if matches(compile_pattern(text), observations(bundles)) != expected:
            disagreements.append((n, text, expected))
    assert disagreements == []
    assert CASES * 0.15 < matched < CASES * 0.85


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[autonomous-system:number = 64500.0]", True),
        ("[autonomous-system:number = true]", False),
        ("[autonomous-system:number NOT = true]", True),
        ("[autonomous-system:number NOT > 'a']", False),
        ("[autonomous-system:number IN (true, false)]", False),
        ("[autonomous-system:number IN (64500, 1)]", True),
        ("[ipv4-addr:value = '10.0.0.1' AND domain-name:value = 'mail.example']", False),
        ("[ipv4-addr:value = '10.0.0.1'] AND [domain-name:value = 'mail.example']", True),
        ("[ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.1']", False),
        ("[domain-name:value = 'mail.example'] FOLLOWEDBY [ipv4-addr:value = '10.0.0.1']", False),
        ("[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [domain-name:value = 'mail.example']", True),
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/8'] REPEATS 2 TIMES", False),
        ("[network-traffic:protocols[*] = 'http']", True),
        ("[network-traffic:protocols[1] LIKE 'ht%']", True),
        ("[network-traffic:protocols = 'tcp']", False),
    ],
)
def test_it_answers_like_stix2_matcher_on_edge_cases(text: str, expected: bool) -> None:
    objects: list[dict[str, Any]] = [
        {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "10.0.0.1"},
        {"type": "autonomous-system", "id": "autonomous-system--1", "number": 64500},
        {"type": "network-traffic", "id": "network-traffic--1", "protocols": ["tcp", "http"]},
    ]
    later = [{"type": "domain-name", "id": "domain-name--1", "value": "mail.example"}]
    bundles = []
    for n, group in enumerate((objects, later)):
        stamp = format_epoch_us(BASE_US + n * 1_000_000)
        data = {
            "type": "observed-data",
            "id": f"observed-data--{n}",
            "first_observed": stamp,
            "last_observed": stamp,
            "number_observed": 1,
            "object_refs": [o["id"] for o in group],
        }
        bundles.append({"type": "bundle", "objects": [data, *group]})
    assert bool(reference_match(text, bundles, stix_version="2.1")) is expected
    assert matches(compile_pattern(text), observations(bundles)) is expected
