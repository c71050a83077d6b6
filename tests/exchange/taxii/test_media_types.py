"""Media types, content negotiation, errors and authentication, common to every endpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from members.models import Member
from signatures.models import Collection
from tests.exchange.taxii.conftest import TAXII, Taxii, collection_url, indicator
from tests.factories import token_for

ENDPOINTS = ["/taxii2/", "/feed/", "/feed/collections/"]


def assert_taxii_error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"] == TAXII
    body = json.loads(response.content)
    assert set(body) == {"title", "description", "http_status", "error_code"}
    assert body["http_status"] == str(status)
    return body


@pytest.mark.parametrize(
    "accept",
    [
        TAXII,
        "application/taxii+json; version=2.1",
        "application/taxii+json ;version=2.1",
        "Application/TAXII+JSON;Version=2.1",
        'application/taxii+json;version="2.1"',
        "application/taxii+json",
        "*/*",
        "application/*",
        "application/json",
        "text/html;q=0.9, application/taxii+json;version=2.1",
        "",
    ],
)
def test_it_answers_acceptable_accept_headers_in_the_taxii_media_type(
    taxii_for: Callable[..., Taxii], lab_a: Member, accept: str
) -> None:
    taxii = taxii_for(lab_a)
    for url in ENDPOINTS:
        response = taxii.get(url, accept=accept)
        assert response.status_code == 200, (url, accept, response.content)
        assert response["Content-Type"] == TAXII


@pytest.mark.parametrize(
    "accept",
    [
        "application/taxii+json;version=2.0",
        "application/taxii+json;version=20",
        "application/stix+json;version=2.1",
        "text/html",
        "application/xml",
        "application/taxii+json;version=2.1;q=0",
    ],
)
def test_it_answers_406_to_an_unacceptable_accept_header(
    taxii_for: Callable[..., Taxii], lab_a: Member, accept: str
) -> None:
    response = taxii_for(lab_a).get("/feed/collections/", accept=accept)
    body = assert_taxii_error(response, 406)
    assert "application/taxii+json;version=2.1" in body["description"]


@pytest.mark.parametrize(
    "content_type",
    [
        TAXII,
        "application/taxii+json; version=2.1",
        "APPLICATION/TAXII+JSON;VERSION=2.1",
        "application/taxii+json",
        "application/stix+json;version=2.1",
    ],
)
def test_it_accepts_a_post_in_the_taxii_media_type(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection, content_type: str
) -> None:
    body = {"objects": [indicator(lab_a.identity_id, 1)]}
    response = taxii_for(lab_a).post(collection_url(shared, "objects/"), body, content_type)
    assert response.status_code == 202, response.content
    assert response["Content-Type"] == TAXII


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/taxii+json;version=2.0",
        "application/stix+json;version=2.0",
        "text/plain",
        "application/x-www-form-urlencoded",
    ],
)
def test_it_answers_415_to_a_post_of_another_media_type(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection, content_type: str
) -> None:
    body = {"objects": [indicator(lab_a.identity_id, 1)]}
    response = taxii_for(lab_a).post(collection_url(shared, "objects/"), body, content_type)
    assert_taxii_error(response, 415)


@override_settings(MAX_CONTENT_LENGTH=2000)
def test_it_answers_413_above_max_content_length(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    taxii = taxii_for(lab_a)
    assert taxii.get("/feed/").json()["max_content_length"] == 2000
    body = {"objects": [indicator(lab_a.identity_id, n) for n in range(10)]}
    assert len(json.dumps(body)) > 2000
    assert_taxii_error(taxii.post(collection_url(shared, "objects/"), body), 413)


@override_settings(MAX_OBJECTS_PER_REQUEST=2)
def test_it_answers_413_above_the_object_count_limit(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    body = {"objects": [indicator(lab_a.identity_id, n) for n in range(3)]}
    assert_taxii_error(taxii_for(lab_a).post(collection_url(shared, "objects/"), body), 413)


def test_it_answers_400_to_malformed_json_and_to_a_body_without_objects(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    taxii = taxii_for(lab_a)
    url = collection_url(shared, "objects/")
    assert_taxii_error(taxii.post(url, b'{"objects": ['), 400)
    assert_taxii_error(taxii.post(url, b'{"objects": [], "objects": []}'), 400)
    assert_taxii_error(taxii.post(url, {"type": "indicator"}), 400)


@pytest.mark.parametrize("url", [*ENDPOINTS, "/feed/status/0b1e4a7c-0000-4000-8000-000000000000/"])
def test_it_answers_401_with_www_authenticate_without_credentials(db: None, url: str) -> None:
    response = APIClient().get(url, HTTP_ACCEPT=TAXII)
    assert_taxii_error(response, 401)
    assert "Basic" in response["WWW-Authenticate"]


def test_it_answers_401_to_a_wrong_password(lab_a: Member) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"lab-a:nope").decode())
    assert_taxii_error(client.get("/feed/", HTTP_ACCEPT=TAXII), 401)


def test_it_accepts_basic_authentication_with_a_token_as_password(lab_a: Member) -> None:
    raw = token_for(lab_a, "read")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"lab-a:{raw}".encode()).decode()
    )
    assert client.get("/feed/", HTTP_ACCEPT=TAXII).status_code == 200


def test_it_needs_the_read_scope_to_get_and_publish_to_post(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    body = {"objects": [indicator(lab_a.identity_id, 1)]}
    assert_taxii_error(taxii_for(lab_a, "publish").get("/feed/collections/"), 403)
    assert_taxii_error(taxii_for(lab_a, "read").post(collection_url(shared, "objects/"), body), 403)
    url = collection_url(shared, f"objects/{body['objects'][0]['id']}/")
    assert taxii_for(lab_a, "read").client.delete(url, HTTP_ACCEPT=TAXII).status_code == 403


def test_it_answers_unknown_paths_and_api_roots_with_a_taxii_404(
    taxii_for: Callable[..., Taxii], lab_a: Member
) -> None:
    taxii = taxii_for(lab_a)
    assert_taxii_error(taxii.get("/nowhere/"), 404)
    assert_taxii_error(taxii.get("/nowhere/collections/"), 404)
    assert_taxii_error(taxii.get("/feed/no/such/path/"), 404)
    assert_taxii_error(taxii.get("/taxii2/extra/"), 404)


def test_it_answers_405_to_an_unsupported_method(
    taxii_for: Callable[..., Taxii], lab_a: Member
) -> None:
    assert_taxii_error(taxii_for(lab_a).post("/feed/collections/", {"objects": []}), 405)
