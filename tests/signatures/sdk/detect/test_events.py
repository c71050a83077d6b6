"""Telemetry events: a lab's request records fingerprinted at its edge, observed-data read
as events, and the STIX objects the matcher sees of an event."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from signatures.sdk import builder, normalize
from signatures.sdk.detect.events import (
    EventView,
    TelemetryEvent,
    event_from_raw,
    events_from_observed_data,
    parse_time_us,
)

T0 = 1_795_478_400.0  # 2026-11-24T00:00:00Z
KEY = bytes(range(32))  # docs/profile.md section 4
CARD = "4111 1111 1111 1111"


def raw(**fields: Any) -> dict[str, Any]:
    return {"event_id": "e1", "time": T0, "account_id": "acct-1", **fields}


# --- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T0, 1_795_478_400_000_000),
        (1_795_478_400, 1_795_478_400_000_000),
        (T0 + 0.25, 1_795_478_400_250_000),
        ("2026-11-24T00:00:00Z", 1_795_478_400_000_000),
        ("2026-11-24T00:00:00.123456Z", 1_795_478_400_123_456),
        ("2026-11-24T01:00:00+01:00", 1_795_478_400_000_000),
    ],
)
def test_it_reads_epoch_seconds_and_iso_timestamps_as_microseconds(
    value: Any, expected: int
) -> None:
    assert parse_time_us(value, "time") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "'when': 'yesterday' is not an ISO 8601 timestamp"),
        (True, "'when' is epoch seconds or an ISO 8601 timestamp"),
        (None, "'when' is epoch seconds or an ISO 8601 timestamp"),
        ([1], "'when' is epoch seconds or an ISO 8601 timestamp"),
        ("2026-11-24T00:00:00", "has no timezone"),
    ],
)
def test_it_refuses_a_time_that_is_not_a_number_or_a_zoned_timestamp(
    value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time_us(value, "when")


# --- a lab's raw event ---------------------------------------------------------------------


def test_it_keeps_the_plain_fields_of_a_raw_event() -> None:
    event = event_from_raw(
        raw(
            source_ip="203.0.113.9",
            asn=64511,
            model="m-1",
            ja4="T13D1516H2_8DAAF6152771",
            tokens_in=10,
            tokens_out=5,
            duration_ms=250,
            payment_bin="411111",
        ),
        sharing_key=None,
    )
    assert event == TelemetryEvent(
        event_id="e1",
        time_us=round(T0 * 1_000_000),
        account_id="acct-1",
        source_ip="203.0.113.9",
        asn=64511,
        model="m-1",
        ja4="t13d1516h2_8daaf6152771",
        tokens_in=10,
        tokens_out=5,
        duration_ms=250,
        payment_bin="411111",
    )
    assert event.tokens == 15


def test_it_counts_tokens_only_when_the_lab_recorded_some() -> None:
    assert event_from_raw(raw(), sharing_key=None).tokens is None
    assert event_from_raw(raw(tokens_out=7), sharing_key=None).tokens == 7
    assert event_from_raw(raw(tokens_in=0), sharing_key=None).tokens == 0


def test_it_fingerprints_the_card_and_keeps_only_its_bin() -> None:
    event = event_from_raw(raw(card_number=CARD), sharing_key=KEY)
    assert event.payment_fingerprint == builder.payment_fingerprint(CARD, KEY)
    assert event.payment_bin == "411111"
    assert "1111 1111" not in repr(event) and "4111111111111111" not in repr(event)


def test_it_refuses_a_card_number_without_the_sharing_key() -> None:
    with pytest.raises(ValueError, match="sharing key"):
        event_from_raw(
            {"event_id": "e", "time": T0, "account_id": "a", "card_number": "4111111111111111"},
            sharing_key=None,
        )


def test_it_turns_the_prompt_into_its_hash_and_sketches() -> None:
    prompt = 'Solve problem 17 about "Alice"  step by step.'
    event = event_from_raw(raw(prompt=prompt), sharing_key=None)
    normalized = normalize.normalize_prompt(prompt)
    assert event.prompt_normalized == normalized == "solve problem <n> about <q> step by step."
    assert event.prompt_sha256 == hashlib.sha256(normalized.encode()).hexdigest()
    assert event.prompt_words == 8
    sketch = builder.prompt_pattern(prompt, technique="other")
    assert (event.prompt_simhash, event.prompt_minhash) == (sketch["simhash64"], sketch["minhash"])


def test_it_records_no_prompt_when_nothing_is_left_after_normalisation() -> None:
    event = event_from_raw(raw(prompt=" \t\n "), sharing_key=None)
    assert (event.prompt_sha256, event.prompt_words, event.prompt_normalized) == (None, 0, None)


def test_it_keeps_only_the_domain_of_an_email_and_the_prefix_of_a_phone() -> None:
    event = event_from_raw(
        raw(email="K.Three@Mail.Example.", phone="0044 20 7946 0958", account_created=T0 - 60),
        sharing_key=None,
    )
    assert event.email_domain == "mail.example"
    assert event.phone_prefix == "+44207"
    assert event.account_created_us == round((T0 - 60) * 1_000_000)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"event_id": None}, "needs 'event_id', 'time' and 'account_id'"),
        ({"time": None}, "needs 'event_id', 'time' and 'account_id'"),
        ({"account_id": None}, "needs 'event_id', 'time' and 'account_id'"),
        ({"account_id": ""}, "'account_id' must be a non-empty string"),
        ({"source_ip": 17}, "'source_ip' must be a non-empty string"),
        ({"asn": -1}, "'asn' must be a non-negative integer"),
        ({"asn": True}, "'asn' must be a non-negative integer"),
        ({"tokens_in": 1.5}, "'tokens_in' must be a non-negative integer"),
        ({"duration_ms": "5"}, "'duration_ms' must be a non-negative integer"),
        ({"time": "soon"}, "'time': 'soon' is not an ISO 8601"),
        ({"account_created": "soon"}, "'account_created': 'soon' is not an ISO 8601"),
        ({"phone": "020 7946 0958"}, "not in international form"),
    ],
)
def test_it_refuses_a_malformed_field_naming_it(fields: dict[str, Any], message: str) -> None:
    record = {k: v for k, v in raw(**fields).items() if v is not None}
    with pytest.raises(ValueError, match=message):
        event_from_raw(record, sharing_key=KEY)


# --- observed-data -------------------------------------------------------------------------


def test_it_reads_observed_data_bundles() -> None:
    bundle = {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {
                "type": "observed-data",
                "id": "observed-data--1",
                "first_observed": "2026-11-24T00:00:00.000Z",
                "last_observed": "2026-11-24T00:00:00.000Z",
                "number_observed": 2,
                "object_refs": ["ipv4-addr--1", "user-account--1"],
            },
            {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "203.0.113.9"},
            {"type": "user-account", "id": "user-account--1", "user_id": "acct-9"},
        ],
    }
    events = events_from_observed_data(bundle)
    assert [(e.event_id, e.account_id, e.source_ip, e.time_us) for e in events] == [
        ("observed-data--1#0", "acct-9", "203.0.113.9", round(T0 * 1_000_000)),
        ("observed-data--1#1", "acct-9", "203.0.113.9", round(T0 * 1_000_000)),
    ]


def test_it_reads_one_observed_data_with_inline_objects() -> None:
    observed = {
        "type": "observed-data",
        "id": "observed-data--2",
        "first_observed": "2026-11-24T00:00:00Z",
        "number_observed": 1,
        "objects": {
            "0": {"type": "autonomous-system", "number": 64511},
            "1": {"type": "email-addr", "value": "x@Mail.Example"},
            "2": {
                "type": "user-account",
                "account_login": "k3",
                "account_created": "2026-11-20T00:00:00Z",
            },
            "3": {"type": "payment-instrument", "fingerprint": "ab" * 32, "bin": "411111"},
            "4": {
                "type": "prompt-pattern",
                "normalized_sha256": "cd" * 32,
                "word_count": 40,
                "normalized_text": "grade it",
            },
        },
    }
    (event,) = events_from_observed_data(observed)
    assert event.event_id == "observed-data--2"  # one observation: no suffix
    assert event.account_id == "k3"
    assert event.asn == 64511
    assert event.email_domain == "mail.example"
    assert event.account_created_us == parse_time_us("2026-11-20T00:00:00Z", "t")
    assert (event.payment_fingerprint, event.payment_bin) == ("ab" * 32, "411111")
    assert (event.prompt_sha256, event.prompt_words, event.prompt_normalized) == (
        "cd" * 32,
        40,
        "grade it",
    )


def test_it_gives_every_instance_the_observed_datas_account_without_a_user_account() -> None:
    observed = {
        "type": "observed-data",
        "id": "observed-data--3",
        "first_observed": "2026-11-24T00:00:00Z",
        "number_observed": 3,
        "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.7"}},
    }
    events = events_from_observed_data(observed)
    # One account, so that a REPEATS can bind the instances together.
    assert [(e.event_id, e.account_id) for e in events] == [
        ("observed-data--3#0", "observed-data--3"),
        ("observed-data--3#1", "observed-data--3"),
        ("observed-data--3#2", "observed-data--3"),
    ]


def test_it_reads_a_number_observed_that_is_not_a_count_as_one() -> None:
    observed = {
        "type": "observed-data",
        "id": "observed-data--5",
        "first_observed": "2026-11-24T00:00:00Z",
        "number_observed": 0,
        "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.7"}},
    }
    (event,) = events_from_observed_data(observed)
    assert (event.event_id, event.account_id) == ("observed-data--5#0", "observed-data--5")


def test_it_refuses_anything_but_observed_data_or_a_bundle() -> None:
    with pytest.raises(ValueError, match="expected an observed-data object or a bundle"):
        events_from_observed_data({"type": "indicator", "id": "indicator--1"})


def test_it_skips_references_the_bundle_does_not_hold() -> None:
    bundle = {
        "type": "bundle",
        "objects": [
            {
                "type": "observed-data",
                "id": "observed-data--4",
                "first_observed": "2026-11-24T00:00:00Z",
                "number_observed": 1,
                "object_refs": ["ipv4-addr--missing"],
            }
        ],
    }
    (event,) = events_from_observed_data(bundle)
    assert event.source_ip is None


# --- what the matcher sees -----------------------------------------------------------------


def test_it_shows_an_event_as_the_stix_objects_a_pattern_names() -> None:
    event = event_from_raw(
        raw(
            source_ip="2001:db8::1",
            asn=64511,
            email="k@mail.example",
            phone="+44 20 7946 0958",
            ja4="t13d",
            card_number=CARD,
            account_created=T0 - 60,
        ),
        sharing_key=KEY,
    )
    view = EventView(event)
    created = normalize.format_epoch_us(round((T0 - 60) * 1_000_000))
    assert list(view.types()) == [
        "ipv6-addr",
        "autonomous-system",
        "domain-name",
        "payment-instrument",
        "user-account",
        "account-cluster",
    ]
    assert view.objects("ipv4-addr") == []
    assert view.objects("ipv6-addr") == [{"type": "ipv6-addr", "value": "2001:db8::1"}]
    assert view.objects("autonomous-system") == [{"type": "autonomous-system", "number": 64511}]
    assert view.objects("domain-name") == [{"type": "domain-name", "value": "mail.example"}]
    assert view.objects("payment-instrument") == [
        {
            "type": "payment-instrument",
            "fingerprint": builder.payment_fingerprint(CARD, KEY),
            "bin": "411111",
        }
    ]
    assert view.objects("user-account") == [
        {"type": "user-account", "user_id": "acct-1", "account_created": created}
    ]
    assert view.objects("account-cluster") == [
        {
            "type": "account-cluster",
            "account_count": 1,
            "created_first": created,
            "created_last": created,
            "email_domains": ["mail.example"],
            "phone_prefixes": ["+44207"],
            "ja4": ["t13d"],
            "payment_bins": ["411111"],
        }
    ]
    assert view.objects("x-unknown") == []


def test_it_shows_the_prompt_as_a_prompt_pattern() -> None:
    event = event_from_raw(raw(prompt="Grade it"), sharing_key=None)
    (obj,) = EventView(event).objects("prompt-pattern")
    assert obj == {
        "type": "prompt-pattern",
        "normalization": normalize.PROMPT_NORMALIZATION,
        "normalized_sha256": event.prompt_sha256,
        "word_count": 2,
        "simhash64": event.prompt_simhash,
        "minhash": event.prompt_minhash,
        "normalized_text": "grade it",
    }
    assert "prompt-pattern" in EventView(event).types()
    assert "prompt-pattern" not in EventView(event_from_raw(raw(), sharing_key=None)).types()


def test_it_builds_extra_objects_once_and_only_when_asked() -> None:
    calls = []

    def profile() -> list[dict[str, Any]]:
        calls.append(1)
        return [{"type": "api-session-profile", "request_count": 2}]

    view = EventView(event_from_raw(raw(), sharing_key=None), {"api-session-profile": profile})
    assert "api-session-profile" in list(view.types())
    assert calls == []
    assert view.objects("api-session-profile") == [
        {"type": "api-session-profile", "request_count": 2}
    ]
    view.objects("api-session-profile")
    assert calls == [1]
