"""The flat-pattern reader against the reference grammar (stix2patterns): whatever it
vouches for, the reference accepts with the same comparisons; what it does not know,
it leaves to the reference."""

from __future__ import annotations

import pytest
import stix2generator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2patterns.v21.pattern import Pattern
from stix2patterns.validator import run_validator

from signatures.sdk import indicators
from signatures.sdk.flat_patterns import flat_comparisons


def _agrees_with_reference(pattern: str) -> bool:
    """The reader's answer is None, or the reference's own verdict and inspection."""
    flat = flat_comparisons(pattern)
    if flat is None:
        return True
    return run_validator(pattern, "2.1") == [] and Pattern(pattern).inspect().comparisons == flat


# Tokens close to the flat shape, and near misses of each: keywords in other cases,
# booleans, numbers the lexer reads as two tokens, identifiers with hyphens where only
# the object type may have one, quotes and backslashes in strings, other whitespace.
_TYPES = st.sampled_from(
    ["ipv4-addr", "x-a", "abc", "true", "false", "a--b", "x-", "-x", "1ab", "AbC", "t", "ab"]
)
_STEPS = st.sampled_from(
    ["value", "b", "_c", "true", "x-y", "hashes", "AND", "n2", "'q'", "[0]", "[*]", "[01]", "[-1]"]
)
_OPERATORS = st.sampled_from(
    [
        "=",
        "!=",
        "==",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "LIKE",
        "MATCHES",
        "ISSUBSET",
        "ISSUPERSET",
        "IN",
        "like",
        "NOT =",
        "NOT LIKE",
        "NOT",
        "EXISTS",
    ]
)
_LITERALS = st.one_of(
    st.sampled_from(
        [
            "0",
            "12",
            "-5",
            "-0",
            "007",
            "1.5",
            "1.",
            ".5",
            "-2.25",
            "1e5",
            "+3",
            "true",
            "t'2020-01-01T00:00:00Z'",
            "h'ab'",
            "b'AAAA'",
            "('a', 'b')",
            "'a'b'",
            "''",
        ]
    ),
    st.text(alphabet=st.sampled_from("ab'\\ \n\u00e9/.*%_-"), max_size=8).map(lambda s: f"'{s}'"),
)
_SPACES = st.sampled_from(["", " ", "  ", "\t", "\n"])
_JOINERS = st.sampled_from(["AND", "OR", "FOLLOWEDBY", "and", "ANDx", "WITHIN 5 SECONDS", ","])


@st.composite
def _near_flat_patterns(draw: st.DrawFn) -> str:
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        comparisons = []
        for _ in range(draw(st.integers(1, 3))):
            path = (
                draw(_TYPES)
                + ":"
                + "".join(
                    (step if step.startswith(("[", "'")) else "." + step)
                    for step in draw(st.lists(_STEPS, min_size=1, max_size=3))
                ).removeprefix(".")
            )
            space = draw(_SPACES)
            comparisons.append(f"{path}{space}{draw(_OPERATORS)}{space}{draw(_LITERALS)}")
        joiner = draw(_SPACES) + draw(_JOINERS) + draw(_SPACES)
        observations.append("[" + draw(_SPACES) + joiner.join(comparisons) + draw(_SPACES) + "]")
    return (draw(_SPACES) + draw(_JOINERS) + draw(_SPACES)).join(observations)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_near_flat_patterns())
def test_it_vouches_only_for_what_the_reference_accepts_with_the_same_comparisons(
    pattern: str,
) -> None:
    assert _agrees_with_reference(pattern)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("[]:.'\\ =!<>-_abcxyzANDOR0123456789*"), max_size=40))
def test_it_vouches_only_for_what_the_reference_accepts_on_arbitrary_text(pattern: str) -> None:
    assert _agrees_with_reference(pattern)


@st.composite
def _flat_patterns(draw: st.DrawFn) -> str:
    identifier = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
        lambda name: name not in ("true", "false", "hashes")
    )
    object_type = st.from_regex(r"[a-z][a-z0-9-]{1,8}[a-z0-9]", fullmatch=True).filter(
        lambda name: name not in ("true", "false")
    )
    string = st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="'\\"),
        max_size=12,
    ).map(lambda s: f"'{s}'")
    number = st.integers(-(10**6), 10**6).map(str)
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        comparisons = []
        for _ in range(draw(st.integers(1, 3))):
            path = f"{draw(object_type)}:{draw(identifier)}"
            if draw(st.booleans()):
                path += f".{draw(identifier)}"
            if draw(st.booleans()):
                comparisons.append(
                    f"{path} {draw(st.sampled_from(['=', '!=', '<', '>=']))} "
                    f"{draw(st.one_of(string, number))}"
                )
            else:
                comparisons.append(
                    f"{path} {draw(st.sampled_from(['LIKE', 'ISSUBSET']))} {draw(string)}"
                )
        observations.append(
            "[" + f" {draw(st.sampled_from(['AND', 'OR']))} ".join(comparisons) + "]"
        )
    return f" {draw(st.sampled_from(['AND', 'OR', 'FOLLOWEDBY']))} ".join(observations)


@settings(max_examples=300, deadline=None)
@given(_flat_patterns())
def test_it_reads_flat_patterns_as_the_reference_does(pattern: str) -> None:
    assert flat_comparisons(pattern) is not None
    assert _agrees_with_reference(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        indicators.ip_pattern("203.0.113.0/24"),
        indicators.ip_pattern("2001:db8::1"),
        indicators.prompt_hash_pattern("a" * 64),
        indicators.prompt_regex_pattern("^explain your (reasoning|chain of thought)"),
        indicators.payment_pattern("f" * 64),
        indicators.timing_pattern({"requests_per_hour": (">", 900), "interval_cv": ("<", 0.1)}),
    ],
)
def test_it_reads_every_pattern_the_sdk_builds(pattern: str) -> None:
    assert flat_comparisons(pattern) is not None
    assert _agrees_with_reference(pattern)


def test_it_agrees_with_the_reference_on_generated_indicators() -> None:
    generator = stix2generator.create_object_generator()
    for _ in range(200):
        assert _agrees_with_reference(generator.generate("indicator")["pattern"])


@pytest.mark.parametrize(
    "pattern",
    [
        "[file:hashes.'SHA-256' = 'not a hash']",  # the reference checks hash values
        "[x-a:b = 'c'] WITHIN 5 SECONDS",
        "[x-a:b IN ('c', 'd')]",
        "[(x-a:b = 'c')]",
        "[x-a:b = true]",
        "[x-a:b[*] = 'c']",
        "[x-a:b = 'c'] /* note */",
        "[x-a:b = 'c']\n",
        "x" * 5000,
    ],
)
def test_it_leaves_other_shapes_to_the_reference(pattern: str) -> None:
    assert flat_comparisons(pattern) is None
