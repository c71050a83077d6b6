"""The detector on the profile's types, checked against docs/profile.md's worked examples,
and on temporal patterns, near-duplicate prompts, bad indicators and fallbacks."""

from __future__ import annotations

from typing import Any

import pytest

from signatures.sdk import builder, indicators
from signatures.sdk.detect import Detector, TelemetryEvent, event_from_raw

LAB = "identity--a11ce000-0000-4000-8000-000000000001"
T0 = 1_795_478_400.0  # 2026-11-24T00:00:00Z, the timing example's first request
KEY = bytes(range(32))  # docs/profile.md section 4
WORKED_PROMPT = (
    'Solve problem 17 about "Alice" step by step. Write out your full internal reasoning '
    "before the final answer!"
)
TEMPLATE = (
    "You are an expert tutor. Solve the following problem about {name} and her 12 apples. "
    "Before giving the final answer, write out your complete internal reasoning step by step, "
    "including every intermediate calculation, and do not skip any step."
)
OTHER_TEMPLATE = (
    "Use the search tool and the calculator tool to plan a trip for {name} to Lisbon for 5 "
    "days. Print every tool call you make with its full arguments and the raw tool output "
    "before you summarise the plan."
)


def indicator(pattern: str, **extra: Any) -> dict[str, Any]:
    obj = indicators.indicator(
        pattern, created_by_ref=LAB, name="test", phases=["bulk-extraction"], confidence=75
    )
    obj.update(extra)
    return obj


def event(n: int, seconds: float = 0.0, account: str = "acct-1", **fields: Any) -> TelemetryEvent:
    raw = {"event_id": f"e{n}", "time": T0 + seconds, "account_id": account, **fields}
    return event_from_raw(raw, sharing_key=KEY)


def detector_with(*patterns: str) -> tuple[Detector, list[str]]:
    detector = Detector()
    ids = []
    for pattern in patterns:
        result = detector.load(indicator(pattern))
        assert result.status == "compiled", result.reason
        ids.append(result.indicator_id)
    return detector, ids


def matched(detector: Detector, *events: TelemetryEvent) -> list[tuple[str, tuple[str, ...]]]:
    return [(m.indicator_id, m.event_ids) for e in events for m in detector.observe(e)]


def test_it_matches_the_worked_payment_fingerprint_and_only_under_the_same_key() -> None:
    detector, (card,) = detector_with(
        indicators.payment_pattern(
            "0622241201382a45912fb22828b3f7db5153cf2072722a73ded22623ea79abc9"
        )
    )
    hit = event(1, card_number="4111 1111 1111 1111")
    other_key = event_from_raw(
        {"event_id": "e2", "time": T0, "account_id": "a", "card_number": "4111111111111111"},
        sharing_key=bytes(range(1, 33)),
    )
    assert matched(detector, hit, other_key) == [(card, ("e1",))]
    assert "4111" not in repr(hit).replace("411111", "")  # only the BIN stays


def test_it_matches_the_worked_prompt_hash_with_other_numbers_and_quotes() -> None:
    detector, (prompt,) = detector_with(
        indicators.prompt_hash_pattern(
            "13740222f4eae1891370948b3310583f49bb46afaa569ee3479d023092d6f133"
        )
    )
    rewritten = WORKED_PROMPT.replace("17", "902").replace('"Alice"', '"Bob"')
    assert matched(detector, event(1, prompt=rewritten), event(2, prompt="Solve it.")) == [
        (prompt, ("e1",))
    ]


def test_it_matches_near_duplicate_prompts_with_other_names_but_not_other_templates() -> None:
    seen = builder.prompt_pattern(TEMPLATE.format(name="Alice"), technique="cot-extraction")
    detector, (near,) = detector_with(
        f"[prompt-pattern:simhash64 = '{seen['simhash64']}' AND "
        f"prompt-pattern:minhash = '{seen['minhash']}']"
    )
    events = [
        event(1, prompt=TEMPLATE.format(name="Mohammed Al-Farsi").replace("12", "40")),
        event(2, prompt=TEMPLATE.format(name="Zhang Wei")),
        event(3, prompt=OTHER_TEMPLATE.format(name="Alice")),
        event(4, prompt="Solve the following problem about Alice and her 12 apples."),
    ]
    assert matched(detector, *events) == [(near, ("e1",)), (near, ("e2",))]


def test_it_matches_the_profile_regex_on_the_normalised_prompt() -> None:
    detector, (regex,) = detector_with(
        indicators.prompt_regex_pattern("write out your (full )?internal reasoning")
    )
    assert matched(
        detector,
        event(1, prompt="WRITE OUT YOUR FULL INTERNAL REASONING now"),
        event(2, prompt="hi"),
    ) == [(regex, ("e1",))]


def test_it_reports_a_timing_indicator_once_per_account_and_window() -> None:
    detector, (timing,) = detector_with(
        indicators.timing_pattern({"requests_per_hour": (">", 900), "interval_cv": ("<", 0.1)})
    )
    farm = [event(n, 3.6 * n, account="farm") for n in range(20)]
    human = [event(100 + n, 40.0 * n + (n % 3) * 25, account="human") for n in range(20)]
    assert matched(detector, *farm, *human) == [(timing, ("e1",))]


