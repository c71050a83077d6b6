"""exchange/taxii/media.py: media types and content negotiation (TAXII 2.1 section 1.6.8),
and its strict JSON parser, common to every endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import override_settings

from members.models import Member
from signatures.models import Collection
from tests.exchange.taxii.conftest import (
    ENDPOINTS,
    TAXII,
    Taxii,
    assert_taxii_error,
    collection_url,
    indicator,
)


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


@pytest.mark.parametrize("declared", ["\u00b2", "\u0663\u0660"])
def test_it_reads_a_content_length_of_unicode_digits_without_failing(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection, declared: str
) -> None:
    body = json.dumps({"objects": [indicator(lab_a.identity_id, 1)]})
    response = taxii_for(lab_a).client.generic(
        "POST",
        collection_url(shared, "objects/"),
        body,
        content_type=TAXII,
        HTTP_ACCEPT=TAXII,
        CONTENT_LENGTH=declared,
    )
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/taxii+json")


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


def test_it_names_the_taxii_media_type_in_a_415(
    taxii_for: Callable[..., Taxii], lab_a: Member, shared: Collection
) -> None:
    body = {"objects": [indicator(lab_a.identity_id, 1)]}
    response = taxii_for(lab_a).post(collection_url(shared, "objects/"), body, "application/json")
    assert response.status_code == 415
    assert response.json()["description"].endswith("This endpoint takes: application/taxii+json.")
