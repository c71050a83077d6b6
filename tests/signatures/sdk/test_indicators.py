"""signatures/sdk/indicators.py: the helpers that build indicators, attack patterns,
relationships and sightings as strict STIX 2.1 with patterns the exchange accepts."""

from __future__ import annotations

import json

import pytest
import stix2

from signatures.sdk import builder, indicators

LAB = "identity--a11ce000-0000-4000-8000-000000000001"


def test_indicator_helpers_build_strict_stix_with_valid_patterns() -> None:
    prompt = builder.prompt_pattern("Think step by step.", technique="cot-extraction")
    patterns = [
        indicators.pattern_for(prompt),
        indicators.ip_pattern("203.0.113.0/24"),
        indicators.prompt_regex_pattern(r"write out your (internal )?reasoning \d+ 'x'"),
        indicators.timing_pattern({"requests_per_hour": (">", 900), "interval_cv": ("<", 1e-5)}),
        indicators.payment_pattern("c" * 64),
    ]
    assert patterns[1] == "[ipv4-addr:value ISSUBSET '203.0.113.0/24']"
    assert patterns[3] == (
        "[api-session-profile:requests_per_hour > 900 AND "
        "api-session-profile:interval_cv < 0.00001]"
    )
    for pattern in patterns:
        obj = indicators.indicator(
            pattern,
            created_by_ref=LAB,
            name="test",
            phases=["bulk-extraction"],
            confidence=70,
            valid_until="2027-01-01T00:00:00.000Z",
            id="indicator--6a1c3c3e-3f0a-4f5e-9a43-8d1e6f1b9b01",
            created="2026-11-24T00:00:00.000Z",
        )
        stix2.parse(obj, allow_custom=False)
        assert obj["valid_from"] == obj["created"] == "2026-11-24T00:00:00.000Z"
        assert obj["kill_chain_phases"] == [
            {"kill_chain_name": "ai-isac-distillation", "phase_name": "bulk-extraction"}
        ]


def test_indicator_refuses_what_the_exchange_would_refuse() -> None:
    with pytest.raises(ValueError, match="not RE2 syntax"):
        indicators.prompt_regex_pattern("(a)\\1")
    with pytest.raises(ValueError, match="no property"):
        indicators.indicator(
            "[prompt-pattern:raw = 'x']", created_by_ref=LAB, name="x", phases=[], confidence=1
        )
    with pytest.raises(ValueError, match="unknown phases"):
        indicators.kill_chain("exfiltration")


def test_attack_pattern_relationship_and_sighting() -> None:
    atlas = indicators.attack_pattern("AML.T0024.002", created_by_ref=LAB)
    assert atlas["name"] == "Extract AI Model"
    assert atlas["external_references"][0]["external_id"] == "AML.T0024.002"
    ind = indicators.indicator(
        indicators.ip_pattern("203.0.113.0/24"),
        created_by_ref=LAB,
        name="farm",
        phases=["access-provisioning"],
        confidence=60,
    )
    rel = indicators.relationship(ind["id"], "indicates", atlas["id"], created_by_ref=LAB)
    seen = indicators.sighting(
        ind["id"], created_by_ref=LAB, count=12, first_seen=0, last_seen=3600.5
    )
    assert seen["last_seen"] == "1970-01-01T01:00:00.500Z"
    for obj in (atlas, ind, rel, seen):
        stix2.parse(obj, allow_custom=False)
        assert obj["created"][-5] == "." and obj["created"].endswith("Z")
    assert json.loads(json.dumps(indicators.bundle([ind])))["objects"] == [ind]
