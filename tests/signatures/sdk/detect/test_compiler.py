"""The pattern compiler: the parser-free fast path, property paths, the near-duplicate
comparisons on sketches, what is left to stix2-matcher, and the search for a binding.

Agreement with stix2-matcher on generated patterns is in ``test_differential.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from stix2patterns.exceptions import ParseException

from signatures.sdk import builder, indicators, sketches
from signatures.sdk.detect.compiler import (
    NEAR_MIN_WORDS,
    Leaf,
    Unsupported,
    address_bits,
    compile_parsed,
    compile_pattern,
    compile_simple,
    find_binding,
    matches,
    path_values,
    single_observation,
)

SKETCH = builder.prompt_pattern("Write out your full internal reasoning " * 8, technique="other")
SECOND = 1_000_000


@dataclass
class Seen:
    """One observation: its objects by type, at a time in whole seconds."""

    seconds: int
    by_type: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def time_us(self) -> int:
        return self.seconds * SECOND

    def objects(self, object_type: str) -> Sequence[Mapping[str, Any]]:
        return self.by_type.get(object_type, [])


def seen(seconds: int, *objects: Mapping[str, Any]) -> Seen:
    observation = Seen(seconds)
    for obj in objects:
        observation.by_type.setdefault(obj["type"], []).append(obj)
    return observation


def ip(value: str) -> dict[str, Any]:
    return {"type": "ipv4-addr", "value": value}


def prompt(**properties: Any) -> dict[str, Any]:
    return {"type": "prompt-pattern", "word_count": NEAR_MIN_WORDS, **properties}


# --- the parser-free fast path ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        indicators.ip_pattern("203.0.113.0/24"),
        indicators.ip_pattern("2001:db8::/32"),
        indicators.ip_pattern("203.0.113.7"),
        "[autonomous-system:number = 64511]",
        indicators.payment_pattern(
            "0622241201382a45912fb22828b3f7db5153cf2072722a73ded22623ea79abc9"
        ),
        indicators.prompt_hash_pattern("13740222f4eae1891370948b3310583f49bb46afaa569ee3479d0230"),
        f"[prompt-pattern:simhash64 = '{SKETCH['simhash64']}' AND "
        f"prompt-pattern:minhash = '{SKETCH['minhash']}']",
        indicators.timing_pattern(
            {"requests_per_hour": (">", 900), "interval_cv": ("<", 0.1), "concurrency": (">=", 4)}
        ),
        indicators.timing_pattern({"tokens_per_request": ("<=", 0.00001)}),
        "[domain-name:value = 'it\\'s a \\\\ domain']",
        "[x-lab:n = -0 AND x-lab:n != .5 AND x-lab:n > -.5 AND x-lab:s < 'b']",
    ],
)
def test_it_compiles_the_builders_shapes_without_the_parser_as_the_parser_does(text: str) -> None:
    simple = compile_simple(text)
    assert simple is not None
    assert simple == compile_parsed(text)


@pytest.mark.parametrize(
    "text",
    [
        "[ipv4-addr:value  = '10.0.0.1']",  # spacing the builders never write
        "[ipv4-addr:value = '10.0.0.1' ]",
        "[autonomous-system:number = +1]",
        "[autonomous-system:number = 00]",
        "[autonomous-system:number = 1.]",
        "[x:true = 1]",
        "[true:x = 1]",
        "[x:Value = 1]",
        "[x:_v = 1]",
        "[network-traffic:src_ref = 'x']",
        "[network-traffic:protocols[0] = 'tcp']",
        "[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '10.0.0.2']",
        "[ipv4-addr:value NOT = '10.0.0.1']",
        "[ipv4-addr:value IN ('10.0.0.1')]",
        "[ipv4-addr:value ISSUPERSET '10.0.0.1']",
        "[ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.2']",
        "[ipv4-addr:value = '10.0.0.1'] REPEATS 2 TIMES",
        "[user-account:account_created > t'2026-11-01T00:00:00Z']",
        "[ipv4-addr:value = 'unterminated]",
        "[ipv4-addr:value = 'a\\b']",  # an escape the grammar does not have
        "[x:v = true]",
    ],
)
def test_it_leaves_every_other_shape_to_the_parser(text: str) -> None:
    assert compile_simple(text) is None
    try:
        parsed: object = compile_parsed(text)
    except (ParseException, Unsupported) as exc:
        parsed = type(exc)
    try:
        compiled: object = compile_pattern(text)
    except (ParseException, Unsupported) as exc:
        compiled = type(exc)
    assert compiled == parsed


@pytest.mark.parametrize(
    "text",
    [
        "[ipv4-addr:value ISSUBSET 'not-a-network']",
        "[prompt-pattern:simhash64 = 'not-hex']",
        "[prompt-pattern:minhash = 'not base64!']",
    ],
)
def test_it_refuses_the_same_operands_with_and_without_the_parser(text: str) -> None:
    with pytest.raises(Unsupported):
        compile_simple(text)
    with pytest.raises(Unsupported):
        compile_parsed(text)


# --- what is left to stix2-matcher ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[EXISTS x-lab:v]", "EXISTS"),
        ("[x-lab:v = h'ab']", "hex and timestamp operands"),
        ("[x-lab:v = b'AAAA']", "hex and timestamp operands"),
        ("[x-lab:v = t'2026-11-24T00:00:00Z']", "hex and timestamp operands"),
        ("[network-traffic:src_ref = 'ipv4-addr--1']", "references and binary values"),
        ("[file:hashes.'SHA-256' = 'x' AND artifact:payload_bin = 'x']", "payload_bin"),
        ("[x-lab:v MATCHES '(?=lookahead)']", "not RE2 syntax"),
        ("[x-lab:v IN (1, 'one')]", "mixing types"),
    ],
)
def test_it_leaves_patterns_outside_the_subset_unsupported_with_a_reason(
    text: str, reason: str
) -> None:
    with pytest.raises(Unsupported, match=reason):
        compile_pattern(text)


def test_it_raises_the_parsers_exception_on_an_invalid_pattern() -> None:
    with pytest.raises(ParseException):
        compile_pattern("[ipv4-addr:value = ")


# --- property paths and values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("name",), ["a"]),
        (("missing",), []),
        (("tags", None), ["x", "y"]),
        (("tags", 1), ["y"]),
        (("tags", 2), []),
        (("tags", -1), []),
        (("refs", None, "n"), [1, 2]),
        (("refs", 0, "n"), [1]),
        (("name", None), []),  # [*] over a string selects nothing
        (("nested", "deep", "key"), [True]),
    ],
)
def test_it_selects_the_values_a_property_path_names(
    path: tuple[str | int | None, ...], expected: list[Any]
) -> None:
    obj = {
        "name": "a",
        "tags": ["x", "y"],
        "refs": [{"n": 1}, {"n": 2}, {"other": 3}],
        "nested": {"deep": {"key": True}},
    }
    assert path_values(obj, path) == expected


def test_it_reads_addresses_and_blocks_as_version_integer_and_prefix() -> None:
    assert address_bits("10.0.0.1") == (4, 0x0A000001, 32, 32)
    assert address_bits("10.1.2.3/8") == (4, 0x0A000000, 8, 32)
    assert address_bits("2001:db8::1") == (6, 0x20010DB8 << 96 | 1, 128, 128)
    assert address_bits("999.0.0.1") is None
    assert address_bits("not an address") is None


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("[x-lab:v = 1]", 1.0, True),
        ("[x-lab:v = 1]", True, False),
        ("[x-lab:v = '1']", 1, False),
        ("[x-lab:v != 1]", "1", True),
        ("[x-lab:v > 5]", "9", False),
        ("[x-lab:v NOT > 5]", "9", False),  # incomparable stays false under NOT
        ("[x-lab:v NOT > 5]", 4, True),
        ("[x-lab:v <= 'b']", "b", True),
        ("[x-lab:v IN ('a', 'b')]", ["a"], False),
        ("[x-lab:v LIKE 'a_c%']", "abcdef", True),
        ("[x-lab:v LIKE 'a_c']", "abcd", False),
        ("[x-lab:v LIKE 'a.c']", "abc", False),  # '.' is literal in LIKE
        ("[x-lab:v MATCHES 'b.d']", "abcde", True),
        ("[x-lab:v MATCHES '^b']", "abc", False),
        ("[x-lab:v ISSUBSET '10.0.0.0/8']", "10.2.3.4", True),
        ("[x-lab:v ISSUBSET '10.0.0.0/8']", "11.0.0.1", False),
        ("[x-lab:v ISSUBSET '10.0.0.0/8']", "::ffff:10.0.0.1", False),
        ("[x-lab:v ISSUBSET '2001:db8::/32']", "2001:db8:1::/48", True),
        ("[x-lab:v ISSUPERSET '10.1.2.3']", "10.0.0.0/8", True),
        ("[x-lab:v ISSUPERSET '10.1.2.3']", "10.1.2.3", False),  # an address holds nothing
    ],
)
def test_it_compares_values_with_the_matchers_typing(text: str, value: Any, expected: bool) -> None:
    compiled = compile_pattern(text)
    assert matches(compiled, [seen(0, {"type": "x-lab", "v": value})]) is expected


def test_it_requires_and_inside_an_observation_to_hold_on_one_object() -> None:
    compiled = compile_pattern("[ipv4-addr:value = '10.0.0.1' AND ipv4-addr:value = '10.0.0.2']")
    assert not matches(compiled, [seen(0, ip("10.0.0.1"), ip("10.0.0.2"))])
    either = compile_pattern("[ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '10.0.0.2']")
    assert matches(either, [seen(0, ip("10.0.0.2"))])


# --- near-duplicate prompts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("other", "words", "expected"),
    [
        ("0000000000000fff", NEAR_MIN_WORDS, True),  # 12 bits apart
        ("0000000000001fff", NEAR_MIN_WORDS, False),  # 13 bits apart
        ("0000000000000000", NEAR_MIN_WORDS - 1, False),  # too short to compare
        ("not-hex", NEAR_MIN_WORDS, False),
    ],
)
def test_it_reads_simhash_equality_as_a_hamming_distance_of_at_most_12(
    other: str, words: int, expected: bool
) -> None:
    near = compile_pattern("[prompt-pattern:simhash64 = '0000000000000000']")
    far = compile_pattern("[prompt-pattern:simhash64 != '0000000000000000']")
    observation = seen(0, prompt(simhash64=other, word_count=words))
    assert matches(near, [observation]) is expected
    assert matches(far, [observation]) is not expected


def test_it_does_not_match_a_sketch_comparison_on_a_prompt_without_the_sketch() -> None:
    far = compile_pattern("[prompt-pattern:simhash64 != '0000000000000000']")
    assert not matches(far, [seen(0, prompt(minhash=SKETCH["minhash"]))])


@pytest.mark.parametrize(("changed", "expected"), [(38, True), (39, False)])
def test_it_reads_minhash_equality_as_a_jaccard_estimate_of_at_least_0_7(
    changed: int, expected: bool
) -> None:
    signature = sketches.decode_minhash(SKETCH["minhash"])
    other = [v ^ 1 if n < changed else v for n, v in enumerate(signature)]
    compiled = compile_pattern(f"[prompt-pattern:minhash = '{SKETCH['minhash']}']")
    observation = seen(0, prompt(minhash=sketches.encode_minhash(other)))
    assert matches(compiled, [observation]) is expected


def test_it_refuses_a_minhash_of_another_length_as_near() -> None:
    signature = sketches.decode_minhash(SKETCH["minhash"])
    compiled = compile_pattern(f"[prompt-pattern:minhash = '{SKETCH['minhash']}']")
    shorter = sketches.encode_minhash(signature[:64])
    assert not matches(compiled, [seen(0, prompt(minhash=shorter))])


# --- operators, qualifiers and bindings ----------------------------------------------------


def test_it_marks_only_a_lone_unqualified_observation_as_single() -> None:
    assert compile_pattern("[ipv4-addr:value = '10.0.0.1']").single
    assert not compile_pattern("[ipv4-addr:value = '10.0.0.1'] WITHIN 5 SECONDS").single
    assert single_observation("(([ipv4-addr:value = '10.0.0.1']))")
    assert not single_observation("[ipv4-addr:value = '10.0.0.1'] REPEATS 2 TIMES")
    assert not single_observation("[x-lab:v = 1] OR [x-lab:v = 2]")


def test_it_binds_followedby_only_in_time_order() -> None:
    compiled = compile_pattern("[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [x-lab:v = 1]")
    first, then = seen(1, ip("10.0.0.1")), seen(2, {"type": "x-lab", "v": 1})
    assert matches(compiled, [first, then])
    assert not matches(compiled, [seen(3, ip("10.0.0.1")), then])


def test_it_binds_a_distinct_event_to_each_observation() -> None:
    compiled = compile_pattern("[x-lab:v = 1] AND [x-lab:v = 1]")
    one = seen(0, {"type": "x-lab", "v": 1})
    assert not matches(compiled, [one])
    assert matches(compiled, [one, seen(1, {"type": "x-lab", "v": 1})])


def test_it_keeps_a_binding_within_its_span() -> None:
    compiled = compile_pattern("[x-lab:v = 1] REPEATS 3 TIMES WITHIN 10 SECONDS")
    spread = [seen(s, {"type": "x-lab", "v": 1}) for s in (0, 5, 11, 20)]
    assert not matches(compiled, spread)  # no three of them lie within 10 seconds
    assert matches(compiled, [*spread, seen(14, {"type": "x-lab", "v": 1})])  # 5, 11, 14


def test_it_matches_start_stop_from_start_inclusive_to_stop_exclusive() -> None:
    compiled = compile_pattern(
        "[x-lab:v = 1] START t'2026-11-24T00:00:10Z' STOP t'2026-11-24T00:00:20Z'"
    )
    base = 1_795_478_400  # 2026-11-24T00:00:00Z
    for offset, expected in ((9, False), (10, True), (19, True), (20, False)):
        observation = seen(base + offset, {"type": "x-lab", "v": 1})
        assert matches(compiled, [observation]) is expected, offset


def test_it_never_matches_a_start_stop_that_ends_before_it_begins() -> None:
    compiled = compile_pattern(
        "[x-lab:v = 1] START t'2026-11-24T00:00:20Z' STOP t'2026-11-24T00:00:10Z'"
    )
    assert not matches(compiled, [seen(1_795_478_415, {"type": "x-lab", "v": 1})])


def test_it_finds_a_binding_that_uses_the_event_it_must_include() -> None:
    compiled = compile_pattern("[x-lab:v = 1] FOLLOWEDBY [x-lab:v = 2]")
    assert not isinstance(compiled.tree, Leaf)
    # Events 0 and 2 satisfy the first observation, event 1 the second.
    satisfied = [[(0, 0), (2, 2 * SECOND)], [(1, SECOND)]]
    assert find_binding(compiled, satisfied) == frozenset({0, 1})
    assert find_binding(compiled, satisfied, must_include=1) == frozenset({0, 1})
    assert find_binding(compiled, satisfied, must_include=2) is None
