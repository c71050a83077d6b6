"""Pattern summaries, kinds and version diffs (pure logic)."""

from __future__ import annotations

import pytest

from exchange.console.readable import (
    PropertyDiff,
    kind_of,
    object_summary,
    pattern_summary,
    version_diff,
)
from signatures.sdk import indicators


@pytest.mark.parametrize(
    ("pattern", "summary"),
    [
        ("[ipv4-addr:value ISSUBSET '203.0.113.0/24']", "IPv4 in 203.0.113.0/24"),
        ("[ipv6-addr:value = '2001:db8::1']", "IPv6 = 2001:db8::1"),
        (indicators.prompt_hash_pattern("ab12" * 16), "prompt template sha256 ab12ab12ab12…"),
        (
            indicators.timing_pattern({"requests_per_hour": (">", 900), "interval_cv": ("<", 0.1)}),
            "requests/hour > 900 AND interval CV < 0.1",
        ),
        (indicators.payment_pattern("9f" * 32), "payment instrument 9f9f9f9f9f9f…"),
        ("[autonomous-system:number = 64511]", "AS64511"),
        ("[domain-name:value = 'proxy.example']", "domain = proxy.example"),
        (
            "[prompt-pattern:normalized_text MATCHES '^explain (your|the) reasoning']",
            "prompt text matches /^explain (your|the) reasoning/",
        ),
        (
            "[account-cluster:account_count >= 40] AND [ipv4-addr:value = '198.51.100.7']",
            "(account cluster account count >= 40) AND (IPv4 = 198.51.100.7)",
        ),
        (
            "[email-addr:value NOT = 'it\\'s@example.org'] WITHIN 600 SECONDS",
            "(email not = it's@example.org) WITHIN 600 SECONDS",
        ),
    ],
)
def test_it_renders_patterns_readably(pattern: str, summary: str) -> None:
    assert pattern_summary(pattern) == summary


@pytest.mark.parametrize(
    ("obj", "kind"),
    [
        ({"type": "indicator", "pattern": "[ipv4-addr:value = '192.0.2.1']"}, "network"),
        ({"type": "indicator", "pattern": indicators.prompt_hash_pattern("0" * 64)}, "prompt"),
        ({"type": "indicator", "pattern": "[api-session-profile:interval_cv < 0.1]"}, "timing"),
        ({"type": "indicator", "pattern": "[payment-instrument:fingerprint = 'x']"}, "payment"),
        ({"type": "indicator", "pattern": "[account-cluster:account_count > 9]"}, "account"),
        ({"type": "indicator", "pattern": "[file:name = 'a.exe']"}, "other"),
        ({"type": "prompt-pattern"}, "prompt"),
        ({"type": "autonomous-system"}, "network"),
        ({"type": "email-addr"}, "account"),
    ],
)
def test_it_derives_the_kind_from_the_pattern_types(obj: dict[str, str], kind: str) -> None:
    assert kind_of(obj) == kind


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [
        # Several kinds: the first in KIND_TYPES' order, wherever it stands in the pattern.
        ("[payment-instrument:fingerprint = 'x'] AND [ipv4-addr:value = '192.0.2.1']", "network"),
        ("[prompt-pattern:simhash64 = 'x'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.1']", "prompt"),
        # A type's name as the tail of another's is not that type.
        ("[x-farm-url:value = 'x']", "other"),
        ("[file:name = 'a' OR url:value = 'b']", "network"),
        # Type names are lower case.
        ("[IPV4-ADDR:value = '192.0.2.1']", "other"),
    ],
)
def test_it_takes_an_indicators_kind_from_the_first_kind_its_pattern_compares(
    pattern: str, kind: str
) -> None:
    assert kind_of({"type": "indicator", "pattern": pattern}) == kind


def test_it_summarises_sightings_and_observables() -> None:
    sighting = {"type": "sighting", "sighting_of_ref": "indicator--x", "count": 12}
    assert object_summary(sighting, sighted="IPv4 in 192.0.2.0/24") == (
        "sighting of IPv4 in 192.0.2.0/24, 12 times"
    )
    timing = {
        "type": "api-session-profile",
        "requests_per_hour": 999.976,
        "interval_cv": 0.00912,
        "account_count": 24,
    }
    assert object_summary(timing) == "1,000 requests/hour, interval CV 0.0091 over 24 accounts"
    assert object_summary({"type": "ipv4-addr", "value": "192.0.2.0/24"}) == "IPv4 192.0.2.0/24"


def test_it_diffs_versions_property_by_property() -> None:
    older = {"name": "a", "confidence": 60, "labels": ["x"], "valid_until": "2027"}
    newer = {"name": "a", "confidence": 80, "labels": ["x"], "description": "now confirmed"}
    assert version_diff(older, newer) == [
        PropertyDiff("confidence", "changed", "60", "80"),
        PropertyDiff("description", "added", "", "now confirmed"),
        PropertyDiff("valid_until", "removed", "2027", ""),
    ]
    assert version_diff(newer, newer) == []
