"""The transport signature: X-ISAC-JWS-Signature on successful JSON responses (signing.md s. 6)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from members.models import Member, SigningKey
from signatures.sdk import jss
from signatures.selectors import collection_default
from signatures.services import signing_key_revoke, signing_key_rotate
from tests.signatures import docs_verifier

HEADER = "X-ISAC-JWS-Signature"
TAXII = "application/taxii+json;version=2.1"


@pytest.fixture
def reader(partner: Member, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(partner)


def forum_jwks(client: APIClient, forum: Member) -> dict:  # type: ignore[type-arg]
    return client.get(f"/api/v1/members/{forum.identity_id}/jwks.json").json()


def test_it_signs_rest_and_taxii_bodies_with_the_forum_key(
    reader: APIClient, forum: Member
) -> None:
    feed = collection_default()
    responses = [
        reader.get("/api/v1/objects/"),
        reader.get(f"/{feed.api_root}/collections/{feed.id}/objects/", HTTP_ACCEPT=TAXII),
        reader.get("/taxii2/", HTTP_ACCEPT=TAXII),
    ]
    keys = forum_jwks(reader, forum)
    active = SigningKey.objects.get(member=forum, state="active").kid
    for response in responses:
        assert response.status_code == 200
        assert docs_verifier.verify_detached_jws(response.content, response[HEADER], keys) == active
        assert jss.jws_detached_verify(response.content, response[HEADER], keys) == active
    with pytest.raises(Exception, match="payload was changed"):
        jss.jws_detached_verify(responses[0].content + b" ", responses[0][HEADER], keys)


def test_it_signs_no_error_response(reader: APIClient, forum: Member) -> None:
    response = reader.get("/api/v1/objects/indicator--00000000-0000-4000-8000-000000000000/")
    assert response.status_code == 404
    assert HEADER not in response


def test_it_follows_a_rotation_and_a_revocation_of_the_forum_key(
    reader: APIClient, forum: Member
) -> None:
    reader.get("/api/v1/objects/")  # the old key is now cached in this process
    new = signing_key_rotate(member=forum)
    response = reader.get("/api/v1/objects/")
    assert jss.jws_detached_verify(response.content, response[HEADER], forum_jwks(reader, forum))
    assert (
        docs_verifier.verify_detached_jws(
            response.content, response[HEADER], forum_jwks(reader, forum)
        )
        == new.kid
    )
    signing_key_revoke(key=new, reason="test")
    assert HEADER not in reader.get("/api/v1/objects/")  # no active key: no signature at all
