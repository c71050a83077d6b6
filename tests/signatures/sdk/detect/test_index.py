"""Candidate generation: the anchors of a compiled pattern, and the index that answers an
event with the indicators whose anchors it meets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from signatures.sdk import builder, sketches
from signatures.sdk.detect.compiler import NEAR_MIN_WORDS, compile_pattern
from signatures.sdk.detect.index import (
    BAND_SLICES,
    Anchor,
    Index,
    expr_anchors,
    is_exact,
    typed,
)

SKETCH = builder.prompt_pattern("Write out your full internal reasoning " * 8, technique="other")


class Seen:
    """One event's objects by type."""

    time_us = 0

    def __init__(self, *objects: Mapping[str, Any]) -> None:
        self.by_type: dict[str, list[Mapping[str, Any]]] = {}
        for obj in objects:
            self.by_type.setdefault(obj["type"], []).append(obj)

    def objects(self, object_type: str) -> Sequence[Mapping[str, Any]]:
        return self.by_type.get(object_type, [])


def anchors(pattern: str) -> list[Anchor]:
    (leaf,) = compile_pattern(pattern).leaves
    return expr_anchors(leaf.expr)


def index_of(**patterns: str) -> Index:
    index = Index()
    for key, pattern in patterns.items():
        index.add(key, anchors(pattern))
    return index


def candidates(index: Index, *objects: Mapping[str, Any]) -> set[str]:
    seen = Seen(*objects)
    return index.candidates(seen, list(seen.by_type))


# --- keys and anchors ----------------------------------------------------------------------


def test_it_keys_values_as_the_matchers_equality_does() -> None:
    assert typed(1) == typed(1.0) == ("n", 1)
    assert typed(True) == ("b", True) != typed(1)
    assert typed("1") == ("s", "1") != typed(1)
    assert typed(["a"]) is None
    assert typed(None) is None


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ipv4-addr:value = '10.0.0.1']", [("eq", "ipv4-addr", ("value",), ("s", "10.0.0.1"))]),
        (
            "[x-lab:v IN (1, 2.5)]",
            [
                ("eq", "x-lab", ("v",), ("n", 1)),
                ("eq", "x-lab", ("v",), ("b", True)),  # Python's set holds True == 1
                ("eq", "x-lab", ("v",), ("n", 2.5)),
            ],
        ),
        (
            "[ipv4-addr:value ISSUBSET '10.1.2.3/16']",
            [("net", "ipv4-addr", ("value",), 4, 16, 0x0A01)],
        ),
        ("[x-lab:n > 5]", [("num", "x-lab", ("n",), ">", 5)]),
        ("[x-lab:n > 'five']", [("type", "x-lab")]),
        ("[x-lab:v != 1]", [("type", "x-lab")]),
        ("[x-lab:v NOT = 1]", [("type", "x-lab")]),
        ("[x-lab:v LIKE 'a%']", [("type", "x-lab")]),
        ("[x-lab:v MATCHES 'a']", [("type", "x-lab")]),
        ("[x-lab:v ISSUPERSET '10.0.0.1']", [("type", "x-lab")]),
        ("[prompt-pattern:simhash64 = '0000000000000000']", [("type", "prompt-pattern")]),
    ],
)
def test_it_anchors_each_comparison_on_what_a_table_can_answer(
    pattern: str, expected: list[Anchor]
) -> None:
    assert sorted(anchors(pattern), key=repr) == sorted(expected, key=repr)


def test_it_anchors_a_minhash_on_every_band_of_its_signature() -> None:
    found = anchors(f"[prompt-pattern:minhash = '{SKETCH['minhash']}']")
    values = tuple(sketches.decode_minhash(SKETCH["minhash"]))
    assert found == [("band", n, values[s]) for n, s in enumerate(BAND_SLICES)]
    # 39 bands over 128 positions: 38 unequal positions cannot touch every band.
    assert len(BAND_SLICES) == 39
    assert [s.start for s in BAND_SLICES[1:]] == [s.stop for s in BAND_SLICES[:-1]]
    assert (BAND_SLICES[0].start, BAND_SLICES[-1].stop) == (0, 128)


def test_it_anchors_and_on_its_most_selective_operand_and_or_on_all_of_them() -> None:
    assert anchors("[x-lab:v LIKE 'a%' AND x-lab:n > 5 AND x-lab:v = 'ab']") == [
        ("eq", "x-lab", ("v",), ("s", "ab"))
    ]
    assert anchors("[x-lab:v LIKE 'a%' AND x-lab:n > 5]") == [("num", "x-lab", ("n",), ">", 5)]
    assert anchors("[x-lab:v = 'a' OR x-lab:n > 5]") == [
        ("eq", "x-lab", ("v",), ("s", "a")),
        ("num", "x-lab", ("n",), ">", 5),
    ]


@pytest.mark.parametrize(
    ("pattern", "exact"),
    [
        ("[ipv4-addr:value = '10.0.0.1']", True),
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", True),
        ("[ipv4-addr:value NOT = '10.0.0.1']", False),
        ("[x-lab:v IN ('a')]", False),
        ("[x-lab:n > 5]", False),
        ("[x-lab:v = 'a' AND x-lab:w = 'b']", False),
        (f"[prompt-pattern:minhash = '{SKETCH['minhash']}']", False),
        ("[prompt-pattern:simhash64 = '0000000000000000']", False),
    ],
)
def test_it_takes_an_anchor_hit_as_a_match_only_for_a_lone_plain_comparison(
    pattern: str, exact: bool
) -> None:
    (leaf,) = compile_pattern(pattern).leaves
    assert is_exact(leaf.expr) is exact