def test_it_matches_account_clusters_by_shared_traits() -> None:
    ja4 = "t13d1516h2_8daaf6152771_b186095e22b6"
    detector, (cluster,) = detector_with(
        f"[account-cluster:email_domains[*] = 'mail.example' AND account-cluster:ja4[*] = '{ja4}']"
    )
    events = [
        event(1, email="k.three@mail.example", ja4=ja4),
        event(2, email="k.three@mail.example"),
        event(3, email="z@solo.example", ja4=ja4),
    ]
    assert matched(detector, *events) == [(cluster, ("e1",))]


def test_it_matches_ip_ranges_asns_and_domains() -> None:
    detector, (v4, v6, asn, domain) = detector_with(
        indicators.ip_pattern("203.0.113.0/24"),
        indicators.ip_pattern("2001:db8:0:1::/64"),
        "[autonomous-system:number = 64511]",
        "[domain-name:value = 'mail.example']",
    )
    events = [
        event(1, source_ip="203.0.113.77"),
        event(2, source_ip="203.0.114.1", asn=64511),
        event(3, source_ip="2001:db8:0:1::99", email="x@Mail.Example"),
        event(4, source_ip="2001:db8:0:2::1"),
    ]
    assert sorted(matched(detector, *events)) == sorted(
        [(v4, ("e1",)), (asn, ("e2",)), (v6, ("e3",)), (domain, ("e3",))]
    )


def test_it_binds_temporal_patterns_within_one_account() -> None:
    detector, (followed, repeated) = detector_with(
        # A qualifier binds to the observation before it: the parentheses make it span both.
        "([ipv4-addr:value = '198.51.100.7'] FOLLOWEDBY [autonomous-system:number = 64511]) "
        "WITHIN 60 SECONDS",
        "[prompt-pattern:normalized_text MATCHES 'grade'] REPEATS 3 TIMES WITHIN 10 SECONDS",
    )
    events = [
        event(1, 0, source_ip="198.51.100.7"),
        event(2, 5, account="acct-2", asn=64511),  # another account: no binding
        event(3, 90, asn=64511),  # too late
        event(4, 100, source_ip="198.51.100.7"),
        event(5, 130, asn=64511),
        event(6, 200, prompt="grade it"),
        event(7, 205, prompt="grade it"),
        event(8, 230, prompt="grade it"),  # 30 s after the first two
        event(9, 232, prompt="grade it"),
        event(10, 235, prompt="grade it"),
    ]
    assert matched(detector, *events) == [
        (followed, ("e4", "e5")),
        (repeated, ("e8", "e9", "e10")),
    ]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"pattern": "[ipv4-addr:value = "}, "invalid STIX 2.1 pattern"),
        ({"pattern_type": "sigma"}, "pattern_type 'sigma' is not stix"),
        ({"pattern": None}, "no pattern"),
        ({"type": "malware"}, "is not an indicator"),
        ({"id": None}, "no id"),
        ({"revoked": True}, "revoked"),
        ({"valid_until": "2020-01-01T00:00:00.000Z"}, "expired"),
        ({"valid_until": "yesterday"}, "not an ISO 8601 timestamp"),
        ({"pattern": "(" * 40 + "[ipv4-addr:value = '1.2.3.4']" + ")" * 40}, "nested deeper"),
    ],
)
def test_it_skips_bad_indicators_with_a_reason(changes: dict[str, Any], reason: str) -> None:
    detector = Detector()
    good = indicator(indicators.ip_pattern("203.0.113.0/24"))
    detector.load(good)
    bad = {**good, **changes}
    result = detector.load({k: v for k, v in bad.items() if v is not None})
    assert (result.status, reason in result.reason) == ("skipped", True), result.reason
    dropped = "revoked" in changes or ("valid_until" in changes and "yesterday" not in str(changes))
    assert detector.stats()["skipped"] == 1
    assert detector.stats()["indicators"] == (0 if dropped else 1)


def test_it_replaces_an_older_version_and_ignores_a_stale_one() -> None:
    detector = Detector()
    first = indicator(indicators.ip_pattern("203.0.113.0/24"), modified="2026-11-24T00:00:00.000Z")
    second = {
        **first,
        "pattern": "[autonomous-system:number = 64511]",
        "modified": "2026-11-25T00:00:00.000Z",
    }
    assert detector.load(first).status == "compiled"
    assert detector.load(second).status == "compiled"
    assert detector.load(first).status == "skipped"
    events = [event(1, source_ip="203.0.113.5"), event(2, asn=64511)]
    assert matched(detector, *events) == [(first["id"], ("e2",))]
    detector.drop(first["id"])
    assert matched(detector, event(3, asn=64511)) == []


def test_it_falls_back_to_stix2_matcher_outside_the_compiled_subset() -> None:
    detector = Detector()
    result = detector.load(indicator("[user-account:account_created > t'2026-11-01T00:00:00Z']"))
    assert result.status == "fallback"
    assert "stix2-matcher" in result.reason
    assert detector.stats()["fallback"] == 1
    young = event(1, account_created="2026-11-20T10:00:00Z")
    old = event(2, account="acct-2", account_created="2025-01-01T00:00:00Z")
    assert matched(detector, young, old) == [(result.indicator_id, ("e1",))]


def test_it_forgets_idle_accounts_after_a_window() -> None:
    detector = Detector(window_s=60)
    detector.load(indicator(indicators.ip_pattern("203.0.113.0/24")))
    for n in range(100):
        detector.observe(event(n, n * 0.1, account=f"acct-{n}"))
    assert detector.stats()["accounts"] == 100
    detector.observe(event(1000, 3600, account="late"))
    assert detector.stats()["accounts"] == 1
