"""exchange/urls.py: the landing page at / points people to TAXII, the API docs and the console."""

from __future__ import annotations

import re

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_serves_a_landing_page_that_links_taxii_the_api_docs_and_the_console() -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    links = set(re.findall(r'href="([^"]+)"', response.content.decode()))
    assert {"/taxii2/", "/feed/", "/api/docs/", "/api/schema/", "/console/"} <= links
    assert "docs/integration-guide.md" in response.content.decode()


@pytest.mark.django_db
def test_every_link_of_the_landing_page_answers() -> None:
    client = Client()
    page = client.get("/").content.decode()
    for link in set(re.findall(r'href="(/[^"]*)"', page)):
        # TAXII needs a member's token; the console and the admin lead to their sign-in page.
        status = client.get(link, follow=True).status_code
        assert status in ({200, 401} if link in ("/taxii2/", "/feed/") else {200}), link
