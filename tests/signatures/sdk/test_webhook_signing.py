"""Webhook signatures (signatures.sdk.webhook_signing): what a receiver checks first."""

from __future__ import annotations

import pytest

from signatures.sdk.webhook_signing import (
    SignatureInvalid,
    signature_header,
    signature_verify,
)

SECRET = "whsec_test-secret"
BODY = b'{"type":"bundle","id":"bundle--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01","objects":[]}'
NOW = 1_795_000_000


def test_it_accepts_a_fresh_signature_over_the_exact_body() -> None:
    header = signature_header(SECRET, BODY, timestamp=NOW)
    assert signature_verify(SECRET, header, BODY, now=NOW + 10) == NOW


def test_it_refuses_a_tampered_body() -> None:
    header = signature_header(SECRET, BODY, timestamp=NOW)
    with pytest.raises(SignatureInvalid, match="does not match"):
        signature_verify(SECRET, header, BODY.replace(b"[]", b"[ ]"), now=NOW)


def test_it_refuses_an_expired_timestamp() -> None:
    header = signature_header(SECRET, BODY, timestamp=NOW)
    with pytest.raises(SignatureInvalid, match="tolerance"):
        signature_verify(SECRET, header, BODY, now=NOW + 301)
    assert signature_verify(SECRET, header, BODY, now=NOW + 301, tolerance=600) == NOW


def test_it_refuses_a_timestamp_moved_by_an_attacker() -> None:
    digest = signature_header(SECRET, BODY, timestamp=NOW).split("v1=")[1]
    with pytest.raises(SignatureInvalid, match="does not match"):
        signature_verify(SECRET, f"t={NOW + 200},v1={digest}", BODY, now=NOW + 200)


def test_it_refuses_another_secret_and_malformed_headers() -> None:
    header = signature_header("whsec_other", BODY, timestamp=NOW)
    with pytest.raises(SignatureInvalid):
        signature_verify(SECRET, header, BODY, now=NOW)
    for broken in ("", "v1=abc", f"t={NOW}", "t=soon,v1=abc", "t=\u00b2,v1=abc", "t=\u0663,v1=a"):
        with pytest.raises(SignatureInvalid, match="Malformed"):
            signature_verify(SECRET, broken, BODY, now=NOW)


def test_it_accepts_any_matching_value_during_a_secret_rotation() -> None:
    old = signature_header("whsec_old", BODY, timestamp=NOW).split("v1=")[1]
    new = signature_header(SECRET, BODY, timestamp=NOW).split("v1=")[1]
    assert signature_verify(SECRET, f"t={NOW},v1={old},v1={new}", BODY, now=NOW) == NOW
