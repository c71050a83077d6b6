"""exchange/taxii/discovery.py: Server Discovery (TAXII 2.1 section 4.1)."""

from __future__ import annotations

from collections.abc import Callable

from django.test import override_settings
from rest_framework.test import APIClient

from members.models import Member
from tests.exchange.taxii.conftest import TAXII, Taxii


@override_settings(SITE_URL="https://isac.example", TAXII_API_ROOTS=["feed", "labs"])
def test_it_answers_discovery_with_every_api_root(
    taxii_for: Callable[..., Taxii], lab_a: Member
) -> None:
    response = taxii_for(lab_a).get("/taxii2/")
    assert response.status_code == 200 and response["Content-Type"] == TAXII
    body = response.json()
    assert body["title"]
    assert body["default"] == "https://isac.example/feed/"
    assert body["api_roots"] == ["https://isac.example/feed/", "https://isac.example/labs/"]


@override_settings(SITE_URL="", TAXII_API_ROOTS=["feed"])
def test_it_answers_discovery_at_the_address_it_was_reached_without_site_url(
    client_for: Callable[..., APIClient], lab_a: Member
) -> None:
    response = client_for(lab_a).get("/taxii2/", HTTP_HOST="localhost:8766", HTTP_ACCEPT=TAXII)
    assert response.status_code == 200
    assert response.json()["api_roots"] == ["http://localhost:8766/feed/"]


@override_settings(TAXII_TITLE="Test exchange", TAXII_CONTACT="soc@isac.example")
def test_it_names_the_contact_when_one_is_set(
    taxii_for: Callable[..., Taxii], lab_a: Member
) -> None:
    body = taxii_for(lab_a).get("/taxii2/").json()
    assert (body["title"], body["contact"]) == ("Test exchange", "soc@isac.example")


@override_settings(TAXII_CONTACT="", TAXII_API_ROOTS=[])
def test_it_leaves_out_contact_default_and_api_roots_when_there_are_none(
    taxii_for: Callable[..., Taxii], lab_a: Member
) -> None:
    body = taxii_for(lab_a).get("/taxii2/").json()
    assert set(body) == {"title", "description"}
