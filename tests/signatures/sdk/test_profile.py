"""signatures/sdk/profile.py: the shipped profile files and the checks the exchange's publish
path runs (schemas, deterministic ids, patterns, regexes)."""

from __future__ import annotations

import copy
import math
from typing import Any

import jsonschema
import pytest
import stix2
from hypothesis import given, settings
from hypothesis import strategies as st

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


# The generated validators only vouch (Profile.schema_holds): whatever they pass,
# jsonschema passes too, on every profile observable and on mutations of them.
_MUTATION_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2**64),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["v1", "2.1", "a" * 64, "A" * 64, "abc\n", "cot-extraction", "US", "u"]),
    st.lists(st.integers(-3, 10) | st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=3), max_size=2),
)


@st.composite
def _mutated_observables(draw: st.DrawFn) -> dict[str, Any]:
    obj = copy.deepcopy(draw(st.sampled_from(_samples())))
    for _ in range(draw(st.integers(1, 2))):
        bodies = (
            [body for body in (obj.get("extensions") or {}).values() if isinstance(body, dict)]
            if isinstance(obj.get("extensions"), dict)
            else []
        )
        target = bodies[0] if bodies and draw(st.booleans()) else obj
        names = [*sorted(target), "x_extra", "minhash", "simhash64", "bin", "countries"]
        name = draw(st.sampled_from([name for name in names if name != "type"]))
        if name not in target or draw(st.integers(0, 5)) == 0:
            target[name] = draw(_MUTATION_VALUES)
        elif draw(st.booleans()):
            del target[name]
        else:
            target[name] = draw(st.sampled_from(_near(target[name])))
    return obj


def _near(value: Any) -> list[Any]:
    """Values close to ``value``, where validators tend to disagree."""
    if isinstance(value, bool):
        return [not value, 0, 1]
    if isinstance(value, int):
        return [value + 1, -value - 1, float(value), True, 2**53, 0]
    if isinstance(value, float):
        return [int(value), -value, 0.5] if math.isfinite(value) else [0.5]
    if isinstance(value, str):
        return [value + "\n", value.upper(), "", value[:-1], value + "0", " " + value]
    if isinstance(value, list):
        return [[], value[::-1], value + value[:1], value[:1], [*value, None]]
    if isinstance(value, dict):
        return [{}, {**value, "x": 1}, dict(list(value.items())[:1])]
    return [None]


@settings(max_examples=1500, deadline=None)
@given(_mutated_observables())
def test_the_generated_validator_vouches_only_for_what_jsonschema_accepts(
    obj: dict[str, Any],
) -> None:
    profile = load_profile()
    if profile.schema_holds(obj["type"], obj):
        assert list(profile.validator(obj["type"]).iter_errors(obj)) == []


def test_the_generated_validator_vouches_for_the_builders_observables() -> None:
    profile = load_profile()
    vouched = [obj["type"] for obj in _samples() if profile.schema_holds(obj["type"], obj)]
    # account-cluster's schema uses sortedItems, which only jsonschema checks.
    assert sorted(vouched) == ["api-session-profile", "payment-instrument", "prompt-pattern"]
