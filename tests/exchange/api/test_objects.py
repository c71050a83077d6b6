"""exchange/api/objects.py: the REST publish API, POST /api/v1/objects/, the reads that follow
it, and GET /api/v1/objects/<id>/corroboration/."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from exchange.console.selectors import corroboration
from members.models import Member
from signatures.models import CollectionEntry, StixObject
from signatures.object_signing import without_signatures
from signatures.sdk.constants import TLP2_RED
from tests import stix_samples as samples

URL = "/api/v1/objects/"


def publish(client: APIClient, *objects: dict, as_bundle: bool = True):  # type: ignore[no-untyped-def]
    body = samples.bundle(*objects) if as_bundle else list(objects)
    return client.post(URL, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def lab_client(lab_a: Member, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(lab_a)


def test_it_accepts_each_kind_of_object(lab_client: APIClient, lab_a: Member) -> None:
    indicator = samples.ip_range_indicator(lab_a.identity_id)
    pattern = samples.attack_pattern(lab_a.identity_id)
    objects = [
        indicator,
        pattern,
        samples.relationship(lab_a.identity_id, indicator["id"], pattern["id"]),
        samples.sighting(lab_a.identity_id, indicator["id"]),
        samples.ipv4_range(),
    ]
    response = publish(lab_client, *objects)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["accepted"] == 5 and body["refused"] == 0
    assert [r["status"] for r in body["results"]] == ["accepted"] * 5


def test_it_stores_and_serves_the_object_exactly_as_sent(
    lab_client: APIClient, lab_a: Member
) -> None:
    indicator = samples.ip_range_indicator(
        lab_a.identity_id, modified="2026-11-20T09:30:00.1234567Z"
    )
    publish(lab_client, indicator)
    stored = StixObject.objects.get(stix_id=indicator["id"])
    # What is stored is what was sent plus the custodial signature (docs/signing.md s. 11).
    assert without_signatures(json.loads(stored.raw)) == indicator
    assert list(json.loads(stored.raw)) == [*indicator, "extensions"]  # property order kept
    response = lab_client.get(f"{URL}{indicator['id']}/")
    assert response.status_code == 200
    assert response.content.decode().count(stored.raw) == 1  # served byte for byte
    assert [without_signatures(v) for v in response.json()["versions"]] == [indicator]
    assert response.json()["versions"][0]["modified"] == "2026-11-20T09:30:00.1234567Z"


def test_it_accepts_a_plain_list(lab_client: APIClient, lab_a: Member) -> None:
    response = publish(lab_client, samples.ip_range_indicator(lab_a.identity_id), as_bundle=False)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_it_reports_a_republish_as_present(lab_client: APIClient, lab_a: Member) -> None:
    indicator = samples.ip_range_indicator(lab_a.identity_id)
    publish(lab_client, indicator)
    response = publish(lab_client, indicator)
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "present"
    assert StixObject.objects.filter(stix_id=indicator["id"]).count() == 1


def test_it_keeps_every_version_and_serves_the_revocation(
    lab_client: APIClient, lab_a: Member
) -> None:
    v1 = samples.ip_range_indicator(lab_a.identity_id)
    v2 = dict(v1, modified="2026-11-21T10:00:00.000Z", confidence=95)
    v3 = dict(v2, modified="2026-11-22T10:00:00.000Z", revoked=True)
    for version in (v1, v2, v3):
        assert publish(lab_client, version).json()["accepted"] == 1
    versions = lab_client.get(f"{URL}{v1['id']}/").json()["versions"]
    assert [v["modified"] for v in versions] == [v1["modified"], v2["modified"], v3["modified"]]
    assert versions[-1]["revoked"] is True
    latest = CollectionEntry.objects.get(stix_id=v1["id"], is_latest=True)
    first = CollectionEntry.objects.get(stix_id=v1["id"], is_first=True)
    assert latest.version.startswith("2026-11-22") and first.version.startswith("2026-11-20")


def test_it_treats_equal_instants_at_other_precision_as_the_same_version(
    lab_client: APIClient, lab_a: Member
) -> None:
    v1 = samples.ip_range_indicator(
        lab_a.identity_id, modified="2026-11-21T10:00:00.1Z", created="2026-11-20T09:30:00.100Z"
    )
    v1_again = dict(v1, modified="2026-11-21T10:00:00.100Z")
    assert publish(lab_client, v1).status_code == 422  # 1 fraction digit is below millisecond
    assert publish(lab_client, v1_again).json()["accepted"] == 1
    assert (
        publish(lab_client, dict(v1, modified="2026-11-21T10:00:00.100000Z")).json()["present"] == 1
    )


def test_it_refuses_a_missing_created_by_ref(lab_client: APIClient, lab_a: Member) -> None:
    indicator = samples.ip_range_indicator(lab_a.identity_id)
    del indicator["created_by_ref"]
    response = publish(lab_client, indicator)
    assert response.status_code == 422
    result = response.json()["results"][0]
    assert result["status"] == "refused"
    assert "'created_by_ref' is required" in result["reason"]
    assert lab_a.identity_id in result["reason"]


def test_it_refuses_impersonation(lab_client: APIClient, lab_b: Member) -> None:
    response = publish(lab_client, samples.ip_range_indicator(lab_b.identity_id))
    assert response.status_code == 422
    assert "members may only publish their own objects" in response.json()["results"][0]["reason"]
    assert not StixObject.objects.filter(type="indicator").exists()


def test_it_refuses_a_new_version_of_another_members_object(
    client_for: Callable[..., APIClient], lab_a: Member, lab_b: Member
) -> None:
    original = samples.ip_range_indicator(lab_a.identity_id)
    publish(client_for(lab_a), original)
    hijack = dict(
        original,
        created_by_ref=lab_b.identity_id,
        modified="2026-11-23T00:00:00.000Z",
        revoked=True,
    )
    response = publish(client_for(lab_b), hijack)
    assert response.status_code == 422
    assert "only its creator may publish new versions" in response.json()["results"][0]["reason"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"pattern": "[ipv4-addr:value ISSUBSET '203.0.113.0/24'"}, "'pattern'"),
        ({"pattern_type": None}, "pattern_type"),
        ({"created": "2026-11-20 09:30:00Z"}, "property 'created' is not a STIX timestamp"),
        ({"modified": "2026-11-19T00:00:00.000Z"}, "'modified' is earlier than 'created'"),
        ({"spec_version": "2.0"}, "property 'spec_version' must be '2.1'"),
        ({"id": "indicator--not-a-uuid"}, "property 'id' must be 'type--UUID'"),
        ({"type": "malware"}, "does not match the id's type"),
        ({"confidence": 150}, "confidence"),
    ],
)
def test_it_refuses_invalid_objects_naming_the_property(
    lab_client: APIClient, lab_a: Member, change: dict, fragment: str
) -> None:
    indicator = samples.ip_range_indicator(lab_a.identity_id)
    indicator.update(change)
    indicator = {k: v for k, v in indicator.items() if v is not None}
    response = publish(lab_client, indicator)
    assert response.status_code == 422
    assert fragment in response.json()["results"][0]["reason"]


def test_it_refuses_an_undeclared_custom_type(lab_client: APIClient) -> None:
    custom = {
        "type": "x-farm-signal",
        "spec_version": "2.1",
        "id": "x-farm-signal--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01",
    }
    response = publish(lab_client, custom)
    assert response.status_code == 422
    assert "is not a STIX 2.1 type" in response.json()["results"][0]["reason"]


def test_it_refuses_an_invalid_cidr(lab_client: APIClient) -> None:
    response = publish(lab_client, samples.ipv4_range("203.0.113.7/24"))
    assert response.status_code == 422
    assert "property 'value'" in response.json()["results"][0]["reason"]


def test_a_mixed_bundle_is_partly_accepted_and_nothing_is_half_written(
    lab_client: APIClient, lab_a: Member, lab_b: Member
) -> None:
    good = samples.ip_range_indicator(lab_a.identity_id)
    bad = samples.attack_pattern(lab_b.identity_id)
    response = publish(lab_client, good, bad)
    assert response.status_code == 207
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "refused"]
    assert body["results"][1]["id"] == bad["id"]
    assert StixObject.objects.filter(stix_id=good["id"]).count() == 1
    assert not StixObject.objects.filter(stix_id=bad["id"]).exists()
    assert not CollectionEntry.objects.filter(stix_id=bad["id"]).exists()


def test_it_keeps_custom_properties_and_unknown_extensions_verbatim(
    lab_client: APIClient, lab_a: Member
) -> None:
    indicator = samples.ip_range_indicator(
        lab_a.identity_id,
        x_opencti_score=87,
        extensions={
            "extension-definition--a932fcc6-e032-476c-826f-cb970a5a1ade": {
                "extension_type": "property-extension",
                "score": {"nested": [1, 2.5, "three", None, True]},
            }
        },
    )
    sent = copy.deepcopy(indicator)
    assert publish(lab_client, indicator).json()["accepted"] == 1
    versions = lab_client.get(f"{URL}{indicator['id']}/").json()["versions"]
    assert [without_signatures(v) for v in versions] == [sent]


def test_it_refuses_an_object_nested_beyond_the_limit(lab_client: APIClient, lab_a: Member) -> None:
    deep: object = "leaf"
    for _ in range(40):
        deep = {"d": deep}
    response = publish(lab_client, samples.ip_range_indicator(lab_a.identity_id, x_deep=deep))
    assert response.status_code == 422
    assert "nested deeper than" in response.json()["results"][0]["reason"]


def test_it_answers_a_wrong_content_type_with_415(lab_client: APIClient) -> None:
    response = lab_client.post(URL, data="[]", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["http_status"] == "415"


@pytest.mark.parametrize(
    "content_type", ["application/stix+json;version=2.1", "application/taxii+json;version=2.1"]
)
def test_it_names_the_media_type_it_takes_in_a_415(
    lab_client: APIClient, content_type: str
) -> None:
    response = lab_client.post(URL, data="[]", content_type=content_type)
    assert response.status_code == 415
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "title": "Unsupported media type",
        "description": f'Unsupported media type "{content_type}" in request. '
        "This endpoint takes: application/json.",
        "http_status": "415",
        "error_code": "unsupported_media_type",
    }


def test_it_refuses_a_body_that_is_not_a_bundle_or_list(lab_client: APIClient) -> None:
    response = lab_client.post(URL, data='{"type": "indicator"}', content_type="application/json")
    assert response.status_code == 400
    assert "bundle" in response.json()["description"]


def test_it_answers_401_without_a_token(db: None) -> None:
    response = APIClient().post(URL, data="[]", content_type="application/json")
    assert response.status_code == 401
    assert "Bearer" in response["WWW-Authenticate"] and "Basic" in response["WWW-Authenticate"]
    assert response.json()["http_status"] == "401"


def test_it_answers_403_without_the_publish_scope(
    lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    response = publish(client_for(lab_a, "read"), samples.ip_range_indicator(lab_a.identity_id))
    assert response.status_code == 403
    assert "'publish' scope" in response.json()["description"]


def test_a_partner_cannot_publish(partner: Member, client_for: Callable[..., APIClient]) -> None:
    response = publish(client_for(partner), samples.ip_range_indicator(partner.identity_id))
    assert response.status_code == 403


def test_the_list_pages_with_a_cursor_and_filters(lab_client: APIClient, lab_a: Member) -> None:
    base = samples.ip_range_indicator(lab_a.identity_id)
    ids = [f"indicator--00000000-0000-4000-8000-{n:012d}" for n in range(5)]
    publish(lab_client, *[dict(base, id=object_id) for object_id in ids])
    seen: list[str] = []
    url = f"{URL}?type=indicator&limit=2"
    while True:
        body = lab_client.get(url).json()
        seen += [obj["id"] for obj in body["objects"]]
        if not body["more"]:
            break
        url = f"{URL}?type=indicator&limit=2&next={body['next']}"
    assert seen == ids
    assert lab_client.get(f"{URL}?revoked=true").json()["objects"] == []
    assert lab_client.get(f"{URL}?next=garbage!").status_code == 400


def test_it_caps_the_rest_list_in_bytes_too(
    lab_client: APIClient, lab_a: Member, settings: Any
) -> None:
    # Twelve indicators of about 2 kB each, so that five fill the page budget.
    base = samples.ip_range_indicator(lab_a.identity_id, description="x" * 2000)
    objects = [dict(base, id=f"indicator--00000000-0000-4000-8000-{n:012d}") for n in range(12)]
    assert publish(lab_client, *objects).status_code == 200
    settings.MAX_PAGE_BYTES = 5 * 2500
    served: list[str] = []
    params: dict[str, str] = {"limit": "1000", "type": "indicator"}
    while True:
        response = lab_client.get("/api/v1/objects/", params)
        assert response.status_code == 200
        page = json.loads(response.content)
        assert 1 <= len(page["objects"]) <= 5
        served += [obj["id"] for obj in page["objects"]]
        if not page["more"]:
            break
        params["next"] = page["next"]
    assert sorted(served) == sorted(obj["id"] for obj in objects)


# --- GET /api/v1/objects/<id>/corroboration/: other labs' sightings of an object ----------


INDICATOR_ID = "indicator--1c9e4a52-7d3b-4f60-9a18-5b2e7c0d4f11"


SIGHTING_ID = "sighting--4d7a1e93-2b6c-4f85-8e0a-9c3b5d7f1a26"


def corroboration_url(object_id: str) -> str:
    return f"/api/v1/objects/{object_id}/corroboration/"


def published(client: APIClient, *objects: dict[str, Any]) -> None:
    response = publish(client, *objects)
    assert response.status_code == 200, response.content


@pytest.fixture
def clients(
    lab_a: Member, lab_b: Member, partner: Member, client_for: Callable[..., APIClient]
) -> dict[str, APIClient]:
    return {"a": client_for(lab_a), "b": client_for(lab_b), "partner": client_for(partner)}


@pytest.fixture
def corroborated(clients: dict[str, APIClient], lab_a: Member) -> dict[str, Any]:
    obj = samples.ip_range_indicator(lab_a.identity_id, id=INDICATOR_ID)
    published(clients["a"], obj)
    return obj


def test_it_counts_each_other_lab_once_at_its_sightings_newest_version(
    clients: dict[str, APIClient], lab_a: Member, lab_b: Member, corroborated: dict[str, Any]
) -> None:
    first = samples.sighting(
        lab_b.identity_id, INDICATOR_ID, id=SIGHTING_ID, count=3, last_seen="2026-11-18T10:00:00Z"
    )
    # The count grew: a new version of the same sighting, not a second sighting.
    grown = {**first, "modified": "2026-11-20T11:00:00.000Z", "count": 40}
    grown["last_seen"] = "2026-11-20T10:59:00.5Z"
    published(clients["b"], first, grown)
    # The publisher's own sighting corroborates nothing.
    published(clients["a"], samples.sighting(lab_a.identity_id, INDICATOR_ID))

    response = clients["partner"].get(corroboration_url(INDICATOR_ID))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "indicator": INDICATOR_ID,
        "labs": [lab_b.identity_id],
        "sightings": 1,
        "count": 40,
        "first_seen": "2026-11-18T00:00:00Z",
        "last_seen": "2026-11-20T10:59:00.5Z",
    }


def test_it_answers_no_labs_for_an_object_nobody_else_sighted(
    clients: dict[str, APIClient], corroborated: dict[str, Any]
) -> None:
    response = clients["b"].get(corroboration_url(INDICATOR_ID))
    assert response.status_code == 200
    assert response.json()["labs"] == [] and response.json()["sightings"] == 0
    assert response.json()["first_seen"] is None


def test_it_counts_only_sightings_the_caller_may_read(
    clients: dict[str, APIClient], lab_b: Member, corroborated: dict[str, Any]
) -> None:
    red = samples.sighting(lab_b.identity_id, INDICATOR_ID, object_marking_refs=[TLP2_RED])
    published(clients["b"], red)

    assert clients["b"].get(corroboration_url(INDICATOR_ID)).json()["labs"] == [lab_b.identity_id]
    assert clients["partner"].get(corroboration_url(INDICATOR_ID)).json()["labs"] == []


def test_it_refuses_an_object_the_caller_cannot_read_as_if_it_did_not_exist(
    clients: dict[str, APIClient], lab_a: Member
) -> None:
    secret = samples.ip_range_indicator(
        lab_a.identity_id, id=INDICATOR_ID, object_marking_refs=[TLP2_RED]
    )
    published(clients["a"], secret)
    hidden = clients["b"].get(corroboration_url(INDICATOR_ID))
    missing = clients["b"].get(corroboration_url("indicator--00000000-0000-4000-8000-000000000000"))

    assert hidden.status_code == missing.status_code == 404
    assert hidden["Content-Type"] == "application/json"
    assert hidden.json()["http_status"] == "404"
    assert hidden.json()["description"].replace(INDICATOR_ID, "") == missing.json()[
        "description"
    ].replace("indicator--00000000-0000-4000-8000-000000000000", "")
    assert clients["a"].get(corroboration_url(INDICATOR_ID)).status_code == 200


def test_it_needs_a_token(corroborated: dict[str, Any]) -> None:
    response = APIClient().get(corroboration_url(INDICATOR_ID))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_the_console_counts_the_same_sightings(
    clients: dict[str, APIClient], forum: Member, lab_a: Member, lab_b: Member, corroborated: Any
) -> None:
    published(clients["b"], samples.sighting(lab_b.identity_id, INDICATOR_ID, id=SIGHTING_ID))
    published(clients["a"], samples.sighting(lab_a.identity_id, INDICATOR_ID))
    stored = StixObject.objects.get(stix_id=INDICATOR_ID)

    assert corroboration(forum, [stored]) == {INDICATOR_ID: [lab_b.name]}
