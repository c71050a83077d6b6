"""Integrity probes over HTTP against the live server (issue-style attacks with a lab token).

Custom objects follow the rules of standard ones (only the creator versions or revokes them),
member identities and their key lists come only from the exchange, and only the official OASIS
ids are TLP (docs/api.md, docs/signing.md, docs/sharing-policy.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from members.models import Member
from members.selectors import member_jwks
from signatures.models import StixObject
from signatures.sdk import jss
from signatures.sdk.constants import SIGNING_EXTENSION_ID, TLP2_EXTENSION_ID, TLP2_RED
from tests.factories import token_for

CUSTOM_DEFINITION = "extension-definition--7d1e0f9a-5c2b-4e8d-9f3a-1b2c3d4e5f60"
CUSTOM_OBJECT = "campaign-note--0b6a2f8e-4d1c-4e7b-8a9d-2c3e4f5a6b70"
CREATED = "2026-11-20T09:30:00.000Z"
LATER = "2026-12-01T00:00:00.000Z"


@pytest.fixture
def post(live_server: Any) -> Iterator[Any]:
    sessions: list[requests.Session] = []

    def send(member: Member, *objects: dict[str, Any]) -> list[dict[str, Any]]:
        session = requests.Session()
        sessions.append(session)
        response = session.post(
            f"{live_server.url}/api/v1/objects/",
            json=list(objects),
            headers={"Authorization": f"Bearer {token_for(member)}"},
            timeout=30,
        )
        assert response.status_code in {200, 207, 422}, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    yield send
    for session in sessions:
        session.close()


def definition(creator: str) -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": CUSTOM_DEFINITION,
        "created_by_ref": creator,
        "created": CREATED,
        "modified": CREATED,
        "name": "Campaign note",
        "schema": "https://example.org/campaign-note.json",
        "version": "1.0.0",
        "extension_types": ["new-sdo"],
    }


def custom(creator: str | None, **changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "campaign-note",
        "spec_version": "2.1",
        "id": CUSTOM_OBJECT,
        "created": CREATED,
        "modified": CREATED,
        "name": "Farm rotation seen on 2026-11-19",
        "extensions": {CUSTOM_DEFINITION: {"extension_type": "new-sdo"}},
    }
    if creator is not None:
        obj["created_by_ref"] = creator
    obj.update(changes)
    return obj


def test_it_requires_a_creator_on_custom_sdos(post: Any, lab_a: Member) -> None:
    post(lab_a, definition(lab_a.identity_id))

    (result,) = post(lab_a, custom(None))

    assert result["status"] == "refused" and "created_by_ref" in result["reason"]


def test_it_lets_only_the_creator_version_or_revoke_a_custom_sdo(
    post: Any, lab_a: Member, lab_b: Member
) -> None:
    post(lab_a, definition(lab_a.identity_id))
    assert post(lab_a, custom(lab_a.identity_id))[0]["status"] == "accepted"

    for change in ({"name": "HIJACKED"}, {"revoked": True}):
        (result,) = post(lab_b, custom(lab_b.identity_id, modified=LATER, **change))
        assert result["status"] == "refused", change

    latest = StixObject.objects.filter(stix_id=CUSTOM_OBJECT).order_by("-version").first()
    assert latest is not None and latest.publisher == lab_a and not latest.revoked
    assert post(lab_a, custom(lab_a.identity_id, modified=LATER, revoked=True))[0]["status"] == (
        "accepted"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"name": {"text": "x"}},
        {"object_marking_refs": "not-a-list"},
        {"external_references": 5},
        {"labels": "x"},
    ],
)
def test_it_types_the_common_properties_of_custom_objects(
    post: Any, lab_a: Member, change: dict[str, Any]
) -> None:
    post(lab_a, definition(lab_a.identity_id))

    (result,) = post(lab_a, custom(lab_a.identity_id, **change))

    assert result["status"] == "refused"
    assert next(iter(change)) in result["reason"]


def test_it_refuses_a_member_identity_from_a_member(
    post: Any, lab_a: Member, lab_b: Member
) -> None:
    served = StixObject.objects.filter(stix_id=lab_a.identity_id).order_by("-version").first()
    assert served is not None
    own = {k: v for k, v in served.data.items() if k != "extensions"}
    forged_key = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    }
    rewrite = {
        **own,
        "modified": LATER,
        "extensions": {
            SIGNING_EXTENSION_ID: {"extension_type": "property-extension", "keys": [forged_key]}
        },
    }
    before = StixObject.objects.filter(stix_id=lab_a.identity_id).count()

    (mine,) = post(lab_a, rewrite)
    (theirs,) = post(lab_b, {**rewrite, "created_by_ref": lab_b.identity_id})

    assert mine["status"] == theirs["status"] == "refused"
    assert StixObject.objects.filter(stix_id=lab_a.identity_id).count() == before


def test_it_refuses_a_marking_that_imitates_tlp(post: Any, lab_a: Member) -> None:
    fake_clear = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--5a1c2e7f-0d3b-4c8a-9e6f-7b8a9c0d1e2f",
        "created": CREATED,
        "created_by_ref": lab_a.identity_id,
        "name": "TLP:CLEAR",
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "clear"}
        },
    }

    (result,) = post(lab_a, fake_clear)

    assert result["status"] == "refused"


def test_it_refuses_an_official_tlp_id_with_other_content(post: Any, lab_a: Member) -> None:
    official = StixObject.objects.get(stix_id=TLP2_RED)
    relabelled = {**official.data, "name": "TLP:CLEAR"}
    relabelled["extensions"] = {
        TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "clear"}
    }

    (result,) = post(lab_a, relabelled)

    assert result["status"] == "refused"
    assert StixObject.objects.get(stix_id=TLP2_RED).data["name"] == "TLP:RED"


def statement(creator: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--2f3e4d5c-6b7a-4c8d-9e0f-1a2b3c4d5e6f",
        "created": CREATED,
        "created_by_ref": creator,
        "definition_type": "statement",
        "definition": {"statement": "Copyright 2026, Example Research Consortium"},
    }


def test_it_accepts_a_statement_credited_to_an_outside_organisation(
    post: Any, lab_a: Member
) -> None:
    outside = "identity--9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

    (result,) = post(lab_a, statement(outside))

    assert result["status"] == "accepted", result
    stored = StixObject.objects.get(stix_id=statement(outside)["id"])
    report = jss.verify_object(stored.data, member_jwks(lab_a))
    assert report.status == "valid" and report.signees == (lab_a.identity_id,)


def test_it_refuses_a_statement_credited_to_another_member(
    post: Any, lab_a: Member, lab_b: Member
) -> None:
    (result,) = post(lab_a, statement(lab_b.identity_id))

    assert result["status"] == "refused" and "another member" in result["reason"]
