"""object_prepare with the indicator shortcut against object_prepare with stix2 alone:
the same verdict, the same reason, on generated indicators and mutations of them."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import stix2generator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signatures.validation
from signatures.sdk import indicators
from signatures.stix2_shortcut import stix2_accepts
from signatures.validation import ObjectRefused, PublishContext, object_prepare

LAB = "identity--a11ce000-0000-4000-8000-000000000001"
CONTEXT = PublishContext(
    publisher_identity=LAB, extension_definitions={}, member_identities=frozenset({LAB})
)


def _verdict(obj: Any) -> tuple[str, Any]:
    try:
        item = object_prepare(copy.deepcopy(obj), context=CONTEXT, max_depth=32)
    except ObjectRefused as exc:
        return ("refused", str(exc))
    return ("accepted", (item.stix_id, item.version, item.tlp, item.data))


def _verdicts_agree(obj: Any, monkeypatch: pytest.MonkeyPatch) -> bool:
    fast = _verdict(obj)
    with monkeypatch.context() as patch:
        patch.setattr(signatures.validation, "stix2_accepts", lambda _obj: False)
        reference = _verdict(obj)
    return fast == reference


def _builder_indicators() -> Iterator[dict[str, Any]]:
    for pattern in (
        indicators.ip_pattern("203.0.113.0/24"),
        indicators.prompt_hash_pattern("a" * 64),
        indicators.payment_pattern("f" * 64),
        indicators.timing_pattern({"requests_per_hour": (">", 900), "interval_cv": ("<", 0.1)}),
        "[x-a:b = 'c'] WITHIN 5 SECONDS",
    ):
        yield indicators.indicator(
            pattern,
            created_by_ref=LAB,
            name="farm",
            phases=["bulk-extraction"],
            confidence=70,
            valid_from="2026-11-20T09:30:00.123Z",
        )


def _generated_indicators(count: int) -> list[dict[str, Any]]:
    """stix2-generator's indicators, credited to the publisher as the exchange requires."""
    generator = stix2generator.create_object_generator()
    corpus = []
    for _ in range(count):
        obj = generator.generate("indicator")
        obj["created_by_ref"] = LAB
        obj.pop("granular_markings", None)
        corpus.append(obj)
    return corpus


def _plain(obj: dict[str, Any], pattern: str) -> dict[str, Any]:
    """A generated indicator cut down to the shape the shortcut covers."""
    plain = {k: v for k, v in obj.items() if k not in ("external_references", "extensions")}
    plain.update(pattern=pattern, pattern_type="stix")
    plain.pop("pattern_version", None)
    return plain


_FLAT_PATTERNS = [
    "[ipv4-addr:value = '198.51.100.7']",
    "[x-prompt-pattern:normalized_sha256 = 'ab'] OR [domain-name:value LIKE '%.example']",
    "[network-traffic:dst_port >= 0 AND network-traffic:src_ref.value != 'a'] FOLLOWEDBY "
    "[x-a:b[2].c MATCHES '^x']",
]
GENERATED = _generated_indicators(60)
CORPUS = [
    *_builder_indicators(),
    *GENERATED,
    *(_plain(obj, _FLAT_PATTERNS[n % 3]) for n, obj in enumerate(GENERATED)),
]

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.sampled_from(
        [
            "",
            "stix",
            "sigma",
            "2.0",
            "2.2",
            "x",
            "[x-a:b = 'c']",
            "[x-a:b = ",
            "2026-11-20T09:30:00Z",
            "2026-11-20T09:30:00.1Z",
            "2026-11-20T09:30:00.123456789Z",
            "2020-01-01T00:00:00.000Z",
            "2030-01-01T00:00:00.000Z",
            "2026-02-30T00:00:00.000Z",
            "indicator--00000000-0000-4000-8000-000000000001",
            "indicator--00000000-0000-4000-c000-000000000001",
            "identity--00000000-0000-4000-0000-000000000001",
            "marking-definition--00000000-0000-4000-8000-000000000001",
            "marking-definition--00000000-0000-4000-f000-000000000001",
        ]
    ),
    st.lists(st.sampled_from(["a", "malicious-activity"]), max_size=2),
    st.lists(
        st.dictionaries(
            st.sampled_from(["kill_chain_name", "phase_name", "x_extra", "Bad"]),
            st.sampled_from(["a", "", 3]),
            max_size=3,
        ),
        max_size=2,
    ),
    st.lists(
        st.sampled_from(
            [
                "marking-definition--00000000-0000-4000-8000-000000000001",
                "marking-definition--00000000-0000-4000-7000-000000000001",
                "identity--00000000-0000-4000-8000-000000000001",
            ]
        ),
        max_size=2,
    ),
)
_PROPERTIES = st.sampled_from(
    [
        "id", "created_by_ref", "created", "modified", "name", "description",
        "indicator_types", "pattern", "pattern_type", "pattern_version", "valid_from",
        "valid_until", "kill_chain_phases", "revoked", "labels", "confidence", "lang",
        "object_marking_refs", "external_references", "extensions", "x_custom", "Bad_name",
        "spec_version",
    ]
)  # fmt: skip


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    obj = copy.deepcopy(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 3))):
        prop = draw(_PROPERTIES)
        if draw(st.booleans()) and prop in obj:
            del obj[prop]
        else:
            obj[prop] = draw(_VALUES)
    return obj


@pytest.mark.parametrize("obj", CORPUS, ids=lambda obj: obj["id"][-6:])
def test_it_gives_stix2s_verdict_on_each_indicator_of_the_corpus(
    obj: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _verdicts_agree(obj, monkeypatch)


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(obj=_mutated())
def test_it_gives_stix2s_verdict_on_mutated_indicators(
    obj: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _verdicts_agree(obj, monkeypatch)


def test_it_vouches_for_the_indicators_the_sdk_builds() -> None:
    """Otherwise it would agree with stix2 only by never answering."""
    flat = [obj for obj in _builder_indicators() if "WITHIN" not in obj["pattern"]]
    assert all(stix2_accepts(obj) for obj in flat)


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("id", "indicator--00000000-0000-4000-c000-000000000001"),  # Microsoft variant
        ("valid_until", "2026-11-20T09:30:00.123Z"),  # not after valid_from
        ("pattern_version", "2.0"),
        ("external_references", [{"source_name": "x"}]),
        ("x_custom", 1),
    ],
)
def test_it_leaves_what_it_does_not_cover_to_stix2(prop: str, value: Any) -> None:
    obj = next(_builder_indicators())
    obj[prop] = value
    assert not stix2_accepts(obj)
