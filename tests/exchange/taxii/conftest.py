"""Helpers for the TAXII tests: a TAXII client per persona, a way to publish fixtures and
the check of a TAXII error envelope."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from members.models import Member
from signatures.models import Collection
from signatures.selectors import collection_default
from signatures.services import objects_publish

TAXII = "application/taxii+json;version=2.1"
#: One endpoint per level of the URL tree: discovery, an API root, its collections.
ENDPOINTS = ["/taxii2/", "/feed/", "/feed/collections/"]
#: A date_added as the server writes it: always six fraction digits.
DATE_ADDED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
#: Three versions of one object, with 3, 7 and 9 fraction digits.
V1 = "2026-11-20T09:30:00.123Z"
V2 = "2026-11-21T09:30:00.1234567Z"
V3 = "2026-11-22T09:30:00.123456789Z"


class Taxii:
    """An authenticated client that speaks TAXII 2.1 to the test server."""

    def __init__(self, client: APIClient) -> None:
        self.client = client

    def get(self, url: str, accept: str = TAXII, **params: Any) -> Any:
        return self.client.get(url, params, HTTP_ACCEPT=accept)

    def post(self, url: str, body: Any, content_type: str = TAXII, accept: str = TAXII) -> Any:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return self.client.generic("POST", url, data, content_type=content_type, HTTP_ACCEPT=accept)

    def delete(self, url: str, **params: Any) -> Any:
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return self.client.delete(f"{url}?{query}" if query else url, HTTP_ACCEPT=TAXII)


@pytest.fixture
def taxii_for(client_for: Callable[..., APIClient]) -> Callable[..., Taxii]:
    def make(member: Member, *scopes: str) -> Taxii:
        return Taxii(client_for(member, *scopes))

    return make


@pytest.fixture
def feed(lab_a: Member) -> Collection:
    """The default collection: every member reads it, labs write it (member_create)."""
    return collection_default()


def collection_url(collection: Collection, suffix: str = "") -> str:
    return f"/{collection.api_root}/collections/{collection.id}/{suffix}"


def publish(member: Member, collection: Collection, *objects: dict[str, Any]) -> None:
    report = objects_publish(member=member, objects=list(objects), collection=collection)
    refused = [o.reason for o in report.outcomes if o.status == "refused"]
    assert not refused, refused


def indicator(creator: str, n: int, **overrides: Any) -> dict[str, Any]:
    """A distinct valid indicator per ``n`` (fixed ids, so tests can name them)."""
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2026-11-20T09:30:00.123Z",
        "modified": "2026-11-20T09:30:00.123Z",
        "created_by_ref": creator,
        "name": f"Egress range {n}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": "2026-11-20T00:00:00Z",
    }
    obj.update(overrides)
    return obj


@pytest.fixture
def lab(taxii_for: Callable[..., Taxii], lab_a: Member) -> Taxii:
    return taxii_for(lab_a)


@pytest.fixture
def three_versions(lab_a: Member, shared: Collection) -> list[dict[str, Any]]:
    """Indicator 1 in three versions, published newest first to prove order is by version."""
    versions = [indicator(lab_a.identity_id, 1, modified=v) for v in (V1, V2, V3)]
    publish(lab_a, shared, versions[2])
    publish(lab_a, shared, versions[0], versions[1])
    return versions


@pytest.fixture
def shared(lab_a: Member, lab_b: Member, partner: Member) -> Collection:
    """An empty collection: both labs read and write it, the partner reads it."""
    from signatures.services import collection_create

    return collection_create(
        title="Shared", readers=[lab_a, lab_b, partner], writers=[lab_a, lab_b]
    )


def assert_taxii_error(response: Any, status: int) -> dict[str, Any]:
    """The response is a TAXII error envelope (section 3.6.1) with this status."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == TAXII
    body = json.loads(response.content)
    assert set(body) == {"title", "description", "http_status", "error_code"}
    assert body["http_status"] == str(status)
    return body


def body(response: Any) -> Any:
    assert response["Content-Type"] == TAXII, response.content
    return json.loads(response.content)
