"""Anonymised sharing: POST /api/v1/objects/?via=forum re-publishes as the Forum's.

Nobody but the lab itself and Forum analysts may be able to tell which lab is behind such an
object, through any API: REST list and detail, TAXII objects, manifest and versions, JWKS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from members.models import AuditEvent, Member, SigningKey
from signatures.models import AnonymisedPublication, StixObject
from signatures.sdk import jss
from signatures.selectors import collection_default
from signatures.services import signing_key_register
from tests import stix_samples as samples
from tests.signatures import docs_verifier

URL = "/api/v1/objects/"
TAXII = "application/taxii+json;version=2.1"


def indicator(creator: str, **overrides: Any) -> dict[str, Any]:
    return samples.ip_range_indicator(creator, **{"id": f"indicator--{uuid.uuid4()}", **overrides})


def publish(client: APIClient, *objects: dict[str, Any], via_forum: bool = True) -> Any:
    query = "?via=forum" if via_forum else ""
    body = json.dumps(samples.bundle(*objects))
    return client.post(f"{URL}{query}", data=body, content_type="application/json")


def traces_of(member: Member) -> list[str]:
    """Everything that would name the lab: its identity, its account and its key ids."""
    kids = list(SigningKey.objects.filter(member=member).values_list("kid", flat=True))
    return [member.identity_id, member.name, member.display_name, *kids]


@pytest.fixture
def lab_client(lab_a: Member, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(lab_a)


@pytest.fixture
def anonymous(lab_client: APIClient, lab_a: Member) -> dict[str, Any]:
    """An indicator lab A shared through the Forum, as the exchange serves it."""
    sent = indicator(lab_a.identity_id, x_lab_internal_case=None)
    del sent["x_lab_internal_case"]
    response = publish(lab_client, sent)
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    return json.loads(StixObject.objects.get(stix_id=sent["id"]).raw)


def test_it_republishes_the_object_as_the_forums_signed_by_the_forum(
    anonymous: dict[str, Any], forum: Member, lab_client: APIClient
) -> None:
    assert anonymous["created_by_ref"] == forum.identity_id
    keys = json.loads(lab_client.get(f"/api/v1/members/{forum.identity_id}/jwks.json").content)
    assert docs_verifier.verify(anonymous, keys) == ("valid", [forum.identity_id])


def test_it_records_the_real_publisher_for_forum_analysts_only(
    anonymous: dict[str, Any], lab_a: Member
) -> None:
    row = StixObject.objects.get(stix_id=anonymous["id"])
    assert row.publisher == lab_a
    assert AnonymisedPublication.objects.get(stix_object=row).member == lab_a
    event = AuditEvent.objects.get(action="object-publish-anonymised", target=anonymous["id"])
    assert event.actor_member == lab_a


@pytest.mark.parametrize("reader", ["partner", "lab_b"])
def test_it_reveals_the_lab_through_no_api(
    reader: str,
    request: pytest.FixtureRequest,
    anonymous: dict[str, Any],
    lab_a: Member,
    client_for: Callable[..., APIClient],
) -> None:
    member: Member = request.getfixturevalue(reader)
    client = client_for(member)
    feed = collection_default()
    taxii = f"/{feed.api_root}/collections/{feed.id}"
    object_id = anonymous["id"]
    responses = {
        "REST detail": client.get(f"{URL}{object_id}/"),
        "REST list": client.get(URL, {"type": "indicator"}),
        "TAXII object": client.get(f"{taxii}/objects/{object_id}/", HTTP_ACCEPT=TAXII),
        "TAXII objects": client.get(
            f"{taxii}/objects/", {"match[id]": object_id}, HTTP_ACCEPT=TAXII
        ),
        "TAXII versions": client.get(f"{taxii}/objects/{object_id}/versions/", HTTP_ACCEPT=TAXII),
        "TAXII manifest": client.get(
            f"{taxii}/manifest/", {"match[id]": object_id}, HTTP_ACCEPT=TAXII
        ),
    }
    for name, response in responses.items():
        assert response.status_code == 200, (name, response.content)
        text = response.content.decode()
        assert name == "TAXII versions" or object_id in text, name
        for trace in traces_of(lab_a):
            assert trace not in text, (name, trace)
    # Filtering by the lab's identity does not find the object either.
    by_lab = client.get(URL, {"created_by_ref": lab_a.identity_id}).content.decode()
    assert object_id not in by_lab
    # The signature's key is the Forum's, not one in the lab's published key set.
    lab_keys = client.get(f"/api/v1/members/{lab_a.identity_id}/jwks.json").json()["keys"]
    signature = anonymous["extensions"][docs_verifier.SIGNING_EXTENSION]["signatures"][0]
    assert signature["thumbprint"] not in {key["kid"] for key in lab_keys}


def test_it_strips_the_labs_own_signature_after_checking_it(
    lab_client: APIClient, lab_a: Member, forum: Member
) -> None:
    private_key = Ed25519PrivateKey.generate()
    key = signing_key_register(member=lab_a, jwk=jss.public_jwk(private_key.public_key()))
    signed = jss.sign_object(indicator(lab_a.identity_id), private_key, signee=lab_a.identity_id)
    assert publish(lab_client, signed).json()["accepted"] == 1
    raw = StixObject.objects.get(stix_id=signed["id"]).raw
    assert key.kid not in raw and lab_a.identity_id not in raw
    tampered = jss.sign_object(indicator(lab_a.identity_id), private_key, signee=lab_a.identity_id)
    tampered["name"] = "changed"
    result = publish(lab_client, tampered).json()["results"][0]
    assert result["status"] == "refused" and "changed after signing" in result["reason"]


def test_it_refuses_an_object_that_names_the_lab_elsewhere(
    lab_client: APIClient, lab_a: Member
) -> None:
    sighting = samples.sighting(lab_a.identity_id, samples.ip_range_indicator("x")["id"])
    result = publish(lab_client, sighting).json()["results"][0]
    assert result["status"] == "refused"
    assert "would reveal you" in result["reason"]
    assert not StixObject.objects.filter(stix_id=sighting["id"]).exists()


def test_it_lets_only_the_original_lab_publish_new_versions(
    anonymous: dict[str, Any],
    lab_a: Member,
    lab_b: Member,
    lab_client: APIClient,
    client_for: Callable[..., APIClient],
) -> None:
    later = "2026-11-21T10:00:00.000Z"
    other_lab = client_for(lab_b)
    hijack = indicator(lab_b.identity_id, id=anonymous["id"], modified=later)
    for response in [publish(other_lab, hijack), publish(other_lab, hijack, via_forum=False)]:
        result = response.json()["results"][0]
        assert result["status"] == "refused", result
        for trace in traces_of(lab_a):
            assert trace not in result["reason"]
    own = indicator(lab_a.identity_id, id=anonymous["id"], modified=later, revoked=True)
    assert publish(lab_client, own, via_forum=False).json()["results"][0]["status"] == "refused"
    assert publish(lab_client, own).json()["results"][0]["status"] == "accepted"
    newest = json.loads(
        StixObject.objects.filter(stix_id=anonymous["id"]).order_by("-version")[0].raw
    )
    assert newest["revoked"] is True
    assert lab_a.identity_id not in json.dumps(newest)


def test_it_answers_an_unknown_via_with_400(lab_client: APIClient, lab_a: Member) -> None:
    body = json.dumps(samples.bundle(indicator(lab_a.identity_id)))
    response = lab_client.post(f"{URL}?via=moon", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["http_status"] == "400"
