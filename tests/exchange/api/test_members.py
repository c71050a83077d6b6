"""The members REST API: each identity's JWK Set, and a lab registering its own key."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from members.models import AuditEvent, Member, SigningKey
from signatures.models import Collection
from signatures.sdk import jss
from signatures.services import collection_create, signing_key_revoke, signing_key_rotate

REGISTER = "/api/v1/members/me/keys/"


def jwks_url(identity_id: str) -> str:
    return f"/api/v1/members/{identity_id}/jwks.json"


def test_it_registers_a_key_through_the_api_with_the_publish_scope(
    lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    private_key = Ed25519PrivateKey.generate()
    jwk = jss.public_jwk(private_key.public_key())
    read_only = client_for(lab_a, "read").post(REGISTER, data=jwk, format="json")
    assert read_only.status_code == 403
    assert not SigningKey.objects.filter(kid=jwk["kid"]).exists()
    response = client_for(lab_a, "publish").post(REGISTER, data=jwk, format="json")
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["kid"] == jwk["kid"]
    assert response.json()["signee"] == lab_a.identity_id
    event = AuditEvent.objects.get(action="signing-key-register", target=jwk["kid"])
    assert event.actor_member == lab_a
    again = client_for(lab_a, "publish").post(REGISTER, data=jwk, format="json")
    assert again.status_code == 400
    assert "registered already" in again.json()["description"]


@pytest.mark.parametrize("body", [[1, 2], "a JWK", 5])
def test_it_refuses_a_body_that_is_not_a_jwk_object(
    lab_a: Member, client_for: Callable[..., APIClient], body: object
) -> None:
    keys = SigningKey.objects.filter(member=lab_a).count()
    response = client_for(lab_a, "publish").post(REGISTER, data=body, format="json")
    assert response.status_code == 400
    assert response.json()["description"] == "The body must be a JWK (a JSON object)."
    assert SigningKey.objects.filter(member=lab_a).count() == keys


@pytest.mark.parametrize("reader", ["lab_b", "partner", "forum"])
def test_it_serves_each_members_key_set_to_every_reader(
    reader: str,
    request: pytest.FixtureRequest,
    lab_a: Member,
    client_for: Callable[..., APIClient],
) -> None:
    client = client_for(request.getfixturevalue(reader), "read")
    response = client.get(jwks_url(lab_a.identity_id))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    (jwk,) = response.json()["keys"]
    assert jwk["kid"] == SigningKey.objects.get(member=lab_a).kid
    assert jwk["signee"] == lab_a.identity_id and "d" not in jwk


def test_it_answers_404_for_an_unknown_identity_and_401_without_a_token(
    lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    unknown = jwks_url("identity--00000000-0000-4000-8000-000000000000")
    assert client_for(lab_a, "read").get(unknown).status_code == 404
    assert APIClient().get(jwks_url(lab_a.identity_id)).status_code == 401


def test_it_tells_a_token_whose_it_is(lab_a: Member, client_for: Callable[..., APIClient]) -> None:
    response = client_for(lab_a, "read").get("/api/v1/members/me/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    feed = Collection.objects.default()
    assert body == {
        "name": "lab-a",
        "display_name": lab_a.display_name,
        "kind": "lab",
        "identity_id": lab_a.identity_id,
        "scopes": ["read"],
        "collections": [
            {
                "id": str(feed.id),
                "title": feed.title,
                "alias": feed.alias,
                "api_root": "feed",
                "taxii_url": f"http://testserver/feed/collections/{feed.id}/",
                "default": True,
                "can_read": True,
                "can_write": True,
            }
        ],
    }
    assert APIClient().get("/api/v1/members/me/").status_code == 401


def test_it_lists_only_the_collections_the_member_may_see_with_its_rights(
    lab_a: Member, lab_b: Member, partner: Member, client_for: Callable[..., APIClient]
) -> None:
    private = collection_create(title="A and B", readers=[lab_a, lab_b], writers=[lab_a])
    collection_create(title="B only", readers=[lab_b], writers=[lab_b])
    seen = client_for(lab_b, "read", "publish").get("/api/v1/members/me/").json()
    assert seen["scopes"] == ["publish", "read"]
    rights = {c["title"]: (c["can_read"], c["can_write"]) for c in seen["collections"]}
    assert rights == {
        "A and B": (True, False),
        "B only": (True, True),
        Collection.objects.default().title: (True, True),
    }
    partner_view = client_for(partner, "read").get("/api/v1/members/me/").json()
    assert [c["id"] for c in partner_view["collections"]] == [str(Collection.objects.default().id)]
    assert str(private.id) not in str(partner_view)


def test_it_serves_every_members_keys_in_one_set(
    lab_a: Member, lab_b: Member, partner: Member, client_for: Callable[..., APIClient]
) -> None:
    retired = SigningKey.objects.get(member=lab_a)
    signing_key_rotate(member=lab_a)
    revoked = SigningKey.objects.get(member=lab_b)
    signing_key_revoke(key=revoked, reason="key compromise")
    response = client_for(partner, "read").get("/api/v1/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    keys = {jwk["kid"]: jwk for jwk in response.json()["keys"]}
    assert set(keys) == set(SigningKey.objects.values_list("kid", flat=True))
    assert {jwk["signee"] for jwk in keys.values()} == set(
        SigningKey.objects.values_list("member__identity_id", flat=True)
    )
    assert "valid_until" in keys[retired.kid] and "revoked" not in keys[retired.kid]
    assert keys[revoked.kid]["revocation_reason"] == "key compromise"
    assert all("d" not in jwk and "valid_from" in jwk for jwk in keys.values())
    assert APIClient().get("/api/v1/jwks.json").status_code == 401
