"""signatures/sdk/profile.py: the shipped profile files and the checks the exchange's publish
path runs (schemas, deterministic ids, patterns, regexes)."""

from __future__ import annotations

import copy
import time
from typing import Any

import jsonschema
import pytest
import stix2

from signatures.sdk import builder
from signatures.sdk.constants import (
    ACCOUNT_CLUSTER_EXTENSION_ID,
    FORUM_IDENTITY_ID,
    PAYMENT_INSTRUMENT_EXTENSION_ID,
    PROMPT_PATTERN_EXTENSION_ID,
    SESSION_TIMING_EXTENSION_ID,
)
from signatures.sdk.profile import (
    deterministic_id,
    load_profile,
    pattern_errors,
    sco_id,
    stix_string_literal,
    validate_profile_object,
)

KEY = b"forum-sharing-key-2026-q4-000001"
PROFILE_EXTENSIONS = {
    "prompt-pattern": PROMPT_PATTERN_EXTENSION_ID,
    "payment-instrument": PAYMENT_INSTRUMENT_EXTENSION_ID,
    "api-session-profile": SESSION_TIMING_EXTENSION_ID,
    "account-cluster": ACCOUNT_CLUSTER_EXTENSION_ID,
}


def test_the_profile_declares_the_four_observables() -> None:
    profile = load_profile()
    assert profile.types == set(PROFILE_EXTENSIONS)
    assert profile.extension_ids == PROFILE_EXTENSIONS
    assert profile.forum_identity["id"] == FORUM_IDENTITY_ID
    assert profile.forum_identity["name"] == "AI-ISAC Forum"
    assert profile.forum_identity["identity_class"] == "organization"
    assert load_profile() is profile  # read once


@pytest.mark.parametrize("object_type", sorted(PROFILE_EXTENSIONS))
def test_each_extension_definition_is_strict_stix(object_type: str) -> None:
    profile = load_profile()
    definition = profile.extension_definitions[PROFILE_EXTENSIONS[object_type]]
    parsed = stix2.parse(definition, allow_custom=False)
    assert parsed.extension_types == ["new-sco"]
    assert definition["created_by_ref"] == FORUM_IDENTITY_ID
    assert definition["version"] == "1.0.0"
    assert definition["schema"] == profile.schema_of(object_type)["$id"]
    for prop in ("created", "modified"):
        assert len(definition[prop]) == len("2026-11-24T00:00:00.000Z")
        assert definition[prop].endswith("Z")
    assert not object_type.startswith("x-")


def test_the_forum_identity_is_strict_stix() -> None:
    stix2.parse(load_profile().forum_identity, allow_custom=False)


@pytest.mark.parametrize("object_type", sorted(PROFILE_EXTENSIONS))
def test_each_schema_is_draft_2020_12(object_type: str) -> None:
    schema = load_profile().schema_of(object_type)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["id_contributing_properties"]) <= set(schema["properties"])


def _samples() -> list[dict[str, Any]]:
    return [
        builder.prompt_pattern("Think step by step.", technique="cot-extraction"),
        builder.payment_instrument("4111111111111111", KEY, issuing_country="US"),
        builder.api_session_profile([0, 3.6, 7.3, 10.8]),
        builder.account_cluster([{"created_at": 0, "email": "a@x.example"}]),
    ]


def test_builder_output_has_no_errors() -> None:
    for obj in _samples():
        assert validate_profile_object(obj) == []


def test_other_types_are_not_checked() -> None:
    assert validate_profile_object({"type": "ipv4-addr", "value": "nonsense"}) == []


def test_a_schema_violation_names_the_object_the_property_and_why() -> None:
    obj = builder.payment_instrument("4111111111111111", KEY)
    obj["bin"] = "12ab"
    assert validate_profile_object(obj) == [
        f"{obj['id']}: property 'bin': '12ab' does not match '^[0-9]{{6,8}}$'"
    ]


def test_missing_and_unknown_properties_are_refused() -> None:
    obj = builder.prompt_pattern("Think step by step.", technique="cot-extraction")
    del obj["simhash64"]
    obj["last4"] = "1111"
    errors = validate_profile_object(obj)
    assert any("'simhash64' is a required property" in e for e in errors)
    assert any("'last4' was unexpected" in e for e in errors)


def test_a_nested_error_gives_its_json_path() -> None:
    obj = builder.account_cluster(
        [{"created_at": 0, "email": "a@x.example"}, {"created_at": 1, "email": "b@x.example"}]
    )
    obj["email_domains"] = ["x.example", "y domain"]
    obj["id"] = sco_id("account-cluster", obj)
    (error,) = validate_profile_object(obj)
    assert error.startswith(f"{obj['id']}: property 'email_domains[1]': 'y domain'")


