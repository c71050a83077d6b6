"""Probe routing, request logs and metrics, and the answer to a dropped database connection
(exchange/observability/middleware.py)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from exchange.observability.jsonlog import JsonFormatter
from members.models import Member
from signatures.models import StixObject
from signatures.selectors import collection_default
from tests import stix_samples as samples
from tests.exchange.observability.conftest import Exposition
from tests.factories import token_for


@pytest.fixture
def json_lines() -> Iterator[list[str]]:
    """Every record of every logger during the test, formatted as the containers log it."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(level=logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(previous)


def request_lines(lines: list[str]) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in lines]
    return [line for line in parsed if line["logger"] == "exchange.request" and "status" in line]


@pytest.mark.parametrize("path", ["/healthz", "/healthz/", "/readyz", "/metrics"])
def test_it_answers_probe_paths_only_to_get_and_head(path: str) -> None:
    response = Client().post(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_it_answers_probes_before_any_other_middleware_sees_the_request(
    json_lines: list[str],
) -> None:
    # No django_db mark, and no request line: neither the session nor the log ran.
    assert Client().head("/healthz/").status_code == 200
    assert request_lines(json_lines) == []


@pytest.mark.django_db
def test_it_logs_one_json_line_per_request_with_member_endpoint_status_and_duration(
    json_lines: list[str], lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    response = client_for(lab_a, "read").get("/api/v1/members/me/")
    assert response.status_code == 200
    (line,) = request_lines(json_lines)
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["endpoint"] == "member-self"
    assert line["path"] == "/api/v1/members/me/"
    assert line["status"] == 200
    assert line["member"] == "lab-a"
    assert isinstance(line["duration_ms"], float)


@pytest.mark.django_db
def test_it_logs_no_part_of_a_bearer_token_or_of_a_query_string(
    json_lines: list[str], lab_a: Member
) -> None:
    token = token_for(lab_a, "read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/objects/?token=query-secret-value").status_code == 200
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"Bearer {token}tampered")
    assert wrong.get("/api/v1/objects/").status_code == 401
    basic = APIClient()
    basic.credentials(HTTP_AUTHORIZATION="Basic bGFiLWE6c2VjcmV0LXBhc3N3b3Jk")
    basic.get("/api/v1/objects/")

    lines = request_lines(json_lines)
    assert [(line["status"], line["member"]) for line in lines] == [
        (200, "lab-a"),
        (401, None),
        (401, None),
    ]
    everything = "\n".join(json_lines)
    # Any 8 characters of the token would identify it: none may appear.
    pieces = {token[i : i + 8] for i in range(0, len(token) - 7)}
    assert not [piece for piece in pieces if piece in everything]
    assert "query-secret-value" not in everything
    assert "bGFiLWE6c2VjcmV0LXBhc3N3b3Jk" not in everything
    assert "Authorization" not in everything


@pytest.mark.django_db
def test_it_names_unmatched_paths_without_their_text_in_the_endpoint(
    json_lines: list[str],
) -> None:
    APIClient().get("/no.such.path")
    (line,) = request_lines(json_lines)
    assert line["status"] == 404
    assert line["endpoint"] == "unmatched"


@pytest.mark.django_db
def test_it_counts_requests_by_route_name_and_objects_by_member(
    scrape: Callable[[], Exposition], lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    before = scrape()
    client = client_for(lab_a, "read", "publish")
    good = samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}")
    bad = {"type": "indicator", "id": "indicator--not-a-uuid", "spec_version": "2.1"}
    response = client.post("/api/v1/objects/", samples.bundle(good, bad), format="json")
    assert response.status_code == 207, response.content
    assert client.get("/api/v1/objects/does-not-exist/").status_code == 404
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return (after.value(name, **labels) or 0) - (before.value(name, **labels) or 0)

    assert grew("exchange_objects_total", member="lab-a", channel="rest", outcome="accepted") == 1
    assert grew("exchange_objects_total", member="lab-a", channel="rest", outcome="refused") == 1
    assert grew("exchange_objects_total", member="lab-a", channel="rest", outcome="present") == 0
    assert (
        grew("exchange_http_requests_total", endpoint="object-list", method="POST", status="207")
        == 1
    )
    assert (
        grew("exchange_http_requests_total", endpoint="object-detail", method="GET", status="404")
        == 1
    )
    assert "does-not-exist" not in after.text
    assert (
        grew("exchange_http_request_duration_seconds_count", endpoint="object-list", method="POST")
        == 1
    )


@pytest.mark.django_db
def test_it_counts_a_republished_object_as_present(
    scrape: Callable[[], Exposition], lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    client = client_for(lab_a, "publish")
    indicator = samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}")
    assert (
        client.post("/api/v1/objects/", samples.bundle(indicator), format="json").status_code < 300
    )
    before = scrape()
    assert (
        client.post("/api/v1/objects/", samples.bundle(indicator), format="json").status_code < 300
    )
    after = scrape()
    labels = {"member": "lab-a", "channel": "rest"}
    present = after.value("exchange_objects_total", outcome="present", **labels) or 0
    assert present - (before.value("exchange_objects_total", outcome="present", **labels) or 0) == 1
    assert after.value("exchange_objects_total", outcome="accepted", **labels) == before.value(
        "exchange_objects_total", outcome="accepted", **labels
    )


@pytest.mark.django_db
def test_it_measures_taxii_pages_in_bytes(
    scrape: Callable[[], Exposition], lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    name = "exchange_taxii_page_bytes"
    before = scrape().value(f"{name}_count", endpoint="taxii-objects") or 0
    response = client_for(lab_a, "read").get(
        f"/feed/collections/{collection_default().id}/objects/",
        HTTP_ACCEPT="application/taxii+json;version=2.1",
    )
    assert response.status_code == 200, response.content
    after = scrape()
    assert after.value(f"{name}_count", endpoint="taxii-objects") == before + 1
    assert (after.value(f"{name}_sum", endpoint="taxii-objects") or 0) >= len(response.content)


@pytest.mark.urls("tests.exchange.observability.dropping_urls")
@pytest.mark.django_db(transaction=True)
def test_it_answers_503_with_retry_after_when_the_connection_drops_mid_publish_and_the_retry_stores(
    lab_a: Member,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(lab_a, 'publish')}")
    indicator = samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}")

    dropped = client.post("/api/v1/drill/objects/", samples.bundle(indicator), format="json")
    assert dropped.status_code == 503, dropped.content
    assert dropped["Content-Type"] == "application/json"
    assert dropped["Retry-After"] == "1"
    body = dropped.json()
    assert body["http_status"] == "503"
    assert body["error_code"] == "database_unavailable"
    assert body["details"] == {"retry_after": 1}

    retried = client.post("/api/v1/objects/", samples.bundle(indicator), format="json")
    assert retried.status_code == 200, retried.content
    assert retried.json()["refused"] == 0
    assert StixObject.objects.filter(stix_id=indicator["id"]).count() == 1
