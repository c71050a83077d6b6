"""exchange/taxii/api_roots.py: Get API Root Information (TAXII 2.1 section 4.2)."""

from __future__ import annotations

from collections.abc import Callable

from django.test import override_settings

from members.models import Member
from tests.exchange.taxii.conftest import TAXII, Taxii, assert_taxii_error


@override_settings(MAX_CONTENT_LENGTH=12345, TAXII_API_ROOTS=["feed", "labs"])
def test_it_describes_each_api_root(taxii_for: Callable[..., Taxii], lab_a: Member) -> None:
    for root in ("feed", "labs"):
        response = taxii_for(lab_a).get(f"/{root}/")
        assert response.status_code == 200 and response["Content-Type"] == TAXII
        body = response.json()
        assert body["versions"] == [TAXII]
        assert body["max_content_length"] == 12345
        assert root in body["title"]
    assert_taxii_error(taxii_for(lab_a).get("/other/"), 404)
