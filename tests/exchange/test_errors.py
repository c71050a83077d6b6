"""API paths answer every error in the JSON envelope, even an unhandled exception (500)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from exchange.taxii.media import TAXII_MEDIA_TYPE
from tests.exchange.raising_urls import SECRET

ENVELOPE = {"title", "description", "http_status", "error_code"}


@pytest.fixture
def client() -> Client:
    # The default test client re-raises the view's exception instead of returning what
    # handler500 answered; a real client only ever sees the answer.
    return Client(raise_request_exception=False)


@pytest.mark.urls("tests.exchange.raising_urls")
@pytest.mark.parametrize(
    ("url", "media_type"),
    [
        ("/taxii2/failing/", TAXII_MEDIA_TYPE),
        ("/feed/failing/", TAXII_MEDIA_TYPE),
        ("/api/v1/failing/", "application/json"),
    ],
)
def test_it_answers_an_unhandled_exception_in_the_envelope_without_its_text(
    client: Client, url: str, media_type: str
) -> None:
    response = client.get(url)
    assert response.status_code == 500
    assert response["Content-Type"] == media_type
    body = json.loads(response.content)
    assert set(body) == ENVELOPE and body["http_status"] == "500"
    assert body["error_code"] == "server_error"
    assert SECRET.encode() not in response.content


@pytest.mark.urls("tests.exchange.raising_urls")
def test_it_keeps_the_html_page_for_a_console_failure(client: Client) -> None:
    response = client.get("/console/failing/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert SECRET.encode() not in response.content


@pytest.mark.urls("tests.exchange.raising_urls")
@pytest.mark.parametrize(
    ("url", "media_type"),
    [("/taxii2/missing/", TAXII_MEDIA_TYPE), ("/api/v1/missing/", "application/json")],
)
def test_it_answers_a_plain_views_404_in_the_envelope(
    client: Client, url: str, media_type: str
) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == media_type
    body = json.loads(response.content)
    assert set(body) == ENVELOPE and body["error_code"] == "not_found"
    assert SECRET.encode() not in response.content


def test_it_answers_too_many_api_parameters_with_a_json_400(client: Client) -> None:
    query = "&".join(f"type={n}" for n in range(1001))
    response = client.get(f"/api/v1/objects/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == ENVELOPE


@pytest.mark.urls("tests.exchange.raising_urls")
def test_it_keeps_the_html_404_page_for_the_console(client: Client) -> None:
    response = client.get("/console/missing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v2/objects/", "/api/", "/api/v1/"])
def test_it_answers_a_mistyped_rest_path_as_the_rest_api(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == ENVELOPE and body["error_code"] == "not_found"
    assert body["description"].startswith(f"The REST API has no endpoint at {path}.")
    assert "/api/docs/" in body["description"] and "API root" not in body["description"]
    # A POST too, without a CSRF token: the answer is the same 404, not Django's 403 page.
    posted = Client(enforce_csrf_checks=True).post(path, data="{}", content_type="application/json")
    assert posted.status_code == 404 and posted["Content-Type"] == "application/json"


def test_it_points_to_the_slash_a_rest_path_lacks(client: Client) -> None:
    response = client.get("/api/v1/members/me")
    assert response.status_code == 404
    assert json.loads(response.content)["description"] == (
        "The REST API's paths end with '/': /api/v1/members/me/"
    )


def test_it_still_answers_an_unknown_taxii_api_root_in_taxii(client: Client) -> None:
    response = client.get("/nope/collections/")
    assert response.status_code == 401  # TAXII asks who is calling before it says what is not
    assert response["Content-Type"] == TAXII_MEDIA_TYPE


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/taxii+json;version=2.1", TAXII_MEDIA_TYPE),
        ("application/json", "application/json"),
    ],
)
def test_it_answers_a_path_outside_every_api_in_the_envelope_a_json_client_asked_for(
    client: Client, accept: str, media_type: str
) -> None:
    # The first segment is no URL slug, so no API root route matches it.
    response = client.get("/no such root/collections/", HTTP_ACCEPT=accept)
    assert response.status_code == 404
    assert response["Content-Type"] == media_type
    assert set(json.loads(response.content)) == ENVELOPE


def test_it_keeps_the_html_404_page_for_a_browser_outside_every_api(client: Client) -> None:
    response = client.get("/no such page/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
