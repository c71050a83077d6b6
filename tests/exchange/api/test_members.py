"""The members REST API: each identity's JWK Set, and a lab registering its own key."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from members.models import AuditEvent, Member, SigningKey
from signatures.sdk import jss

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
    assert response.json() == {
        "name": "lab-a",
        "display_name": lab_a.display_name,
        "kind": "lab",
        "identity_id": lab_a.identity_id,
    }
    assert APIClient().get("/api/v1/members/me/").status_code == 401
