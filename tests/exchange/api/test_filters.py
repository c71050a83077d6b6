"""The REST list's filters (GET /api/v1/objects/): each one selects, malformed ones are 400."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from exchange.api.filters import ObjectFilter
from members.models import Member
from signatures.models import StixObject
from tests import stix_samples as samples

URL = "/api/v1/objects/"


def publish(client: APIClient, *objects: dict[str, Any]) -> None:
    response = client.post(URL, json.dumps(list(objects)), content_type="application/json")
    assert response.status_code == 200, response.content


def listed(client: APIClient, **params: str) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return [obj["id"] for obj in json.loads(response.content)["objects"]]


@pytest.fixture
def lab_client(lab_a: Member, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(lab_a, "read", "publish")


def test_it_selects_by_type(lab_client: APIClient, lab_a: Member) -> None:
    indicator = samples.ip_range_indicator(lab_a.identity_id)
    pattern = samples.attack_pattern(lab_a.identity_id)
    publish(lab_client, indicator, pattern)
    assert listed(lab_client, type="attack-pattern") == [pattern["id"]]
    assert listed(lab_client, type="indicator") == [indicator["id"]]


def test_it_selects_by_created_by_ref(
    lab_client: APIClient, lab_a: Member, lab_b: Member, client_for: Callable[..., APIClient]
) -> None:
    mine = samples.ip_range_indicator(lab_a.identity_id)
    theirs = samples.attack_pattern(lab_b.identity_id)
    publish(lab_client, mine)
    publish(client_for(lab_b, "read", "publish"), theirs)
    assert theirs["id"] in listed(lab_client)
    by_lab_a = listed(lab_client, created_by_ref=lab_a.identity_id)
    assert mine["id"] in by_lab_a and theirs["id"] not in by_lab_a
    assert listed(lab_client, created_by_ref=lab_b.identity_id, type="attack-pattern") == [
        theirs["id"]
    ]


def test_it_selects_by_revoked(lab_client: APIClient, lab_a: Member) -> None:
    v1 = samples.ip_range_indicator(lab_a.identity_id)
    v2 = dict(v1, modified="2026-11-22T10:00:00.000Z", revoked=True)
    publish(lab_client, v1, v2)
    assert listed(lab_client, revoked="true") == [v1["id"]]
    assert listed(lab_client, revoked="false", type="indicator") == [v1["id"]]
    assert len(listed(lab_client, type="indicator")) == 2  # one per version


def test_it_selects_by_added_after_the_time_received(lab_client: APIClient, lab_a: Member) -> None:
    first = samples.ip_range_indicator(lab_a.identity_id)
    publish(lab_client, first)
    received = StixObject.objects.get(stix_id=first["id"]).received_at
    # An object's own timestamps do not count: this one claims to be older than the first.
    second = samples.attack_pattern(
        lab_a.identity_id, created="2020-01-01T00:00:00.000Z", modified="2020-01-01T00:00:00.000Z"
    )
    publish(lab_client, second)
    after = received.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert listed(lab_client, added_after=after) == [second["id"]]


@pytest.mark.parametrize("value", ["yes", "1", "True", "FALSE"])
def test_it_refuses_a_revoked_other_than_true_or_false(lab_client: APIClient, value: str) -> None:
    response = lab_client.get(URL, {"revoked": value})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["description"] == "revoked: Must be true or false."


def test_it_reads_no_filter_as_everything() -> None:
    assert ObjectFilter.from_query(QueryDict("type=&revoked=&unknown=x")) == ObjectFilter()


def test_it_reads_every_filter() -> None:
    query = QueryDict(
        "type=indicator&created_by_ref=identity--x&revoked=false&added_after=2026-11-20T09:30:00.5Z"
    )
    read = ObjectFilter.from_query(query)
    assert (read.stix_type, read.created_by_ref, read.revoked) == (
        "indicator",
        "identity--x",
        False,
    )
    assert read.added_after is not None and read.added_after.isoformat() == (
        "2026-11-20T09:30:00.500000+00:00"
    )


def test_it_refuses_an_added_after_that_is_not_a_timestamp() -> None:
    with pytest.raises(ValidationError) as refused:
        ObjectFilter.from_query(QueryDict("added_after=yesterday"))
    assert "added_after" in str(refused.value.detail)
