"""End to end over real HTTP: publish unsigned, fetch over REST and TAXII, verify the bytes.

The consumer side uses only ``requests`` and the verifier written from docs/signing.md
(``tests/signatures/docs_verifier.py``), with key sets fetched from the JWKS endpoint.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_django.live_server_helper import LiveServer
from taxii2client.v21 import Collection as TaxiiCollection

from members.models import Member
from signatures.sdk import jss
from signatures.selectors import collection_default
from tests import stix_samples as samples
from tests.factories import token_for
from tests.signatures import docs_verifier

TAXII = "application/taxii+json;version=2.1"
JWS_HEADER = "X-ISAC-JWS-Signature"


class Consumer:
    """A member's HTTP session against the live exchange."""

    def __init__(self, live_server: LiveServer, member: Member) -> None:
        self.base = live_server.url
        self.member = member
        self.token = token_for(member)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.get(f"{self.base}{path}", timeout=30, **kwargs)
        assert response.status_code == 200, response.text
        return response

    def jwks(self, member: Member) -> dict[str, Any]:
        return self.get(f"/api/v1/members/{member.identity_id}/jwks.json").json()

    def transport_signed(self, response: requests.Response, forum: Member) -> Any:
        """Check the Forum's detached JWS over the raw body, then parse the body."""
        kid = docs_verifier.verify_detached_jws(
            response.content, response.headers[JWS_HEADER], self.jwks(forum)
        )
        assert kid in {key["kid"] for key in self.jwks(forum)["keys"]}
        return json.loads(response.content)


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_serves_verifiable_objects_over_rest_and_taxii(
    live_server: LiveServer, lab_a: Member, partner: Member, forum: Member
) -> None:
    lab = Consumer(live_server, lab_a)
    sent = samples.ip_range_indicator(
        lab_a.identity_id,
        id=f"indicator--{uuid.uuid4()}",
        modified="2026-11-20T09:30:00.1234567Z",  # nanoseconds survive signing and serving
    )
    published = lab.session.post(
        f"{lab.base}/api/v1/objects/", json=samples.bundle(sent), timeout=30
    )
    assert published.status_code == 200 and published.json()["accepted"] == 1

    reader = Consumer(live_server, partner)
    lab_keys = reader.jwks(lab_a)
    rest = reader.transport_signed(reader.get(f"/api/v1/objects/{sent['id']}/"), forum)
    (via_rest,) = rest["versions"]

    feed = collection_default()
    taxii_url = f"/{feed.api_root}/collections/{feed.id}/objects/"
    page = reader.get(taxii_url, params={"match[id]": sent["id"]}, headers={"Accept": TAXII})
    (via_taxii,) = reader.transport_signed(page, forum)["objects"]

    for obj in (via_rest, via_taxii):
        assert docs_verifier.verify(obj, lab_keys) == ("valid", [lab_a.identity_id])
        assert obj["modified"] == "2026-11-20T09:30:00.1234567Z"
        assert {k: v for k, v in obj.items() if k != "extensions"} == sent
    assert via_rest == via_taxii

    tampered = {**via_taxii, "confidence": 5}
    assert docs_verifier.verify(tampered, lab_keys)[0] == "invalid"


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_accepts_a_client_signed_object_from_a_plain_taxii_client(
    live_server: LiveServer, lab_a: Member, lab_b: Member, forum: Member
) -> None:
    lab = Consumer(live_server, lab_a)
    private_key = Ed25519PrivateKey.generate()
    registered = lab.session.post(
        f"{lab.base}/api/v1/members/me/keys/",
        json=jss.public_jwk(private_key.public_key()),
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    signed = jss.sign_object(
        samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}"),
        private_key,
        signee=lab_a.identity_id,
    )
    feed = collection_default()
    collection = TaxiiCollection(
        f"{live_server.url}/{feed.api_root}/collections/{feed.id}/",
        user=lab_a.name,
        password=lab.token,
    )
    status = collection.add_objects(json.dumps(samples.bundle(signed)))
    assert status.success_count == 1, status.failures

    other = Consumer(live_server, lab_b)
    page = other.get(
        f"/{feed.api_root}/collections/{feed.id}/objects/{signed['id']}/",
        headers={"Accept": TAXII},
    )
    (served,) = other.transport_signed(page, forum)["objects"]
    assert served == signed
    assert docs_verifier.verify(served, other.jwks(lab_a)) == ("valid", [lab_a.identity_id])