def test_unsorted_lists_are_refused() -> None:
    obj = builder.account_cluster([{"created_at": 0}])
    obj["payment_bins"] = ["555555", "411111"]
    obj["id"] = sco_id("account-cluster", obj)
    assert validate_profile_object(obj) == [
        f"{obj['id']}: property 'payment_bins': items are not sorted in ascending order"
    ]


def test_the_extension_must_be_declared() -> None:
    obj = builder.prompt_pattern("Think step by step.", technique="cot-extraction")
    obj["extensions"] = {PROMPT_PATTERN_EXTENSION_ID: {"extension_type": "property-extension"}}
    (error,) = validate_profile_object(obj)
    assert f"property 'extensions.{PROMPT_PATTERN_EXTENSION_ID}.extension_type'" in error


@pytest.mark.parametrize("index", range(4))
def test_a_wrong_deterministic_id_is_refused(index: int) -> None:
    obj = copy.deepcopy(_samples()[index])
    contributing = load_profile().id_contributing[obj["type"]]
    # Change an id-contributing value but keep the old id: as if the producer edited it.
    prop = contributing[0]
    obj[prop] = {
        "normalized_sha256": "0" * 64,
        "fingerprint": "f" * 64,
        "window_start": "2000-01-01T00:00:00.000Z",
        "account_count": 7,
    }[prop]
    errors = validate_profile_object(obj)
    assert len(errors) == 1
    assert errors[0].startswith(f"{obj['id']}: property 'id': expected {obj['type']}--")
    assert "section 2.9" in errors[0]


def test_a_random_uuid_is_refused_by_the_schema_and_the_id_check() -> None:
    obj = builder.prompt_pattern("Think step by step.", technique="cot-extraction")
    obj["id"] = "prompt-pattern--2b7d8a55-8f4f-4a6b-9d7c-0e9a3c1b2f11"
    errors = validate_profile_object(obj)
    assert len(errors) == 2
    assert "property 'id'" in errors[0] and "does not match" in errors[0]
    assert "expected prompt-pattern--" in errors[1]


def test_deterministic_id_follows_jcs() -> None:
    # Key order and whitespace do not matter; RFC 8785 fixes the serialisation.
    props = {"b": 1.0, "a": "é"}
    assert deterministic_id("x", props, ["a", "b"]) == deterministic_id(
        "x", dict(reversed(props.items())), ["b", "a"]
    )


def test_valid_patterns_have_no_errors() -> None:
    for pattern in (
        "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
        "[prompt-pattern:normalized_sha256 = '" + "a" * 64 + "']",
        "[prompt-pattern:normalized_text MATCHES '^write out your (internal )?reasoning']",
        "[api-session-profile:requests_per_hour > 900 AND api-session-profile:interval_cv < 0.1]",
        "[payment-instrument:fingerprint = '" + "b" * 64 + "']",
        "[account-cluster:email_domains[*] = 'x.example']",
        "[x-unknown:whatever = 1]",
    ):
        assert pattern_errors(pattern) == [], pattern


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        ("(a)\\1", "invalid escape sequence"),
        ("think(?=ing)", "invalid perl operator"),
        ("(?<!re)think", "invalid perl operator"),
        ("unclosed(", "missing )"),
    ],
)
def test_regexes_re2_cannot_compile_are_refused(regex: str, reason: str) -> None:
    pattern = f"[prompt-pattern:normalized_text MATCHES {stix_string_literal(regex)}]"
    (error,) = pattern_errors(pattern)
    assert "not RE2 syntax" in error and reason in error
    assert regex in error


def test_regexes_are_checked_on_standard_types_too() -> None:
    (error,) = pattern_errors("[domain-name:value MATCHES '(x)\\\\1']")
    assert "domain-name:value" in error


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = '203.0.113.5'",
        "ipv4-addr:value = '203.0.113.5'",
        "[prompt-pattern:normalized_text MATCHES '\\d']",  # a lone backslash is no escape
        "[api-session-profile:requests_per_hour >> 900]",
    ],
)
def test_bad_pattern_syntax_is_refused(pattern: str) -> None:
    (error,) = pattern_errors(pattern)
    assert error.startswith("invalid STIX 2.1 pattern:")


def test_unknown_profile_properties_are_refused() -> None:
    errors = pattern_errors(
        "[api-session-profile:requests_per_minute > 15 AND api-session-profile:interval_cv < 0.1]"
    )
    assert errors == ["'api-session-profile' has no property 'requests_per_minute' in the profile"]
    (error,) = pattern_errors("[payment-instrument:last4 = '1111']")
    assert "'last4'" in error


def test_validation_is_fast_enough_for_bulk_publishes() -> None:
    objects = _samples() * 250
    started = time.perf_counter()
    for obj in objects:
        validate_profile_object(obj)
    per_object = (time.perf_counter() - started) / len(objects)
    assert per_object < 0.002  # seconds; measured around 0.1 ms
