"""exchange/taxii/objects.py: Get Objects (5.4), Add Objects (5.5), Get/Delete An Object
(5.6, 5.7): every filter, status code and header."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from members.models import Member
from signatures.models import Collection, CollectionEntry, StixObject
from signatures.object_signing import without_signatures
from signatures.services import collection_create
from tests.exchange.taxii.conftest import (
    DATE_ADDED,
    TAXII,
    V1,
    V2,
    V3,
    Taxii,
    assert_taxii_error,
    body,
    collection_url,
    indicator,
    publish,
)


def objects(response) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The envelope's objects, less the signature the exchange adds to unsigned ones."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == TAXII
    return [without_signatures(obj) for obj in json.loads(response.content).get("objects", [])]


def ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [obj["id"] for obj in objects(response)]


# --- 5.4 Get Objects -------------------------------------------------------------------------


def test_it_serves_objects_exactly_as_posted_with_date_added_headers(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    sent = indicator(lab_a.identity_id, 1, modified=V3, x_custom={"b": [1, 2.5, None]})
    publish(lab_a, shared, sent)
    response = lab.get(collection_url(shared, "objects/"))
    assert objects(response) == [sent]
    assert json.loads(response.content)["more"] is False
    assert list(objects(response)[0]) == list(sent)  # property order kept
    # Served as the stored text itself, never re-serialized.
    assert StixObject.objects.get(stix_id=sent["id"]).raw.encode() in response.content
    assert objects(response)[0]["modified"] == V3
    first, last = response["X-TAXII-Date-Added-First"], response["X-TAXII-Date-Added-Last"]
    assert DATE_ADDED.match(first) and first == last


def test_it_answers_an_empty_envelope_without_date_headers(lab: Taxii, shared: Collection) -> None:
    response = lab.get(collection_url(shared, "objects/"))
    assert objects(response) == []
    assert json.loads(response.content) == {"more": False}
    assert "X-TAXII-Date-Added-First" not in response


def test_it_serves_objects_in_date_added_order(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    for n in (5, 3, 9):
        publish(lab_a, shared, indicator(lab_a.identity_id, n))
    assert [o["name"] for o in objects(lab.get(collection_url(shared, "objects/")))] == [
        "Egress range 5",
        "Egress range 3",
        "Egress range 9",
    ]


def test_it_pages_with_limit_and_next(lab: Taxii, lab_a: Member, shared: Collection) -> None:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(5)])
    url = collection_url(shared, "objects/")
    first = lab.get(url, limit=2)
    body = json.loads(first.content)
    assert body["more"] is True and len(body["objects"]) == 2 and body["next"]
    second = json.loads(lab.get(url, limit=2, next=body["next"]).content)
    third = lab.get(url, limit=2, next=second["next"])
    assert json.loads(third.content)["more"] is False
    assert "next" not in json.loads(third.content)
    seen = body["objects"] + second["objects"] + objects(third)
    assert [o["name"] for o in seen] == [f"Egress range {n}" for n in range(5)]
    assert third["X-TAXII-Date-Added-First"] == third["X-TAXII-Date-Added-Last"]
    assert first["X-TAXII-Date-Added-Last"] < third["X-TAXII-Date-Added-First"]


@override_settings(MAX_PAGE_SIZE=3)
def test_it_caps_limit_at_the_server_maximum(lab: Taxii, lab_a: Member, shared: Collection) -> None:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(5)])
    for params in ({}, {"limit": 100}):
        body = json.loads(lab.get(collection_url(shared, "objects/"), **params).content)
        assert len(body["objects"]) == 3 and body["more"] is True


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": -1},
        {"limit": "ten"},
        {"next": "garbage!"},
        {"next": "MTIz"},  # base64 of "123": one part, not a position
        {"added_after": "yesterday"},
        {"added_after": "2026-11-20T09:30:00"},
        {"match[version]": "newest"},
        {"match[version]": "2026-13-45T00:00:00Z"},
    ],
)
def test_it_answers_400_to_malformed_parameters(
    lab: Taxii, shared: Collection, params: dict[str, Any]
) -> None:
    assert_taxii_error(lab.get(collection_url(shared, "objects/"), **params), 400)


def test_it_filters_added_after_strictly_by_date_added(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    for n in range(3):
        publish(lab_a, shared, indicator(lab_a.identity_id, n))
    added = [
        e.date_added.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for e in CollectionEntry.objects.filter(collection=shared).order_by("date_added")
    ]
    url = collection_url(shared, "objects/")
    assert [o["name"] for o in objects(lab.get(url, added_after=added[0]))] == [
        "Egress range 1",
        "Egress range 2",
    ]
    assert objects(lab.get(url, added_after=added[2])) == []
    # 7+ fraction digits: date_added (µs) equal to the truncated instant is not after it.
    assert len(objects(lab.get(url, added_after=added[1][:-1] + "1Z"))) == 1
    # Objects' own timestamps do not matter: all were created long before date_added.
    assert len(objects(lab.get(url, added_after="2026-11-20T09:30:01Z"))) == 3


def test_it_combines_next_with_added_after_and_other_filters(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    publish(lab_a, shared, *[indicator(lab_a.identity_id, n) for n in range(6)])
    first_added = CollectionEntry.objects.filter(collection=shared).earliest("date_added")
    after = first_added.date_added.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    url = collection_url(shared, "objects/")
    page = json.loads(lab.get(url, limit=2, added_after=after).content)
    names = [o["name"] for o in page["objects"]]
    while page["more"]:
        page = json.loads(lab.get(url, limit=2, added_after=after, next=page["next"]).content)
        names += [o["name"] for o in page.get("objects", [])]
    assert names == [f"Egress range {n}" for n in range(1, 6)]


def test_it_filters_match_type_and_match_id_as_lists(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    objs = [indicator(lab_a.identity_id, n) for n in range(3)]
    pattern = {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": "attack-pattern--0c8f3a52-1b7e-4f0a-8c1d-6a2b9e4d7f02",
        "created": V1,
        "modified": V1,
        "created_by_ref": lab_a.identity_id,
        "name": "Chain-of-thought extraction",
    }
    publish(lab_a, shared, *objs, pattern)
    url = collection_url(shared, "objects/")
    assert ids(lab.get(url, **{"match[type]": "attack-pattern"})) == [pattern["id"]]
    assert len(ids(lab.get(url, **{"match[type]": "indicator,attack-pattern"}))) == 4
    assert ids(lab.get(url, **{"match[type]": "malware"})) == []
    assert ids(lab.get(url, **{"match[id]": f"{objs[2]['id']},{pattern['id']}"})) == [
        objs[2]["id"],
        pattern["id"],
    ]
    both = lab.get(url, **{"match[id]": objs[0]["id"], "match[type]": "attack-pattern"})
    assert ids(both) == []


def test_it_serves_the_last_version_by_default(
    lab: Taxii, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    url = collection_url(shared, "objects/")
    assert objects(lab.get(url)) == [three_versions[2]]
    assert objects(lab.get(url, **{"match[version]": "last"})) == [three_versions[2]]


def test_it_filters_match_version(
    lab: Taxii, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    url = collection_url(shared, "objects/")

    def versions(value: str) -> list[str]:
        return sorted(o["modified"] for o in objects(lab.get(url, **{"match[version]": value})))

    assert versions("first") == [V1]
    assert versions("all") == [V1, V2, V3]
    assert versions("first,last") == [V1, V3]
    assert versions(V2) == [V2]
    # Compared at full precision: equal instants match whatever the digits...
    assert versions("2026-11-21T09:30:00.123456700Z") == [V2]
    assert versions("2026-11-20T09:30:00.123000Z") == [V1]
    # ...and a nanosecond apart does not.
    assert versions("2026-11-21T09:30:00.1234568Z") == []
    assert versions(f"{V1},{V3}") == [V1, V3]
    assert versions(f"first,{V2}") == [V1, V2]


def test_it_filters_match_spec_version(lab: Taxii, lab_a: Member, shared: Collection) -> None:
    publish(lab_a, shared, indicator(lab_a.identity_id, 1))
    url = collection_url(shared, "objects/")
    assert len(objects(lab.get(url, **{"match[spec_version]": "2.1"}))) == 1
    assert len(objects(lab.get(url, **{"match[spec_version]": "2.0,2.1"}))) == 1
    assert objects(lab.get(url, **{"match[spec_version]": "2.0"})) == []


def test_it_ignores_filters_it_does_not_define(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    publish(lab_a, shared, indicator(lab_a.identity_id, 1))
    url = collection_url(shared, "objects/")
    assert len(objects(lab.get(url, **{"match[relationship_type]": "x", "foo": "bar"}))) == 1


# --- 5.5 Add Objects -------------------------------------------------------------------------


def test_it_adds_objects_and_answers_202_with_a_complete_status(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    good = indicator(lab_a.identity_id, 1, modified=V2)
    bad = indicator(lab_a.identity_id, 2, confidence=101)
    response = lab.post(collection_url(shared, "objects/"), {"objects": [good, bad]})
    assert response.status_code == 202, response.content
    assert response["Content-Type"] == TAXII
    status = response.json()
    assert status["status"] == "complete"
    assert (status["total_count"], status["success_count"]) == (2, 1)
    assert (status["failure_count"], status["pending_count"]) == (1, 0)
    assert status["successes"] == [{"id": good["id"], "version": V2}]
    assert status["failures"][0]["id"] == bad["id"]
    assert status["failures"][0]["version"] == bad["modified"]
    assert "confidence" in status["failures"][0]["message"]
    assert DATE_ADDED.match(status["request_timestamp"])
    assert objects(lab.get(collection_url(shared, "objects/"))) == [good]

    again = lab.get(f"/{shared.api_root}/status/{status['id']}/")
    assert again.status_code == 200 and again["Content-Type"] == TAXII
    assert again.json() == status


def test_it_counts_a_resent_version_as_a_success(
    lab: Taxii, lab_a: Member, shared: Collection
) -> None:
    obj = indicator(lab_a.identity_id, 1)
    lab.post(collection_url(shared, "objects/"), {"objects": [obj]})
    status = lab.post(collection_url(shared, "objects/"), {"objects": [obj]}).json()
    assert status["success_count"] == 1 and status["failure_count"] == 0
    assert "already stored" in status["successes"][0]["message"]


def test_it_refuses_to_add_to_a_collection_the_member_cannot_write(
    taxii_for: Callable[..., Taxii], lab_a: Member, partner: Member, shared: Collection
) -> None:
    from signatures.services import collection_create

    read_only = collection_create(title="Read only", readers=[lab_a], writers=[])
    body = {"objects": [indicator(lab_a.identity_id, 1)]}
    assert_taxii_error(taxii_for(lab_a).post(collection_url(read_only, "objects/"), body), 403)
    # Partners hold no publish scope at all.
    assert_taxii_error(taxii_for(partner).post(collection_url(shared, "objects/"), body), 403)


# --- 5.6 Get An Object -----------------------------------------------------------------------


def test_it_gets_an_object_latest_version_by_default(
    lab: Taxii, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    url = collection_url(shared, f"objects/{three_versions[0]['id']}/")
    response = lab.get(url)
    assert objects(response) == [three_versions[2]]
    assert DATE_ADDED.match(response["X-TAXII-Date-Added-First"])
    everything = objects(lab.get(url, **{"match[version]": "all"}))
    assert sorted(o["modified"] for o in everything) == [V1, V2, V3]
    page = json.loads(lab.get(url, limit=1, **{"match[version]": "all"}).content)
    assert page["more"] is True and len(page["objects"]) == 1
    assert objects(lab.get(url, **{"match[version]": V2})) == [three_versions[1]]
    assert objects(lab.get(url, **{"match[spec_version]": "2.0"})) == []


def test_it_answers_404_for_an_object_not_in_the_collection(lab: Taxii, shared: Collection) -> None:
    url = collection_url(shared, "objects/indicator--00000000-0000-4000-8000-000000000077/")
    assert_taxii_error(lab.get(url), 404)
    assert_taxii_error(lab.get(url + "versions/"), 404)


# --- 5.7 Delete An Object --------------------------------------------------------------------


def test_it_deletes_every_version_of_an_object_by_default(
    lab: Taxii, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    url = collection_url(shared, f"objects/{three_versions[0]['id']}/")
    response = lab.delete(url)
    assert response.status_code == 200, response.content
    assert response.content == b""
    assert_taxii_error(lab.get(url), 404)
    assert not CollectionEntry.objects.filter(collection=shared).exists()


def test_it_deletes_selected_versions_and_keeps_first_and_last_exact(
    lab: Taxii, shared: Collection, three_versions: list[dict[str, Any]]
) -> None:
    url = collection_url(shared, f"objects/{three_versions[0]['id']}/")
    assert lab.delete(url, **{"match[version]": "last"}).status_code == 200
    assert objects(lab.get(url)) == [three_versions[1]]
    assert lab.delete(url, **{"match[version]": V1}).status_code == 200
    assert objects(lab.get(url, **{"match[version]": "first"})) == [three_versions[1]]
    assert objects(lab.get(url, **{"match[version]": "all"})) == [three_versions[1]]
    assert_taxii_error(lab.delete(url, **{"match[version]": V1}), 404)


def test_it_lets_only_the_creator_or_the_forum_delete(
    taxii_for: Callable[..., Taxii],
    lab_b: Member,
    forum: Member,
    shared: Collection,
    three_versions: list[dict[str, Any]],
) -> None:
    url = collection_url(shared, f"objects/{three_versions[0]['id']}/")
    assert_taxii_error(taxii_for(lab_b).delete(url), 403)
    shared.writers.add(forum)
    assert taxii_for(forum).delete(url).status_code == 200


def test_it_refuses_deletes_by_non_writers(
    taxii_for: Callable[..., Taxii],
    lab_a: Member,
    shared: Collection,
    three_versions: list[dict[str, Any]],
) -> None:
    shared.writers.remove(lab_a)
    url = collection_url(shared, f"objects/{three_versions[0]['id']}/")
    assert_taxii_error(taxii_for(lab_a).delete(url), 403)
    assert len(objects(taxii_for(lab_a).get(url))) == 1


# A DELETE in a collection the caller cannot read answers 404, as any other request there.


@pytest.fixture
def private(lab_a: Member, lab_b: Member) -> Collection:
    """Only lab A reads and writes it; it holds one of lab A's indicators."""
    collection = collection_create(title="Private", readers=[lab_a], writers=[lab_a])
    publish(lab_a, collection, indicator(lab_a.identity_id, 1))
    return collection


