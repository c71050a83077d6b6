"""Tests for the X.590 JSS signatures and detached JWS of ``signatures.sdk.jss``.

Besides the module's own verifier, an independent one written from ``docs/signing.md`` alone
(``doc_sign``/``doc_verify``, built on ``cryptography`` and ``rfc8785`` directly) checks that the
documentation is enough to interoperate.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import rfc8785
import stix2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from signatures.sdk import jss
from signatures.sdk.constants import (
    DISTRIBUTION_EXTENSION_ID,
    FORUM_IDENTITY_ID,
    SIGNING_EXTENSION_ID,
    TLP2_AMBER,
    TLP2_LEVELS,
)
from tests import stix_samples as samples

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "signing.md"
PROFILE = ROOT / "signatures" / "profile"

MEMBER = "identity--7d9d3b61-0d0e-4a8e-9c55-3f1c2b4a5e60"
OTHER_MEMBER = "identity--0b6c1f0e-2f59-4d6b-8a3e-5c9d7e1f2a4b"
MEMBER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # the docs' test key
FORUM_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

EXAMPLE_INDICATOR: dict[str, Any] = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--4f1c9a52-8b3e-4d7a-9f26-1c5e8d2b7a90",
    "created_by_ref": MEMBER,
    "created": "2026-11-20T14:05:00.000Z",
    "modified": "2026-11-20T14:05:00.000Z",
    "name": "Distillation harvesting from a residential proxy range",
    "description": "High-volume, templated prompt harvesting consistent with model distillation.",
    "indicator_types": ["malicious-activity"],
    "pattern": "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
    "pattern_type": "stix",
    "pattern_version": "2.1",
    "valid_from": "2026-11-20T14:05:00Z",
    "object_marking_refs": [TLP2_AMBER],
}
EXAMPLE_CREATED = "2026-11-20T14:06:00.000Z"

# The worked example of docs/signing.md section 8.
GOLDEN_X = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
GOLDEN_THUMBPRINT = "1IG2tMH7J2wbJZnOf8LJzQitKf7LMvoAElsuDMVM54Y"
GOLDEN_SIGNING_INPUT = (
    '{"created":"2026-11-20T14:05:00.000Z",'
    '"created_by_ref":"identity--7d9d3b61-0d0e-4a8e-9c55-3f1c2b4a5e60",'
    '"description":"High-volume, templated prompt harvesting consistent with model distillation.",'
    '"extensions":{"extension-definition--0e314a05-39b5-43ee-a0e0-1d56623028a0":'
    '{"extension_type":"property-extension","signatures":[{"algorithm":"Ed25519",'
    '"created":"2026-11-20T14:06:00.000Z","hash_algorithm":"sha-256",'
    '"signee":"identity--7d9d3b61-0d0e-4a8e-9c55-3f1c2b4a5e60",'
    '"thumbprint":"1IG2tMH7J2wbJZnOf8LJzQitKf7LMvoAElsuDMVM54Y"}]}},'
    '"id":"indicator--4f1c9a52-8b3e-4d7a-9f26-1c5e8d2b7a90",'
    '"indicator_types":["malicious-activity"],"modified":"2026-11-20T14:05:00.000Z",'
    '"name":"Distillation harvesting from a residential proxy range",'
    '"object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],'
    '"pattern":"[ipv4-addr:value ISSUBSET \'203.0.113.0/24\']","pattern_type":"stix",'
    '"pattern_version":"2.1","spec_version":"2.1","type":"indicator",'
    '"valid_from":"2026-11-20T14:05:00Z"}'
)
GOLDEN_SHA256 = "a3e9e8b32e16ff5e1101b5a907f1374a54f11f114de526abf120d406a8f37c7f"
GOLDEN_VALUE = (
    "6UOE9I5rVxk2DuNBSkDdN1VIPb2sc9om0CvgL-VjZiN8e9CsGwY_VovEdbhri3666bYeD7r8PkRXJc6B9UyTAA"
)
GOLDEN_JWS_BODY = b'{"more":false,"objects":[]}'
GOLDEN_JWS = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6IjFJRzJ0TUg3SjJ3Ykpabk9mOExKelFpdEtmN0xNdm9BRWxzdURNVk01NFkifQ"
    "..0qgztEdzmigtbvHTJ-7nDHnRXSgG_tUowoYvQKrZaFbJQo73tLKeD4PSN3rwkEjGaHDLzbyD3ic7vauYQwunAQ"
)


def member_jwks(**life: str) -> dict[str, Any]:
    return {
        "keys": [
            jss.public_jwk(
                MEMBER_KEY.public_key(),
                signee=MEMBER,
                valid_from=life.pop("valid_from", "2026-01-01T00:00:00.000Z"),
                **life,
            ),
            jss.public_jwk(
                FORUM_KEY.public_key(),
                signee=FORUM_IDENTITY_ID,
                valid_from="2026-01-01T00:00:00.000Z",
            ),
            jss.public_jwk(
                OTHER_KEY.public_key(),
                signee=OTHER_MEMBER,
                valid_from="2026-01-01T00:00:00.000Z",
            ),
        ]
    }


def signed_example() -> dict[str, Any]:
    return jss.sign_object(EXAMPLE_INDICATOR, MEMBER_KEY, signee=MEMBER, created=EXAMPLE_CREATED)


def entries_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = obj["extensions"][SIGNING_EXTENSION_ID]["signatures"]
    return entries


def verify(obj: Any, jwks: dict[str, Any] | None = None) -> jss.VerificationReport:
    return jss.verify_object(obj, jwks or member_jwks(), now=NOW)


# --- an independent implementation of docs/signing.md -----------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    if "=" in text:
        raise ValueError("padding")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def doc_thumbprint(x: str) -> str:
    """docs section 5: SHA-256 of {"crv":"Ed25519","kty":"OKP","x":"<x>"}, base64url."""
    return b64url(hashlib.sha256(f'{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}'.encode()).digest())


def doc_digest(obj: dict[str, Any], entry: dict[str, Any]) -> bytes:
    """docs section 3 step 4 and section 4 step 2.6."""
    copied = copy.deepcopy(obj)
    copied.setdefault("extensions", {}).setdefault(
        SIGNING_EXTENSION_ID, {"extension_type": "property-extension"}
    )["signatures"] = [{k: v for k, v in entry.items() if k != "value"}]
    return hashlib.sha256(rfc8785.dumps(copied)).digest()


def doc_sign(
    obj: dict[str, Any], key: Ed25519PrivateKey, signee: str, created: str
) -> dict[str, Any]:
    """docs section 3, without the signee check of step 1 (tests need forbidden signees)."""
    signed = copy.deepcopy(obj)
    body = signed.setdefault("extensions", {}).setdefault(SIGNING_EXTENSION_ID, {})
    body["extension_type"] = "property-extension"
    x = b64url(key.public_key().public_bytes_raw())
    entry = {
        "algorithm": "Ed25519",
        "hash_algorithm": "sha-256",
        "thumbprint": doc_thumbprint(x),
        "signee": signee,
        "created": created,
    }
    body.setdefault("signatures", []).append(entry)
    entry["value"] = b64url(key.sign(doc_digest(signed, entry)))
    return signed


def doc_when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def doc_entry_valid(obj: dict[str, Any], entry: Any, jwks: dict[str, Any], now: datetime) -> bool:
    """docs section 4 step 2."""
    members = {"algorithm", "hash_algorithm", "thumbprint", "signee", "created", "value"}
    if not isinstance(entry, dict) or set(entry) != members:
        return False
    if not all(isinstance(value, str) for value in entry.values()):
        return False
    if entry["algorithm"] != "Ed25519" or entry["hash_algorithm"] != "sha-256":
        return False
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["created"]):
        return False
    try:
        signature = unb64url(entry["value"])
    except ValueError:
        return False
    if len(signature) != 64:
        return False
    keys = [k for k in jwks["keys"] if doc_thumbprint(k["x"]) == entry["thumbprint"]]
    if not keys:
        return False
    try:
        created = doc_when(entry["created"])
    except ValueError:
        return False
    for key in keys:
        if key.get("signee") != entry["signee"]:
            return False
        if "revoked" in key and doc_when(key["revoked"]) <= created:
            return False
        if "valid_until" in key and doc_when(key["valid_until"]) < created:
            return False
        if "valid_from" in key and created < doc_when(key["valid_from"]):
            return False
    creditable = obj.get("type") in {"marking-definition", "language-content"}
    creator = None if creditable else obj.get("created_by_ref")
    if creator is not None and entry["signee"] not in (creator, FORUM_IDENTITY_ID):
        return False
    if created > now + timedelta(minutes=5):
        return False
    public_key = Ed25519PublicKey.from_public_bytes(unb64url(keys[0]["x"]))
    try:
        public_key.verify(signature, doc_digest(obj, entry))
    except InvalidSignature:
        return False
    return True


def doc_verify(obj: dict[str, Any], jwks: dict[str, Any], now: datetime = NOW) -> str:
    """docs section 4: "valid", "invalid" or "unsigned"."""
    entries = obj.get("extensions", {}).get(SIGNING_EXTENSION_ID, {}).get("signatures", [])
    if not entries:
        return "unsigned"
    ok = all(doc_entry_valid(obj, entry, jwks, now) for entry in entries)
    return "valid" if ok else "invalid"


# --- the worked example ----------------------------------------------------------------------


def doc_json_blocks() -> list[Any]:
    text = DOCS.read_text(encoding="utf-8")
    return [json.loads(block) for block in re.findall(r"```json\n(\{.*?\n\})\n```", text, re.S)]


def test_it_reproduces_the_worked_example() -> None:
    jwk = jss.public_jwk(
        MEMBER_KEY.public_key(), signee=MEMBER, valid_from="2026-01-01T00:00:00.000Z"
    )
    signed = signed_example()
    entry = entries_of(signed)[0]
    signing_input = jss.signing_input(signed, entry)

    assert MEMBER_KEY.private_bytes_raw().hex() == (
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    )
    assert jwk["x"] == GOLDEN_X
    assert jwk["kid"] == GOLDEN_THUMBPRINT == jss.jwk_thumbprint(MEMBER_KEY.public_key())
    assert signing_input.decode() == GOLDEN_SIGNING_INPUT
    assert hashlib.sha256(signing_input).hexdigest() == GOLDEN_SHA256
    assert entry["value"] == GOLDEN_VALUE
    assert jss.jws_detached_sign(GOLDEN_JWS_BODY, MEMBER_KEY, GOLDEN_THUMBPRINT) == GOLDEN_JWS


def test_it_matches_the_values_printed_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for golden in (
        GOLDEN_THUMBPRINT,
        GOLDEN_SIGNING_INPUT,
        GOLDEN_SHA256,
        GOLDEN_VALUE,
        GOLDEN_JWS,
        f"{len(GOLDEN_SIGNING_INPUT)} bytes",
    ):
        assert golden in text
    blocks = doc_json_blocks()
    assert EXAMPLE_INDICATOR in blocks
    assert signed_example() in blocks
    assert (
        jss.public_jwk(
            MEMBER_KEY.public_key(), signee=MEMBER, valid_from="2026-01-01T00:00:00.000Z"
        )
        in blocks
    )


def test_it_computes_the_rfc_8037_thumbprint_test_vector() -> None:
    # RFC 8037 Appendix A.3.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jss.jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert jss.jwk_thumbprint(jss.load_public_key(jwk)) == jss.jwk_thumbprint(jwk)


# --- round trips -----------------------------------------------------------------------------


def test_it_verifies_what_it_signs() -> None:
    report = verify(signed_example())
    assert report.status == "valid"
    assert report.valid
    assert report.object_id == EXAMPLE_INDICATOR["id"]
    assert report.signees == (MEMBER,)
    assert report.entries[0].thumbprint == GOLDEN_THUMBPRINT


def test_it_does_not_mutate_the_input() -> None:
    original = copy.deepcopy(EXAMPLE_INDICATOR)
    signed = jss.sign_object(original, MEMBER_KEY, signee=MEMBER)
    assert original == EXAMPLE_INDICATOR
    signed["indicator_types"].append("changed")
    assert original == EXAMPLE_INDICATOR


def test_it_stamps_the_signature_with_millisecond_precision() -> None:
    signed = jss.sign_object(EXAMPLE_INDICATOR, MEMBER_KEY, signee=MEMBER)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entries_of(signed)[0]["created"])
    moment = datetime(2026, 11, 24, 9, 30, 0, 999_999, tzinfo=UTC)
    assert jss.format_timestamp(moment) == "2026-11-24T09:30:00.999Z"


def test_the_independent_verifier_accepts_objects_signed_by_jss() -> None:
    jwks = member_jwks()
    assert doc_verify(signed_example(), jwks) == "valid"
    fresh = jss.sign_object(EXAMPLE_INDICATOR, MEMBER_KEY, signee=MEMBER)
    countersigned = jss.sign_object(fresh, FORUM_KEY, signee=FORUM_IDENTITY_ID)
    assert doc_verify(countersigned, jwks, now=datetime.now(UTC)) == "valid"


def test_jss_accepts_objects_signed_by_the_independent_signer() -> None:
    signed = doc_sign(EXAMPLE_INDICATOR, MEMBER_KEY, MEMBER, EXAMPLE_CREATED)
    assert signed == signed_example()
    assert verify(signed).status == "valid"


# --- tampering -------------------------------------------------------------------------------


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        target = obj
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _remove(name: str) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        del obj[name]

    return change


ENTRY = ("extensions", SIGNING_EXTENSION_ID, "signatures", 0)
BODY = ("extensions", SIGNING_EXTENSION_ID)

TAMPERING = {
    "change a value": _set(("pattern",), "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"),
    "add a property": _set(("confidence",), 90),
    "remove a property": _remove("description"),
    "change a nested value": _set(("object_marking_refs", 0), "marking-definition--x"),
    "change a list item type": _set(("indicator_types",), ["benign"]),
    "add a member to the extension body": _set((*BODY, "note"), "added"),
    "add another extension": _set(("extensions", DISTRIBUTION_EXTENSION_ID), {"a": 1}),
    "change the entry's signee": _set((*ENTRY, "signee"), OTHER_MEMBER),
    "change the entry's created": _set((*ENTRY, "created"), "2026-11-20T14:07:00.000Z"),
    "point the entry at another key": _set(
        (*ENTRY, "thumbprint"), jss.jwk_thumbprint(OTHER_KEY.public_key())
    ),
    "change the modified timestamp precision": _set(("modified",), "2026-11-20T14:05:00Z"),
    "change a string into a number": _set(("spec_version",), 2.1),
}


@pytest.mark.parametrize("change", TAMPERING.values(), ids=TAMPERING.keys())
def test_it_rejects_any_change_after_signing(change: Callable[[dict[str, Any]], None]) -> None:
    signed = signed_example()
    change(signed)
    assert verify(signed).status == "invalid"
    assert doc_verify(signed, member_jwks()) == "invalid"


def test_it_says_the_object_was_changed() -> None:
    signed = signed_example()
    signed["name"] = "Benign traffic"
    report = verify(signed)
    assert report.entries[0].reason == (
        "signature value does not match: the object was changed after signing"
    )


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _reordered(value[name]) for name in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


def test_it_ignores_member_order_and_whitespace() -> None:
    signed = signed_example()
    for text in (
        json.dumps(_reordered(signed)),
        json.dumps(signed, indent=4),
        json.dumps(signed, separators=(",", ":")),
        json.dumps(signed, ensure_ascii=True).replace('"name"', '"\\u006eame"'),
    ):
        received = json.loads(text)
        assert verify(received).status == "valid"
        assert doc_verify(received, member_jwks()) == "valid"


def test_stix2_reserialization_breaks_signatures() -> None:
    # docs/signing.md section 7: stix2 adds pattern_version and rewrites timestamp precision.
    indicator = {**EXAMPLE_INDICATOR, "modified": "2026-11-20T14:05:00.1Z"}
    del indicator["pattern_version"]
    signed = jss.sign_object(indicator, MEMBER_KEY, signee=MEMBER, created=EXAMPLE_CREATED)
    assert verify(signed).status == "valid"

    reserialized = json.loads(stix2.parse(json.dumps(signed)).serialize())

    assert reserialized["pattern_version"] == "2.1"
    assert reserialized["modified"] == "2026-11-20T14:05:00.100Z"
    assert reserialized["extensions"] == signed["extensions"]
    report = verify(reserialized)
    assert report.status == "invalid"
    assert "the object was changed after signing" in report.reason


def test_it_reports_objects_outside_i_json_as_invalid() -> None:
    signed = jss.sign_object(
        {**EXAMPLE_INDICATOR, "confidence": 90}, MEMBER_KEY, signee=MEMBER, created=EXAMPLE_CREATED
    )
    signed["confidence"] = 2**60
    report = verify(signed)
    assert report.status == "invalid"
    assert "cannot be canonicalized (RFC 8785)" in report.reason


# --- several signatures ----------------------------------------------------------------------


def test_each_of_two_signatures_verifies_on_its_own() -> None:
    member_signed = signed_example()
    both = jss.sign_object(
        member_signed, FORUM_KEY, signee=FORUM_IDENTITY_ID, created="2026-11-21T00:00:00.000Z"
    )
    first, second = entries_of(both)
    assert first == entries_of(member_signed)[0]

    report = verify(both)
    assert report.status == "valid"
    assert report.signees == (MEMBER, FORUM_IDENTITY_ID)
    assert doc_verify(both, member_jwks()) == "valid"

    only_forum = copy.deepcopy(both)
    entries_of(only_forum).pop(0)
    assert verify(only_forum).signees == (FORUM_IDENTITY_ID,)
    assert verify(member_signed).signees == (MEMBER,)
    # The new entry's signing input left the first entry out.
    assert jss.signing_input(both, second) == jss.signing_input(only_forum, second)


def test_one_bad_signature_makes_the_object_invalid() -> None:
    both = jss.sign_object(signed_example(), FORUM_KEY, signee=FORUM_IDENTITY_ID)
    entries_of(both)[1]["value"] = entries_of(both)[0]["value"]
    report = verify(both)
    assert report.status == "invalid"
    assert [entry.valid for entry in report.entries] == [True, False]
    assert report.reason.startswith("signature 2: ")


# --- signees ---------------------------------------------------------------------------------


def test_it_rejects_a_signee_who_is_not_the_creator() -> None:
    signed = doc_sign(EXAMPLE_INDICATOR, OTHER_KEY, OTHER_MEMBER, EXAMPLE_CREATED)
    report = verify(signed)
    assert report.status == "invalid"
    assert report.entries[0].reason == (
        f"signee '{OTHER_MEMBER}' is not the object's created_by_ref '{MEMBER}'"
    )
    assert doc_verify(signed, member_jwks()) == "invalid"


def test_it_refuses_to_sign_for_someone_else_s_object() -> None:
    with pytest.raises(ValueError, match="neither the object's created_by_ref"):
        jss.sign_object(EXAMPLE_INDICATOR, OTHER_KEY, signee=OTHER_MEMBER)


def test_it_accepts_any_signee_without_created_by_ref() -> None:
    observable = {"type": "ipv4-addr", "id": "ipv4-addr--x", "value": "203.0.113.0/24"}
    signed = jss.sign_object(observable, OTHER_KEY, signee=OTHER_MEMBER, created=EXAMPLE_CREATED)
    assert verify(signed).signees == (OTHER_MEMBER,)


@pytest.mark.parametrize("object_type", ["marking-definition", "language-content"])
def test_it_lets_the_publisher_sign_meta_objects_that_credit_someone_else(
    object_type: str,
) -> None:
    credited = {"type": object_type, "id": f"{object_type}--x", "created_by_ref": MEMBER}
    signed = jss.sign_object(credited, OTHER_KEY, signee=OTHER_MEMBER, created=EXAMPLE_CREATED)
    assert verify(signed).signees == (OTHER_MEMBER,)
    assert doc_verify(signed, member_jwks()) == "valid"


def test_it_rejects_a_signee_that_does_not_own_the_key() -> None:
    signed = doc_sign(EXAMPLE_INDICATOR, OTHER_KEY, MEMBER, EXAMPLE_CREATED)
    report = verify(signed)
    assert report.status == "invalid"
    assert f"does not own key '{jss.jwk_thumbprint(OTHER_KEY.public_key())}'" in report.reason
    assert f"belongs to '{OTHER_MEMBER}'" in report.reason


# --- key life --------------------------------------------------------------------------------

REVOKED = "2026-11-20T14:06:00.000Z"


@pytest.mark.parametrize(
    ("created", "status"),
    [
        ("2026-11-20T14:05:59.999Z", "valid"),
        ("2026-11-20T14:06:00.000Z", "invalid"),
        ("2026-11-21T00:00:00.000Z", "invalid"),
    ],
)
def test_it_honours_revocation(created: str, status: str) -> None:
    jwks = member_jwks(revoked=REVOKED, revocation_reason="key compromise")
    signed = jss.sign_object(EXAMPLE_INDICATOR, MEMBER_KEY, signee=MEMBER, created=created)
    report = verify(signed, jwks)
    assert report.status == status
    assert doc_verify(signed, jwks) == status
    if status == "invalid":
        assert report.entries[0].reason == (
            f"key '{GOLDEN_THUMBPRINT}' was revoked at {REVOKED} (key compromise), "
            f"at or before the signature's creation time {created}"
        )


def test_it_compares_key_life_at_nanosecond_precision() -> None:
    jwks = member_jwks(revoked="2026-11-20T14:06:00.000000001Z")
    signed = jss.sign_object(EXAMPLE_INDICATOR, MEMBER_KEY, signee=MEMBER, created=REVOKED)
    assert verify(signed, jwks).status == "valid"


@pytest.mark.parametrize(
    ("created", "status"),
    [("2026-06-30T23:59:59.999Z", "valid"), ("2026-07-01T00:00:00.001Z", "invalid")],
)
def test_it_honours_retirement(created: str, status: str) -> None:
    jwks = member_jwks(valid_until="2026-07-01T00:00:00Z")
    signed = jss.sign_object(EXAMPLE_INDICATOR, MEMBER_KEY, signee=MEMBER, created=created)
    report = verify(signed, jwks)
    assert report.status == status
    assert doc_verify(signed, jwks) == status
    if status == "invalid":
        assert "was retired at 2026-07-01T00:00:00Z (valid_until)" in report.reason


def test_it_rejects_signatures_made_before_the_key_was_valid() -> None:
    signed = jss.sign_object(
        EXAMPLE_INDICATOR, MEMBER_KEY, signee=MEMBER, created="2025-12-31T23:59:59.999Z"
    )
    report = verify(signed)
    assert report.status == "invalid"
    assert "is valid only from 2026-01-01T00:00:00.000Z" in report.reason


@pytest.mark.parametrize(
    ("ahead", "status"),
    [(timedelta(minutes=5), "valid"), (timedelta(minutes=5, milliseconds=1), "invalid")],
)
def test_it_rejects_signatures_from_the_future(ahead: timedelta, status: str) -> None:
    created = jss.format_timestamp(NOW + ahead)
    signed = jss.sign_object(EXAMPLE_INDICATOR, MEMBER_KEY, signee=MEMBER, created=created)
    report = verify(signed)
    assert report.status == status
    if status == "invalid":
        assert report.reason.endswith("lies more than 5 minutes in the future")


def test_a_stale_key_listing_cannot_undo_a_revocation() -> None:
    stale = member_jwks()
    revoked = member_jwks(revoked="2026-11-20T00:00:00.000Z")
    report = jss.verify_object(signed_example(), [stale, revoked], now=NOW)
    assert report.status == "invalid"
    assert "was revoked" in report.reason


def test_it_rejects_an_unknown_key() -> None:
    jwks = {"keys": member_jwks()["keys"][1:]}
    report = verify(signed_example(), jwks)
    assert report.status == "invalid"
    assert report.entries[0].reason == f"unknown key thumbprint '{GOLDEN_THUMBPRINT}'"


# --- key sets --------------------------------------------------------------------------------


def test_it_skips_unusable_keys_and_says_why() -> None:
    good = jss.public_jwk(MEMBER_KEY.public_key(), signee=MEMBER)
    wrong_kid = {**jss.public_jwk(FORUM_KEY.public_key()), "kid": "some-name"}
    private = {**jss.public_jwk(OTHER_KEY.public_key()), "d": b64url(bytes(32))}
    rsa = {"kty": "RSA", "n": "AQAB", "e": "AQAB"}
    short = {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}
    verifier = jss.Verifier({"keys": [good, wrong_kid, private, rsa, short]})
    assert verifier.thumbprints == {GOLDEN_THUMBPRINT}
    assert len(verifier.ignored) == 4
    assert "is not its RFC 7638 thumbprint" in verifier.ignored[0]
    assert "private key member 'd'" in verifier.ignored[1]
    assert verifier.verify(signed_example(), now=NOW).valid


def test_it_rejects_a_key_set_without_a_key_list() -> None:
    with pytest.raises(ValueError, match="'keys' must be a list"):
        jss.Verifier({"keys": {}})


def test_a_key_without_signee_vouches_for_nobody() -> None:
    jwks = {"keys": [jss.public_jwk(MEMBER_KEY.public_key())]}
    report = verify(signed_example(), jwks)
    assert report.status == "invalid"
    assert "(it names no signee)" in report.reason


# --- malformed and unsigned objects ----------------------------------------------------------

MALFORMED_ENTRIES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "missing value": (lambda e: e.pop("value"), "missing 'value'"),
    "extra member": (lambda e: e.update(public_key="x"), "unexpected member 'public_key'"),
    "other algorithm": (lambda e: e.update(algorithm="ES256"), "unsupported algorithm 'ES256'"),
    "other hash": (lambda e: e.update(hash_algorithm="sha-512"), "unsupported hash_algorithm"),
    "number value": (lambda e: e.update(created=1), "'created' is not a string"),
    "microseconds": (
        lambda e: e.update(created="2026-11-20T14:06:00.000000Z"),
        "exactly 3 fraction digits",
    ),
    "impossible date": (
        lambda e: e.update(created="2026-02-30T14:06:00.000Z"),
        "day is out of range",
    ),
    "padded value": (lambda e: e.update(value=e["value"] + "=="), "not base64url"),
    "short value": (lambda e: e.update(value="AAAA"), "not a 64-byte Ed25519 signature"),
    "bad signee": (lambda e: e.update(signee="Example Lab"), "not a STIX identity id"),
}


@pytest.mark.parametrize(
    ("change", "reason"), MALFORMED_ENTRIES.values(), ids=MALFORMED_ENTRIES.keys()
)
def test_it_rejects_malformed_entries(
    change: Callable[[dict[str, Any]], None], reason: str
) -> None:
    signed = signed_example()
    change(entries_of(signed)[0])
    report = verify(signed)
    assert report.status == "invalid"
    assert report.entries[0].reason.startswith("malformed signature entry: ")
    assert reason in report.entries[0].reason
    assert doc_verify(signed, member_jwks()) == "invalid"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([], "not a JSON object"),
        ({"id": "x", "extensions": []}, "'extensions' is not a JSON object"),
        ({"extensions": {SIGNING_EXTENSION_ID: "signed"}}, "extension is not a JSON object"),
        ({"extensions": {SIGNING_EXTENSION_ID: {"signatures": {}}}}, "is not a list"),
        ({"extensions": {SIGNING_EXTENSION_ID: {"signatures": ["x"]}}}, "not a JSON object"),
    ],
)
def test_it_rejects_malformed_objects(obj: Any, reason: str) -> None:
    report = verify(obj)
    assert report.status == "invalid"
    assert reason in report.reason


@pytest.mark.parametrize(
    "obj",
    [
        EXAMPLE_INDICATOR,
        {**EXAMPLE_INDICATOR, "extensions": {}},
        {**EXAMPLE_INDICATOR, "extensions": {SIGNING_EXTENSION_ID: {"signatures": []}}},
    ],
)
def test_it_reports_unsigned_objects(obj: dict[str, Any]) -> None:
    assert verify(obj).status == "unsigned"
    assert doc_verify(obj, member_jwks()) == "unsigned"


def test_the_signing_input_creates_the_extension_for_unsigned_objects() -> None:
    entry = entries_of(signed_example())[0]
    assert jss.signing_input(EXAMPLE_INDICATOR, entry).decode() == GOLDEN_SIGNING_INPUT


def test_the_signing_input_keeps_other_members_of_the_extension_body() -> None:
    obj = {**EXAMPLE_INDICATOR, "extensions": {SIGNING_EXTENSION_ID: {"note": "kept"}}}
    signed = jss.sign_object(obj, MEMBER_KEY, signee=MEMBER, created=EXAMPLE_CREATED)
    body = signed["extensions"][SIGNING_EXTENSION_ID]
    assert body["note"] == "kept"
    assert body["extension_type"] == "property-extension"
    assert b'"note":"kept"' in jss.signing_input(signed, body["signatures"][0])
    assert verify(signed).valid
    assert doc_verify(signed, member_jwks()) == "valid"


# --- detached JWS ----------------------------------------------------------------------------


def forum_jwks(**life: str) -> dict[str, Any]:
    return {"keys": [jss.public_jwk(FORUM_KEY.public_key(), signee=FORUM_IDENTITY_ID, **life)]}


FORUM_KID = jss.jwk_thumbprint(FORUM_KEY.public_key())
BODY_BYTES = b'{"more": false, "objects": [{"type": "indicator"}]}'


def test_it_round_trips_a_detached_jws() -> None:
    jws = jss.jws_detached_sign(BODY_BYTES, FORUM_KEY, FORUM_KID)
    header, payload, _ = jws.split(".")
    assert payload == ""
    assert json.loads(unb64url(header)) == {"alg": "EdDSA", "kid": FORUM_KID}
    assert jss.jws_detached_verify(BODY_BYTES, jws, forum_jwks()) == FORUM_KID


def test_the_docs_jws_verifies_independently() -> None:
    header, _, signature = GOLDEN_JWS.split(".")
    jws_input = f"{header}.{b64url(GOLDEN_JWS_BODY)}".encode()
    MEMBER_KEY.public_key().verify(unb64url(signature), jws_input)
    assert jss.jws_detached_verify(GOLDEN_JWS_BODY, GOLDEN_JWS, member_jwks()) == GOLDEN_THUMBPRINT


def _flip_last_char(text: str) -> str:
    return text[:-2] + ("A" if text[-2] != "A" else "B") + text[-1]


JWS_FAILURES: dict[str, tuple[Callable[[str], tuple[bytes, str]], str]] = {
    "changed body": (lambda jws: (BODY_BYTES + b" ", jws), "the payload was changed"),
    "changed signature": (lambda jws: (BODY_BYTES, _flip_last_char(jws)), "signature does not"),
    "attached payload": (
        lambda jws: (BODY_BYTES, jws.replace("..", f".{b64url(BODY_BYTES)}.")),
        "not a detached JWS",
    ),
    "two parts": (lambda jws: (BODY_BYTES, jws.replace("..", ".")), "three '.'-separated parts"),
    "other alg": (
        lambda jws: (BODY_BYTES, b64url(b'{"alg":"ES256","kid":"k"}') + ".." + jws.split("..")[1]),
        "unsupported alg 'ES256'",
    ),
    "critical extension": (
        lambda jws: (
            BODY_BYTES,
            b64url(
                json.dumps(
                    {"alg": "EdDSA", "kid": FORUM_KID, "b64": False, "crit": ["b64"]}
                ).encode()
            )
            + ".."
            + jws.split("..")[1],
        ),
        "unsupported critical header parameters",
    ),
    "unknown kid": (
        lambda jws: (
            BODY_BYTES,
            jss.jws_detached_sign(
                BODY_BYTES, OTHER_KEY, jss.jwk_thumbprint(OTHER_KEY.public_key())
            ),
        ),
        "unknown key",
    ),
    "garbage header": (lambda jws: (BODY_BYTES, "!!.." + jws.split("..")[1]), "not base64url"),
}


@pytest.mark.parametrize(("tamper", "reason"), JWS_FAILURES.values(), ids=JWS_FAILURES.keys())
def test_it_rejects_bad_detached_jws(
    tamper: Callable[[str], tuple[bytes, str]], reason: str
) -> None:
    payload, jws = tamper(jss.jws_detached_sign(BODY_BYTES, FORUM_KEY, FORUM_KID))
    with pytest.raises(jss.JWSError, match=re.escape(reason)):
        jss.jws_detached_verify(payload, jws, forum_jwks())


def test_it_rejects_a_jws_by_a_revoked_key() -> None:
    jws = jss.jws_detached_sign(BODY_BYTES, FORUM_KEY, FORUM_KID)
    jwks = forum_jwks(revoked="2026-11-24T11:00:00.000Z")
    with pytest.raises(jss.JWSError, match=re.escape("was revoked at 2026-11-24T11:00:00.000Z")):
        jss.jws_detached_verify(BODY_BYTES, jws, jwks, now=NOW)
    assert jss.jws_detached_verify(BODY_BYTES, jws, jwks, now=NOW - timedelta(hours=2))


def test_it_refuses_a_kid_that_is_not_the_thumbprint() -> None:
    with pytest.raises(ValueError, match="is not the key's RFC 7638 thumbprint"):
        jss.jws_detached_sign(BODY_BYTES, FORUM_KEY, "forum-2026")


# --- extension definitions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "extension_id"),
    [("signatures", SIGNING_EXTENSION_ID), ("distribution", DISTRIBUTION_EXTENSION_ID)],
)
def test_the_extension_definitions_are_valid_stix(name: str, extension_id: str) -> None:
    path = PROFILE / "extension-definitions" / f"{name}.json"
    definition = json.loads(path.read_text(encoding="utf-8"))
    parsed = stix2.parse(definition, allow_custom=False)
    assert parsed.id == extension_id
    assert parsed.created_by_ref == FORUM_IDENTITY_ID
    assert parsed.extension_types == ["property-extension"]
    schema = json.loads((PROFILE / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert definition["schema"] == schema["$id"]


def _schema(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((PROFILE / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def test_the_signatures_schema_accepts_signed_objects_and_rejects_malformed_entries() -> None:
    validator = _schema("signatures")
    both = jss.sign_object(signed_example(), FORUM_KEY, signee=FORUM_IDENTITY_ID)
    validator.validate(both["extensions"][SIGNING_EXTENSION_ID])
    for name, (change, _) in MALFORMED_ENTRIES.items():
        if name == "impossible date":
            continue  # a calendar check is beyond a JSON Schema pattern
        signed = signed_example()
        change(entries_of(signed)[0])
        assert not validator.is_valid(signed["extensions"][SIGNING_EXTENSION_ID]), name


def test_the_distribution_schema() -> None:
    validator = _schema("distribution")
    validator.validate({"extension_type": "property-extension", "recipients": [MEMBER]})
    assert not validator.is_valid({"extension_type": "property-extension", "recipients": []})
    assert not validator.is_valid({"extension_type": "property-extension", "recipients": ["x"]})
    assert not validator.is_valid(
        {"extension_type": "property-extension", "recipients": [MEMBER, MEMBER]}
    )


# --- extension definitions and official content (docs/signing.md section 12) -----------------

DEFINITION = samples.extension_definition(MEMBER)


def sign_note(
    definition: dict[str, Any], key: Ed25519PrivateKey = MEMBER_KEY, signee: str = MEMBER
) -> dict[str, Any]:
    note = jss.definition_attestation(definition)
    return jss.sign_object(note, key, signee=signee, created=EXAMPLE_CREATED)


def test_stable_uuid4_is_a_version_4_uuid_fixed_by_its_seed() -> None:
    first = jss.stable_uuid4("seed")
    assert (first.version, first.variant) == (4, "specified in RFC 4122")
    assert jss.stable_uuid4("seed") == first != jss.stable_uuid4("other seed")


def test_a_signature_note_is_valid_stix_that_names_the_definition() -> None:
    note = jss.definition_attestation(DEFINITION)
    stix2.parse(note, allow_custom=False)
    stix2.parse(DEFINITION, allow_custom=False)
    assert note["object_refs"] == [DEFINITION["id"]]
    (related,) = note["extensions"][SIGNING_EXTENSION_ID]["related_objects"]
    digest = hashlib.sha256(rfc8785.dumps(DEFINITION)).digest()
    assert related == {
        "related_to": DEFINITION["id"],
        "related_version": DEFINITION["modified"],
        "hash_algorithm": "sha-256",
        "hash": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
    }
    seed = f"signature-note|{MEMBER}|{DEFINITION['id']}|{DEFINITION['modified']}"
    assert note["id"] == f"note--{jss.stable_uuid4(seed)}"


def test_it_verifies_a_definition_through_its_signed_note() -> None:
    note = sign_note(DEFINITION)
    verifier = jss.Verifier(member_jwks())
    reports = verifier.verify_all([DEFINITION, note], now=NOW)
    assert [r.status for r in reports] == ["valid", "valid"]
    assert reports[0].signees == (MEMBER,)
    # Alone, a definition is unsigned: its signature is elsewhere.
    assert verifier.verify_all([DEFINITION], now=NOW)[0].status == "unsigned"


def test_a_changed_definition_no_longer_matches_its_note() -> None:
    note = sign_note(DEFINITION)
    changed = {**DEFINITION, "schema": "https://elsewhere.example/schema.json"}
    (report, _) = jss.Verifier(member_jwks()).verify_all([changed, note], now=NOW)
    assert report.status == "invalid"
    assert "the object was changed after signing" in report.reason


def test_a_note_by_someone_else_or_with_a_bad_signature_vouches_for_nothing() -> None:
    keys = jss.Verifier(member_jwks())
    foreign = sign_note({**DEFINITION, "created_by_ref": OTHER_MEMBER}, OTHER_KEY, OTHER_MEMBER)
    assert keys.verify_all([DEFINITION, foreign], now=NOW)[0].status == "unsigned"
    note = sign_note(DEFINITION)
    note["content"] = "changed"
    assert [r.status for r in keys.verify_all([DEFINITION, note], now=NOW)] == [
        "unsigned",
        "invalid",
    ]


def test_official_oasis_objects_are_checked_by_value() -> None:
    official = jss.official_objects()
    assert set(official) == {
        "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d",
        *TLP2_LEVELS,
    }
    verifier = jss.Verifier(member_jwks())
    for obj in official.values():
        stix2.parse(obj, allow_custom=False)
        assert verifier.verify(json.loads(json.dumps(obj))).status == "official"
    changed = {**official[TLP2_AMBER], "name": "TLP:GREEN"}
    assert verifier.verify(changed).status == "invalid"


# The canonical form is computed by orjson when the value allows it, else by rfc8785: both
# must give the same bytes, or the same refusal, for any JSON.
_JSON_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(),  # every code point, lone surrogates included
        st.sampled_from(["\ue000", "\uffff", "\U00010000", "\U0001f600", "\x00", "\x7f"]),
    ),
    max_size=6,
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.sampled_from([2**53 - 1, -(2**53 - 1), 2**53, 0])
    | st.floats(allow_nan=True, allow_infinity=True)
    | _JSON_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_JSON_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


def _canonical_or_refusal(canonicalize: Callable[[Any], bytes], value: Any) -> Any:
    try:
        return canonicalize(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, UnicodeError):
        return "refused"


@settings(max_examples=1500, deadline=None)
@given(st.dictionaries(_JSON_TEXT, _JSON, max_size=6))
def test_its_canonical_form_is_rfc8785s_for_any_json(value: dict[str, Any]) -> None:
    assert _canonical_or_refusal(jss.canonical_bytes, value) == _canonical_or_refusal(
        rfc8785.dumps, value
    )


def test_its_canonical_form_orders_names_by_utf16_code_units() -> None:
    # U+1F600 sorts before U+FB01 in UTF-16 (0xD83D < 0xFB01) but after it by code point.
    value = {"\ufb01": 2, "\U0001f600": 1, "a": [1.0, 1e21, 2**53 - 1]}
    canonical = jss.canonical_bytes(value)
    assert canonical == rfc8785.dumps(value)
    assert canonical.index("\U0001f600".encode()) < canonical.index("\ufb01".encode())
