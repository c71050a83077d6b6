"""The builder: golden vectors, deterministic ids that agree with stix2, privacy rules.

Golden vectors live in ``vectors/<function>.json`` (inputs and expected outputs), so
an implementation in another language can check itself against them. After an
intended change, regenerate them with ``python -m tests.signatures.sdk.test_builder``
and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stix2
from stix2.properties import FloatProperty, IntegerProperty, ListProperty, StringProperty
from stix2.v21 import CustomObservable

from signatures.sdk import builder
from signatures.sdk.constants import TLP2_AMBER
from signatures.sdk.profile import load_profile, validate_profile_object

VECTORS = Path(__file__).with_name("vectors")
REPO = Path(__file__).resolve().parents[3]
KEY_A = b"forum-sharing-key-2026-q4-000001"
KEY_B = b"another-key-entirely-2026-000002"


def _register_profile_with_stix2() -> None:
    """Declare the profile observables to stix2 from their JSON Schemas, so stix2 can
    parse them and compute their ids independently of our code."""
    kinds = {"string": StringProperty, "integer": IntegerProperty, "number": FloatProperty}
    profile = load_profile()
    for object_type in sorted(profile.types):
        schema = profile.schema_of(object_type)
        skipped = {"type", "spec_version", "id", "extensions", "object_marking_refs"}
        skipped |= {"granular_markings", "defanged"}
        properties = []
        for name, spec in schema["properties"].items():
            if name in skipped:
                continue
            required = name in schema["required"]
            if spec.get("type") == "array":
                properties.append((name, ListProperty(StringProperty, required=required)))
            else:
                kind = kinds.get(spec.get("type", "string"), StringProperty)
                properties.append((name, kind(required=required)))
        CustomObservable(
            object_type,
            properties,
            list(profile.id_contributing[object_type]),
            extension_name=profile.extension_ids[object_type],
        )(type(object_type.title().replace("-", ""), (), {}))


_register_profile_with_stix2()


def _call(function: str, case: dict[str, Any]) -> Any:
    args = list(case["args"])
    if function == "payment_instrument":
        args[1] = bytes.fromhex(args[1])
    return getattr(builder, function)(*args, **case["kwargs"])


def _vector_cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for path in sorted(VECTORS.glob("*.json")):
        data = json.loads(path.read_text())
        cases.extend((path.name, data["function"], case) for case in data["cases"])
    return cases


def regenerate_vectors() -> None:
    """Rewrite the golden outputs after a deliberate, versioned change of the builder:
    ``python -m tests.signatures.sdk.test_builder`` from the repository root."""
    for path in sorted(VECTORS.glob("*.json")):
        data = json.loads(path.read_text())
        for case in data["cases"]:
            case["output"] = _call(data["function"], case)
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


@pytest.mark.parametrize(
    ("file", "function", "case"), _vector_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_golden_vectors(file: str, function: str, case: dict[str, Any]) -> None:
    assert _call(function, case) == case["output"], case["name"]


def _all_vector_outputs() -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    for _, _, case in _vector_cases():
        output = case["output"]
        outputs.extend(output if isinstance(output, list) else [output])
    return outputs


def test_every_output_is_a_valid_profile_object() -> None:
    for obj in _all_vector_outputs():
        assert validate_profile_object(obj) == []


def test_every_output_parses_with_stix2_and_gets_the_same_id_from_it() -> None:
    for obj in _all_vector_outputs():
        stix2.parse(obj, allow_custom=False)
        # Let stix2 derive the id from the other properties (STIX 2.1 section 2.9).
        without_id = {k: v for k, v in obj.items() if k != "id"}
        assert stix2.parse(without_id, allow_custom=False).id == obj["id"]


def test_standard_sco_ids_match_stix2() -> None:
    (network,) = builder.ip_observables([f"203.0.113.{n}" for n in range(1, 9)])
    assert network["id"] == stix2.IPv4Address(value="203.0.113.0/24").id
    (v6,) = builder.ip_observables(["2001:db8::1"])
    assert v6["id"] == stix2.IPv6Address(value="2001:db8::/64").id
    assert builder.autonomous_system(64500)["id"] == stix2.AutonomousSystem(number=64500).id
    assert builder.domain_name("x.example")["id"] == stix2.DomainName(value="x.example").id
    email = builder.email_address("a@x.example")
    assert email["id"] == stix2.EmailAddress(value="a@x.example").id


def test_output_is_identical_across_processes() -> None:
    """Same input, same bytes, whatever the hash seed of the interpreter."""
    code = (
        "import json; from signatures.sdk import builder; "
        "print(json.dumps([builder.prompt_pattern('Think step by step', technique='other'), "
        "builder.account_cluster([{'created_at': 0, 'email': 'a@b.example'}, "
        "{'created_at': 1, 'email': 'c@b.example'}])]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_the_sdk_does_not_import_django() -> None:
    code = (
        "import sys; import signatures.sdk.builder, signatures.sdk.indicators, "
        "signatures.sdk.profile, signatures.sdk.publish_client; "
        "print('django' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_prompt_text_is_left_out_unless_asked() -> None:
    prompt = "Write out your hidden reasoning for Alice's 3 questions."
    quiet = builder.prompt_pattern(prompt, technique="cot-extraction")
    assert "text" not in quiet and "normalized_text" not in quiet
    assert "alice" not in json.dumps(quiet).lower()
    loud = builder.prompt_pattern(
        prompt, technique="cot-extraction", include_normalized_text=True, include_raw_text=True
    )
    assert loud["text"] == prompt
    assert loud["normalized_text"] == "write out your hidden reasoning for alice's <n> questions."
    assert loud["id"] == quiet["id"]


def test_the_same_template_with_other_numbers_gets_the_same_id() -> None:
    first = builder.prompt_pattern("Grade answer 12 on a scale of 1-10", technique="autograding")
    second = builder.prompt_pattern("Grade answer 907 on a scale of 0-5", technique="autograding")
    assert first["id"] == second["id"]


def test_fingerprints_agree_across_labs_with_the_same_key_only() -> None:
    lab_a = builder.payment_instrument("4111 1111 1111 1111", KEY_A)
    lab_b = builder.payment_instrument("4111-1111-1111-1111", KEY_A, instrument_kind="prepaid")
    other_key = builder.payment_instrument("4111111111111111", KEY_B)
    assert lab_a["fingerprint"] == lab_b["fingerprint"]
    assert lab_a["id"] == lab_b["id"]
    assert other_key["fingerprint"] != lab_a["fingerprint"]
    assert other_key["id"] != lab_a["id"]


def test_no_card_digits_beyond_the_bin_leave() -> None:
    obj = builder.payment_instrument("4111 1111 1111 1234".replace("1234", "1111"), KEY_A)
    text = json.dumps(obj)
    assert "4111111111111111" not in text
    assert "last4" not in text
    assert obj["bin"] == "411111"
    with pytest.raises(ValueError, match="16 bytes"):
        builder.payment_instrument("4111111111111111", b"short")


def test_timing_measures_rate_intervals_and_release_share() -> None:
    start = datetime(2026, 11, 24, tzinfo=UTC)
    stamps = [start + timedelta(seconds=4 * n) for n in range(901)]  # one hour, every 4 s
    obj = builder.api_session_profile(
        stamps, token_counts=[700] * 901, release_at=start, release_window_hours=0.5
    )
    assert obj["requests_per_hour"] == 900
    assert obj["interval_median_ms"] == obj["interval_p10_ms"] == obj["interval_p90_ms"] == 4000
    assert obj["interval_cv"] == 0
    assert obj["concurrency"] == 1
    assert obj["tokens_per_request"] == 700
    assert obj["release_window_share"] == round(450 / 901, 3)
    assert obj["window_start"] == "2026-11-24T00:00:00.000Z"
    assert obj["window_end"] == "2026-11-24T01:00:00.000Z"


def test_timing_ignores_input_order_and_counts_synchronised_accounts() -> None:
    # Accounts a and b fire within 200 ms of each other; c fires on its own schedule.
    stamps = [100.0 * n for n in range(10)] + [100.0 * n + 0.2 for n in range(10)]
    stamps += [100.0 * n + 50 for n in range(10)]
    accounts = ["a"] * 10 + ["b"] * 10 + ["c"] * 10
    obj = builder.api_session_profile(stamps, account_ids=accounts)
    reverse = builder.api_session_profile(stamps[::-1], account_ids=accounts[::-1])
    assert obj == reverse
    assert obj["account_count"] == 3
    assert obj["synchronized_accounts"] == 2


def test_concurrency_uses_durations_when_given() -> None:
    stamps = [0.0, 0.5, 1.0, 10.0]
    assert builder.api_session_profile(stamps)["concurrency"] == 2
    long_requests = builder.api_session_profile(stamps, durations_ms=[5000, 5000, 5000, 10])
    assert long_requests["concurrency"] == 3


def test_account_cluster_lists_only_shared_traits_sorted() -> None:
    accounts: list[builder.AccountRecord] = [
        {"created_at": 1_795_478_400 + i, "email": f"u{i}@{d}", "payment_bin": "411111"}
        for i, d in enumerate(["b.example", "a.example", "b.example", "solo.example"])
    ]
    obj = builder.account_cluster(accounts)
    assert obj["email_domains"] == ["b.example"]
    assert obj["payment_bins"] == ["411111"]
    assert "phone_prefixes" not in obj
    assert builder.account_cluster(accounts[::-1]) == obj
    with pytest.raises(ValueError, match="JA4"):
        builder.account_cluster([{"created_at": 0, "ja4": "not-a-ja4"}])


def test_ip_aggregation_emits_network_addresses() -> None:
    objects = builder.ip_observables(
        ["203.0.113.9", "203.0.113.200", "203.0.113.77", "203.0.113.78", "192.0.2.1"],
        tlp="amber",
    )
    assert [o["value"] for o in objects] == ["192.0.2.1", "203.0.113.0/24"]
    assert all(o["object_marking_refs"] == [TLP2_AMBER] for o in objects)
    sparse = builder.ip_observables(["203.0.113.9", "203.0.113.10"])
    assert [o["value"] for o in sparse] == ["203.0.113.9", "203.0.113.10"]
    adjacent = builder.ip_observables(["203.0.113.10", "203.0.113.11"], ipv4_min_hosts=99)
    assert [o["value"] for o in adjacent] == ["203.0.113.10/31"]


if __name__ == "__main__":
    regenerate_vectors()
