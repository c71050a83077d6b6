"""exchange/taxii/base.py: authentication, scopes, unknown paths and methods, common to
every TAXII endpoint."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

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
from tests.factories import token_for


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
