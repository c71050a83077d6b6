"""GET /api/v1/objects/<id>/corroboration/: other labs' sightings of an object."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from exchange.console.selectors import corroboration
from members.models import Member
from signatures.models import StixObject
from signatures.sdk.constants import TLP2_RED
from tests import stix_samples as samples

pytestmark = pytest.mark.django_db

INDICATOR_ID = "indicator--1c9e4a52-7d3b-4f60-9a18-5b2e7c0d4f11"
SIGHTING_ID = "sighting--4d7a1e93-2b6c-4f85-8e0a-9c3b5d7f1a26"


def url(object_id: str) -> str:
    return f"/api/v1/objects/{object_id}/corroboration/"


def publish(client: APIClient, *objects: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/objects/",
        data=json.dumps(samples.bundle(*objects)),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


@pytest.fixture
def clients(
    lab_a: Member, lab_b: Member, partner: Member, client_for: Callable[..., APIClient]
) -> dict[str, APIClient]:
    return {"a": client_for(lab_a), "b": client_for(lab_b), "partner": client_for(partner)}


@pytest.fixture
def indicator(clients: dict[str, APIClient], lab_a: Member) -> dict[str, Any]:
    obj = samples.ip_range_indicator(lab_a.identity_id, id=INDICATOR_ID)
    publish(clients["a"], obj)
    return obj


def test_it_counts_each_other_lab_once_at_its_sightings_newest_version(
    clients: dict[str, APIClient], lab_a: Member, lab_b: Member, indicator: dict[str, Any]
) -> None:
    first = samples.sighting(
        lab_b.identity_id, INDICATOR_ID, id=SIGHTING_ID, count=3, last_seen="2026-11-18T10:00:00Z"
    )
    # The count grew: a new version of the same sighting, not a second sighting.
    grown = {**first, "modified": "2026-11-20T11:00:00.000Z", "count": 40}
    grown["last_seen"] = "2026-11-20T10:59:00.5Z"
    publish(clients["b"], first, grown)
    # The publisher's own sighting corroborates nothing.
    publish(clients["a"], samples.sighting(lab_a.identity_id, INDICATOR_ID))

    response = clients["partner"].get(url(INDICATOR_ID))

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
    clients: dict[str, APIClient], indicator: dict[str, Any]
) -> None:
    response = clients["b"].get(url(INDICATOR_ID))
    assert response.status_code == 200
    assert response.json()["labs"] == [] and response.json()["sightings"] == 0
    assert response.json()["first_seen"] is None


def test_it_counts_only_sightings_the_caller_may_read(
    clients: dict[str, APIClient], lab_b: Member, indicator: dict[str, Any]
) -> None:
    red = samples.sighting(lab_b.identity_id, INDICATOR_ID, object_marking_refs=[TLP2_RED])
    publish(clients["b"], red)

    assert clients["b"].get(url(INDICATOR_ID)).json()["labs"] == [lab_b.identity_id]
    assert clients["partner"].get(url(INDICATOR_ID)).json()["labs"] == []


def test_it_refuses_an_object_the_caller_cannot_read_as_if_it_did_not_exist(
    clients: dict[str, APIClient], lab_a: Member
) -> None:
    secret = samples.ip_range_indicator(
        lab_a.identity_id, id=INDICATOR_ID, object_marking_refs=[TLP2_RED]
    )
    publish(clients["a"], secret)
    hidden = clients["b"].get(url(INDICATOR_ID))
    missing = clients["b"].get(url("indicator--00000000-0000-4000-8000-000000000000"))

    assert hidden.status_code == missing.status_code == 404
    assert hidden["Content-Type"] == "application/json"
    assert hidden.json()["http_status"] == "404"
    assert hidden.json()["description"].replace(INDICATOR_ID, "") == missing.json()[
        "description"
    ].replace("indicator--00000000-0000-4000-8000-000000000000", "")
    assert clients["a"].get(url(INDICATOR_ID)).status_code == 200


def test_it_needs_a_token(indicator: dict[str, Any]) -> None:
    response = APIClient().get(url(INDICATOR_ID))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_the_console_counts_the_same_sightings(
    clients: dict[str, APIClient], forum: Member, lab_a: Member, lab_b: Member, indicator: Any
) -> None:
    publish(clients["b"], samples.sighting(lab_b.identity_id, INDICATOR_ID, id=SIGHTING_ID))
    publish(clients["a"], samples.sighting(lab_a.identity_id, INDICATOR_ID))
    stored = StixObject.objects.get(stix_id=INDICATOR_ID)

    assert corroboration(forum, [stored]) == {INDICATOR_ID: [lab_b.name]}
