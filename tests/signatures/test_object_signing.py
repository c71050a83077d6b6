"""Signatures in the publish path (docs/signing.md section 11): verify, sign or refuse."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from importlib import resources
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from members.models import KeyState, Member, SigningKey
from members.services import custodial_signing_set
from signatures.models import StixObject
from signatures.object_signing import PublishSigning, SignatureChecker
from signatures.sdk import jss
from signatures.sdk.constants import SIGNING_EXTENSION_ID, TLP2_GREEN
from signatures.services import signing_key_register, signing_key_revoke, signing_key_rotate
from signatures.validation import PublishContext, object_prepare
from tests import stix_samples as samples
from tests.signatures import docs_verifier

URL = "/api/v1/objects/"


def indicator(creator: str, **overrides: Any) -> dict[str, Any]:
    """A fresh indicator (new id) so one test can publish several."""
    return samples.ip_range_indicator(creator, id=f"indicator--{uuid.uuid4()}", **overrides)


def publish(client: APIClient, *objects: dict[str, Any], query: str = "") -> dict[str, Any]:
    body = json.dumps(samples.bundle(*objects))
    response = client.post(f"{URL}{query}", data=body, content_type="application/json")
    assert response.status_code in {200, 207, 422}, response.content
    return response.json()


def served(client: APIClient, stix_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{URL}{stix_id}/")
    assert response.status_code == 200, response.content
    return json.loads(response.content)["versions"]


def jwks(client: APIClient, member: Member) -> dict[str, Any]:
    response = client.get(f"/api/v1/members/{member.identity_id}/jwks.json")
    assert response.status_code == 200
    return json.loads(response.content)


def signatures_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["extensions"][SIGNING_EXTENSION_ID]["signatures"]


@pytest.fixture
def lab_client(lab_a: Member, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(lab_a)


@pytest.fixture
def lab_key(lab_a: Member) -> tuple[Ed25519PrivateKey, SigningKey]:
    """A key lab A generated itself and registered (client-side signing)."""
    private_key = Ed25519PrivateKey.generate()
    key = signing_key_register(member=lab_a, jwk=jss.public_jwk(private_key.public_key()))
    return private_key, key


def test_it_signs_an_unsigned_object_with_the_labs_custodial_key(
    lab_client: APIClient, lab_a: Member
) -> None:
    sent = indicator(lab_a.identity_id)
    assert publish(lab_client, sent)["accepted"] == 1
    (obj,) = served(lab_client, sent["id"])
    custodial = SigningKey.objects.get(member=lab_a, custodial=True, state=KeyState.ACTIVE)
    (entry,) = signatures_of(obj)
    assert entry["thumbprint"] == custodial.kid
    assert docs_verifier.verify(obj, jwks(lab_client, lab_a)) == ("valid", [lab_a.identity_id])


def test_it_stores_a_client_signed_object_exactly_as_signed(
    lab_client: APIClient, lab_a: Member, lab_key: tuple[Ed25519PrivateKey, SigningKey]
) -> None:
    signed = jss.sign_object(indicator(lab_a.identity_id), lab_key[0], signee=lab_a.identity_id)
    assert publish(lab_client, signed)["accepted"] == 1
    assert json.loads(StixObject.objects.get(stix_id=signed["id"]).raw) == signed
    (obj,) = served(lab_client, signed["id"])
    assert obj == signed  # verified, never re-signed
    assert signatures_of(obj)[0]["thumbprint"] == lab_key[1].kid


def test_it_refuses_a_signature_by_a_key_the_lab_never_registered(
    lab_client: APIClient, lab_a: Member
) -> None:
    stranger = Ed25519PrivateKey.generate()
    signed = jss.sign_object(indicator(lab_a.identity_id), stranger, signee=lab_a.identity_id)
    result = publish(lab_client, signed)["results"][0]
    assert result["status"] == "refused"
    assert "signature refused" in result["reason"] and "unknown key" in result["reason"]
    assert not StixObject.objects.filter(stix_id=signed["id"]).exists()


def test_it_refuses_a_signature_made_with_another_members_key(
    lab_client: APIClient, lab_a: Member, lab_b: Member
) -> None:
    other = Ed25519PrivateKey.generate()
    signing_key_register(member=lab_b, jwk=jss.public_jwk(other.public_key()))
    signed = jss.sign_object(indicator(lab_a.identity_id), other, signee=lab_a.identity_id)
    result = publish(lab_client, signed)["results"][0]
    assert result["status"] == "refused"
    assert "unknown key" in result["reason"]  # lab B's keys are not lab A's


def test_it_refuses_a_tampered_object(
    lab_client: APIClient, lab_a: Member, lab_key: tuple[Ed25519PrivateKey, SigningKey]
) -> None:
    signed = jss.sign_object(indicator(lab_a.identity_id), lab_key[0], signee=lab_a.identity_id)
    signed["pattern"] = "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"
    result = publish(lab_client, signed)["results"][0]
    assert result["status"] == "refused"
    assert "the object was changed after signing" in result["reason"]


def test_it_refuses_unsigned_objects_once_custodial_signing_is_off(
    lab_client: APIClient, lab_a: Member, lab_key: tuple[Ed25519PrivateKey, SigningKey]
) -> None:
    custodial_signing_set(member=lab_a, enabled=False)
    unsigned = indicator(lab_a.identity_id)
    signed = jss.sign_object(indicator(lab_a.identity_id), lab_key[0], signee=lab_a.identity_id)
    body = publish(lab_client, unsigned, signed)
    assert [r["status"] for r in body["results"]] == ["refused", "accepted"]
    assert "unsigned" in body["results"][0]["reason"]
    assert "custodial signing off" in body["results"][0]["reason"]


def test_it_keeps_old_signatures_valid_after_a_rotation(
    lab_client: APIClient, lab_a: Member
) -> None:
    before = indicator(lab_a.identity_id)
    publish(lab_client, before)
    old = SigningKey.objects.get(member=lab_a, custodial=True)
    new = signing_key_rotate(member=lab_a)
    after = indicator(lab_a.identity_id)
    publish(lab_client, after)

    keys = jwks(lab_client, lab_a)
    (old_jwk,) = [k for k in keys["keys"] if k["kid"] == old.kid]
    assert "valid_until" in old_jwk
    old.refresh_from_db()
    assert old.state == KeyState.RETIRED and old.encrypted_private_key is None
    (first,) = served(lab_client, before["id"])
    (second,) = served(lab_client, after["id"])
    assert signatures_of(first)[0]["thumbprint"] == old.kid
    assert signatures_of(second)[0]["thumbprint"] == new.kid
    assert docs_verifier.verify(first, keys)[0] == "valid"
    assert docs_verifier.verify(second, keys)[0] == "valid"


def test_it_refuses_signatures_made_after_the_keys_revocation(
    lab_client: APIClient, lab_a: Member, lab_key: tuple[Ed25519PrivateKey, SigningKey]
) -> None:
    private_key, key = lab_key
    start = key.valid_from
    earlier = jss.sign_object(
        indicator(lab_a.identity_id),
        private_key,
        signee=lab_a.identity_id,
        created=jss.format_timestamp(start + timedelta(milliseconds=1)),
    )
    assert publish(lab_client, earlier)["accepted"] == 1
    signing_key_revoke(key=key, reason="key compromise", at=start + timedelta(milliseconds=2))
    later = jss.sign_object(
        indicator(lab_a.identity_id),
        private_key,
        signee=lab_a.identity_id,
        created=jss.format_timestamp(start + timedelta(milliseconds=3)),
    )
    result = publish(lab_client, later)["results"][0]
    assert result["status"] == "refused"
    assert "revoked" in result["reason"] and "key compromise" in result["reason"]

    keys = jwks(lab_client, lab_a)
    (revoked,) = [k for k in keys["keys"] if k["kid"] == key.kid]
    assert revoked["revocation_reason"] == "key compromise"
    (stored,) = served(lab_client, earlier["id"])
    assert docs_verifier.verify(stored, keys)[0] == "valid"
    assert docs_verifier.verify(later, keys)[0] == "invalid"


def test_it_signs_the_forums_own_objects_with_the_forum_key(
    lab_client: APIClient, forum: Member
) -> None:
    obj = served(lab_client, forum.identity_id)[-1]
    assert docs_verifier.verify(obj, jwks(lab_client, forum)) == ("valid", [forum.identity_id])


def test_it_serves_the_tlp_markings_exactly_as_oasis_publishes_them(
    lab_client: APIClient,
) -> None:
    (obj,) = served(lab_client, TLP2_GREEN)
    assert obj == jss.official_objects()[TLP2_GREEN]
    # Nobody signs them: a verifier checks them by value, with no key at all.
    assert jss.Verifier({"keys": []}).verify(obj).status == "official"


def test_it_publishes_the_key_set_in_a_new_identity_version_when_keys_change(
    lab_client: APIClient, lab_a: Member, forum: Member
) -> None:
    versions_before = len(served(lab_client, lab_a.identity_id))
    signing_key_rotate(member=lab_a)
    versions = served(lab_client, lab_a.identity_id)
    assert len(versions) == versions_before + 1
    identity = versions[-1]
    assert identity["extensions"][SIGNING_EXTENSION_ID]["keys"] == jwks(lab_client, lab_a)["keys"]
    # The Forum vouches for the key list it publishes.
    assert docs_verifier.verify(identity, jwks(lab_client, forum)) == (
        "valid",
        [forum.identity_id],
    )


def test_it_publishes_identity_keys_that_match_the_extensions_schema(
    lab_client: APIClient, lab_a: Member
) -> None:
    schema = json.loads(
        resources.files("signatures").joinpath("profile/schemas/signatures.json").read_text()
    )
    identity = served(lab_client, lab_a.identity_id)[-1]
    body = identity["extensions"][SIGNING_EXTENSION_ID]
    jsonschema.validate(body, schema)
    leaked = {**body, "keys": [{**body["keys"][0], "d": "A" * 43}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(leaked, schema)


def definition(creator: str, **overrides: Any) -> dict[str, Any]:
    """A definition with a fresh id, so that each test stores its own."""
    return samples.extension_definition(
        creator, id=f"extension-definition--{uuid.uuid4()}", **overrides
    )


def test_it_refuses_an_extension_definition_that_carries_extensions(
    lab_client: APIClient, lab_a: Member
) -> None:
    sent = jss.sign_object(
        definition(lab_a.identity_id), Ed25519PrivateKey.generate(), signee=lab_a.identity_id
    )
    (result,) = publish(lab_client, sent)["results"]
    assert result["status"] == "refused"
    assert result["reason"] == (
        f"{sent['id']}: property 'extensions' is not allowed on an extension-definition "
        "(STIX 2.1 section 7.3); its signature travels in a signature note instead "
        "(docs/signing.md section 12)"
    )
    assert not StixObject.objects.filter(stix_id=sent["id"]).exists()


def test_it_signs_an_extension_definition_through_its_signature_note(
    lab_client: APIClient, lab_a: Member
) -> None:
    sent = definition(lab_a.identity_id)
    note = jss.definition_attestation(sent)
    assert publish(lab_client, note, sent)["accepted"] == 2
    (stored,) = served(lab_client, sent["id"])
    assert stored == sent  # valid STIX: nothing added to the definition itself
    (stored_note,) = served(lab_client, note["id"])
    reports = jss.Verifier(jwks(lab_client, lab_a)).verify_all([stored_note, stored])
    assert [r.status for r in reports] == ["valid", "valid"]
    assert reports[1].signees == (lab_a.identity_id,)


def test_it_refuses_a_definition_its_note_does_not_match(
    lab_client: APIClient, lab_a: Member
) -> None:
    sent = definition(lab_a.identity_id)
    note = jss.definition_attestation(sent)
    changed = {**sent, "schema": "https://elsewhere.example/schema.json"}
    results = publish(lab_client, note, changed)["results"]
    assert [r["status"] for r in results] == ["accepted", "refused"]
    assert "the object was changed after signing" in results[1]["reason"]
    assert not StixObject.objects.filter(stix_id=sent["id"]).exists()


def test_it_needs_the_labs_own_signature_note_once_custodial_signing_is_off(
    lab_client: APIClient, lab_a: Member, lab_key: tuple[Ed25519PrivateKey, SigningKey]
) -> None:
    custodial_signing_set(member=lab_a, enabled=False)
    sent = definition(lab_a.identity_id)
    (result,) = publish(lab_client, sent)["results"]
    assert result["status"] == "refused"
    assert "send its signature note" in result["reason"]
    note = jss.sign_object(jss.definition_attestation(sent), lab_key[0], signee=lab_a.identity_id)
    assert publish(lab_client, note, sent)["accepted"] == 2
    # Published again later, the definition is verified through the stored note.
    assert publish(lab_client, sent)["present"] == 1


def test_it_makes_the_signature_note_of_an_unattested_definition(
    lab_a: Member, forum: Member
) -> None:
    sent = definition(lab_a.identity_id)
    signing = PublishSigning(member=lab_a, forum=forum, via_forum=False, forum_signs=False)
    item = object_prepare(
        sent,
        context=PublishContext(publisher_identity=lab_a.identity_id, extension_definitions={}),
        max_depth=20,
    )
    signing.apply(item)
    assert item.data == sent
    (note,) = signing.companions
    custodial = SigningKey.objects.get(member=lab_a, custodial=True, state=KeyState.ACTIVE)
    verifier = jss.Verifier({"keys": [custodial.published_jwk()]})
    assert [r.status for r in verifier.verify_all([note, sent])] == ["valid", "valid"]


# --- SignatureChecker: the states the console shows ------------------------------------------


def test_it_shows_a_definition_changed_after_its_note_as_invalid(forum: Member) -> None:
    definition = StixObject.objects.filter(
        type="extension-definition", created_by_ref=forum.identity_id
    ).first()
    assert definition is not None
    definition.raw = definition.raw.replace('"schema":', '"description":"changed","schema":', 1)
    assert '"changed"' in definition.raw
    verification = SignatureChecker().check(definition)
    assert verification.status == "invalid"
    assert "changed after signing" in verification.reason


def test_it_verifies_each_version_once_per_checker(lab_client: APIClient, lab_a: Member) -> None:
    sent = indicator(lab_a.identity_id)
    assert publish(lab_client, sent)["accepted"] == 1
    checker = SignatureChecker()
    obj = StixObject.objects.get(stix_id=sent["id"])
    first = checker.check(obj)
    # The same version is not verified again within the request: its report is kept.
    altered = obj.raw.replace('"confidence":80', '"confidence":5')
    assert altered != obj.raw
    obj.raw = altered
    assert checker.check(obj) is first and first.status == "valid"
    assert checker.verifier is checker.verifier
    assert SignatureChecker().check(obj).status == "invalid"