@pytest.mark.parametrize("scopes", [("read",), ("publish",), ("read", "publish")])
def test_it_answers_404_to_a_delete_in_a_collection_the_caller_cannot_read(
    private: Collection,
    lab_b: Member,
    partner: Member,
    taxii_for: Callable[..., Taxii],
    scopes: tuple[str, ...],
) -> None:
    url = collection_url(private, f"objects/{indicator('', 1)['id']}/")
    for member in (lab_b, partner):
        member_scopes = scopes if member.can_publish else ("read",)
        response = taxii_for(member, *member_scopes).delete(url)
        assert response.status_code == 404, (member, response.content)
        assert body(response)["http_status"] == "404"
    assert CollectionEntry.objects.filter(collection=private).count() == 1


def test_it_still_refuses_a_delete_by_a_reader_without_the_publish_scope(
    private: Collection, lab_a: Member, taxii_for: Callable[..., Taxii]
) -> None:
    url = collection_url(private, f"objects/{indicator('', 1)['id']}/")
    response = taxii_for(lab_a, "read").delete(url)
    assert response.status_code == 403
    assert "publish" in body(response)["description"]
    assert CollectionEntry.objects.filter(collection=private).count() == 1


def test_it_still_asks_an_anonymous_delete_to_authenticate(private: Collection) -> None:
    url = collection_url(private, f"objects/{indicator('', 1)['id']}/")
    response = Taxii(APIClient()).delete(url)
    assert response.status_code == 401
    assert CollectionEntry.objects.filter(collection=private).count() == 1


def test_it_deletes_for_a_reader_that_writes(
    private: Collection, lab_a: Member, taxii_for: Callable[..., Taxii]
) -> None:
    url = collection_url(private, f"objects/{indicator('', 1)['id']}/")
    assert taxii_for(lab_a, "read", "publish").delete(url).status_code == 200
    assert not CollectionEntry.objects.filter(collection=private).exists()