# --- the index -----------------------------------------------------------------------------


def test_it_finds_exact_values_by_type_path_and_typed_value() -> None:
    index = index_of(
        ip="[ipv4-addr:value = '10.0.0.1']",
        asn="[autonomous-system:number = 64511]",
        member="[x-lab:v IN (1, 2)]",
    )
    assert candidates(index, {"type": "ipv4-addr", "value": "10.0.0.1"}) == {"ip"}
    assert candidates(index, {"type": "ipv4-addr", "value": "10.0.0.2"}) == set()
    assert candidates(index, {"type": "autonomous-system", "number": 64511.0}) == {"asn"}
    assert candidates(index, {"type": "autonomous-system", "number": "64511"}) == set()
    assert candidates(index, {"type": "x-lab", "v": True}) == {"member"}
    assert candidates(index, {"type": "x-lab", "v": 2.0}) == {"member"}
    assert candidates(index, {"type": "x-lab", "v": "1"}) == set()
    assert candidates(index, {"type": "domain-name", "value": "10.0.0.1"}) == set()


def test_it_finds_cidr_blocks_holding_an_address_or_a_smaller_block() -> None:
    index = index_of(
        wide="[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
        narrow="[ipv4-addr:value ISSUBSET '10.1.2.0/24']",
        v6="[ipv6-addr:value ISSUBSET '2001:db8::/32']",
    )
    assert candidates(index, {"type": "ipv4-addr", "value": "10.1.2.3"}) == {"wide", "narrow"}
    assert candidates(index, {"type": "ipv4-addr", "value": "10.9.0.1"}) == {"wide"}
    assert candidates(index, {"type": "ipv4-addr", "value": "10.1.0.0/16"}) == {"wide"}
    assert candidates(index, {"type": "ipv4-addr", "value": "11.1.2.3"}) == set()
    assert candidates(index, {"type": "ipv4-addr", "value": "not an address"}) == set()
    assert candidates(index, {"type": "ipv6-addr", "value": "2001:db8:ff::1"}) == {"v6"}
    assert candidates(index, {"type": "ipv6-addr", "value": "::ffff:10.1.2.3"}) == set()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4, {"under-5", "at-most-5"}),
        (5, {"at-least-5", "at-most-5"}),
        (6, {"over-5", "at-least-5"}),
        (5.5, {"over-5", "at-least-5"}),
        ("6", set()),
        (True, set()),
    ],
)
def test_it_finds_numeric_thresholds_by_bisection(value: Any, expected: set[str]) -> None:
    index = index_of(
        **{
            "over-5": "[x-lab:n > 5]",
            "at-least-5": "[x-lab:n >= 5]",
            "under-5": "[x-lab:n < 5]",
            "at-most-5": "[x-lab:n <= 5]",
        }
    )
    assert candidates(index, {"type": "x-lab", "n": value}) == expected


def test_it_keeps_equal_thresholds_apart_by_indicator() -> None:
    index = index_of(a="[x-lab:n > 5]", b="[x-lab:n > 5]", c="[x-lab:n > 9]")
    assert candidates(index, {"type": "x-lab", "n": 7}) == {"a", "b"}
    index.remove("a", anchors("[x-lab:n > 5]"))
    assert candidates(index, {"type": "x-lab", "n": 7}) == {"b"}
    assert candidates(index, {"type": "x-lab", "n": 10}) == {"b", "c"}


def test_it_finds_every_near_duplicate_prompt_through_a_shared_band() -> None:
    index = index_of(near=f"[prompt-pattern:minhash = '{SKETCH['minhash']}']")
    signature = sketches.decode_minhash(SKETCH["minhash"])
    # 38 unequal positions, spread to touch as many bands as they can: one band is untouched.
    spread = {s.start for s in BAND_SLICES[:38]}
    changed = [v ^ 1 if n in spread else v for n, v in enumerate(signature)]
    prompt = {
        "type": "prompt-pattern",
        "minhash": sketches.encode_minhash(changed),
        "word_count": NEAR_MIN_WORDS,
    }
    assert candidates(index, prompt) == {"near"}
    every_band = {s.start for s in BAND_SLICES}
    unrelated = [v ^ 1 if n in every_band else v for n, v in enumerate(signature)]
    assert candidates(index, {**prompt, "minhash": sketches.encode_minhash(unrelated)}) == set()
    assert candidates(index, {**prompt, "word_count": NEAR_MIN_WORDS - 1}) == set()


def test_it_hands_every_event_of_a_type_to_indicators_anchored_on_the_type() -> None:
    index = index_of(like="[x-lab:v LIKE 'a%']")
    assert candidates(index, {"type": "x-lab", "v": "zzz"}) == {"like"}
    assert candidates(index, {"type": "x-other", "v": "abc"}) == set()


def test_it_forgets_a_removed_indicator_and_the_types_it_read() -> None:
    patterns = {
        "ip": "[ipv4-addr:value = '10.0.0.1']",
        "net": "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
        "like": "[x-lab:v LIKE 'a%']",
        "near": f"[prompt-pattern:minhash = '{SKETCH['minhash']}']",
    }
    index = index_of(**patterns)
    assert index.types() == {"ipv4-addr", "x-lab", "prompt-pattern"}
    for key, pattern in patterns.items():
        index.remove(key, anchors(pattern))
    assert candidates(index, {"type": "ipv4-addr", "value": "10.0.0.1"}) == set()
    assert candidates(index, {"type": "x-lab", "v": "abc"}) == set()
    prompt = {"type": "prompt-pattern", "minhash": SKETCH["minhash"], "word_count": 40}
    assert candidates(index, prompt) == set()
