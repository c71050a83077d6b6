"""members/selectors.py: ``member_jwks``, the key set a member's signatures verify against
(docs/signing.md section 5): every key it ever had, in order, with each key's life."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_django import DjangoAssertNumQueries

from members import keystore
from members.models import KeyState, Member, SigningKey
from members.selectors import member_jwks
from signatures.sdk import jss
from signatures.services.identity import (
    signing_key_register,
    signing_key_revoke,
    signing_key_rotate,
)
from tests import stix_samples as samples


def custodial_private_key(member: Member) -> Ed25519PrivateKey:
    key = SigningKey.objects.get(member=member, custodial=True, state=KeyState.ACTIVE)
    assert key.encrypted_private_key is not None
    return keystore.unseal(key.encrypted_private_key, kid=key.kid)


def signed_by(member: Member, private_key: Ed25519PrivateKey) -> dict[str, Any]:
    return jss.sign_object(
        samples.ip_range_indicator(member.identity_id), private_key, signee=member.identity_id
    )


def test_it_publishes_a_new_labs_custodial_key_with_its_signee(lab_a: Member) -> None:
    key = SigningKey.objects.get(member=lab_a)
    assert member_jwks(lab_a) == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": key.public_jwk["x"],
                "kid": key.kid,
                "use": "sig",
                "alg": "EdDSA",
                "signee": lab_a.identity_id,
                "valid_from": jss.format_timestamp(key.valid_from),
            }
        ]
    }


def test_it_keeps_retired_and_revoked_keys_in_the_order_they_were_made(lab_a: Member) -> None:
    first = SigningKey.objects.get(member=lab_a)
    registered = signing_key_register(
        member=lab_a, jwk=jss.public_jwk(Ed25519PrivateKey.generate().public_key())
    )
    rotated = signing_key_rotate(member=lab_a)
    signing_key_revoke(key=registered, reason="laptop stolen")
    first.refresh_from_db()
    registered.refresh_from_db()
    assert first.valid_until is not None and registered.revoked_at is not None

    keys = member_jwks(lab_a)["keys"]

    assert [jwk["kid"] for jwk in keys] == [first.kid, registered.kid, rotated.kid]
    retired, revoked, active = keys
    assert retired["valid_until"] == jss.format_timestamp(first.valid_until)
    assert "revoked" not in retired
    assert revoked["revoked"] == jss.format_timestamp(registered.revoked_at)
    assert revoked["revocation_reason"] == "laptop stolen"
    assert "valid_until" not in active and "revoked" not in active
    assert {jwk["signee"] for jwk in keys} == {lab_a.identity_id}
    assert all("d" not in jwk for jwk in keys)


def test_it_holds_only_the_members_own_keys(lab_a: Member, lab_b: Member) -> None:
    assert {jwk["kid"] for jwk in member_jwks(lab_a)["keys"]} == set(
        SigningKey.objects.filter(member=lab_a).values_list("kid", flat=True)
    )
    assert not {jwk["kid"] for jwk in member_jwks(lab_a)["keys"]} & {
        jwk["kid"] for jwk in member_jwks(lab_b)["keys"]
    }


def test_it_publishes_an_empty_set_for_a_member_that_never_signs(partner: Member) -> None:
    assert member_jwks(partner) == {"keys": []}


def test_it_reads_the_set_in_one_query(
    lab_a: Member, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    signing_key_rotate(member=lab_a)
    signing_key_rotate(member=lab_a)
    with django_assert_num_queries(1):
        assert len(member_jwks(lab_a)["keys"]) == 3


def test_it_still_verifies_a_signature_made_before_the_key_was_retired(lab_a: Member) -> None:
    before = signed_by(lab_a, custodial_private_key(lab_a))
    signing_key_rotate(member=lab_a)
    report = jss.verify_object(before, member_jwks(lab_a))
    assert report.status == "valid", report.reason
    assert report.signees == (lab_a.identity_id,)


def test_it_lets_a_verifier_refuse_a_signature_made_once_the_key_was_revoked(
    lab_a: Member,
) -> None:
    private_key = custodial_private_key(lab_a)
    signing_key_revoke(key=SigningKey.objects.get(member=lab_a), reason="seed leaked")
    after = signed_by(lab_a, private_key)
    report = jss.verify_object(after, member_jwks(lab_a))
    assert report.status == "invalid"
    assert "revoked" in report.reason
