"""The keyset page reader REST and TAXII share: every row once, within limit and budget."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.http import QueryDict
from rest_framework.test import APIClient

from exchange.api.pagination import Keyset, Page, page_fetch, rows_read
from members.models import Member
from signatures.models import StixObject
from tests import stix_samples as samples

BY_PK = Keyset(names=("pk",), kinds=(int,))


@pytest.fixture
def indicators(lab_a: Member, client_for: Callable[..., APIClient]) -> list[int]:
    """The pks of five stored indicators, in order."""
    base = samples.ip_range_indicator(lab_a.identity_id)
    objects = [dict(base, id=f"indicator--00000000-0000-4000-8000-{n:012d}") for n in range(5)]
    response = client_for(lab_a).post(
        "/api/v1/objects/", json.dumps(objects), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return list(
        StixObject.objects.filter(type="indicator").order_by("pk").values_list("pk", flat=True)
    )


def fetch(query: str, **kwargs: Any) -> Page:
    rows = StixObject.objects.filter(type="indicator")
    return page_fetch(rows, BY_PK, QueryDict(query), "stix_id", **{"default_limit": 2, **kwargs})


def test_it_walks_every_row_once_in_key_order(indicators: list[int]) -> None:
    page = fetch("")
    served = [pk for pk, _ in page.rows]
    while page.more:
        assert page.next is not None
        page = fetch(f"next={page.next}")
        served += [pk for pk, _ in page.rows]
    assert served == indicators
    assert page.next is None


def test_it_serves_the_default_without_limit_and_lowers_limit_to_the_maximum(
    indicators: list[int], settings: Any
) -> None:
    assert len(fetch("").rows) == 2
    settings.MAX_PAGE_SIZE = 3
    page = fetch("limit=999999999")
    assert [pk for pk, _ in page.rows] == indicators[:3] and page.more
    assert len(fetch("", default_limit=1000).rows) == 3


def test_it_stops_before_the_row_past_the_byte_budget(indicators: list[int], settings: Any) -> None:
    settings.MAX_PAGE_BYTES = 2 * len("indicator--00000000-0000-4000-8000-000000000000")
    page = fetch("limit=5")
    assert len(page.rows) == 2 and page.more
    settings.MAX_PAGE_BYTES = 1
    assert len(fetch("limit=5").rows) == 1  # at least one row, however large


def test_it_ends_with_an_empty_page_without_next(indicators: list[int]) -> None:
    page = fetch("limit=5")
    assert len(page.rows) == 5 and page.more is False and page.next is None
    last = page_fetch(StixObject.objects.none(), BY_PK, QueryDict(""), default_limit=5)
    assert last == Page(rows=[], more=False, next=None)


def test_it_reads_rows_as_values_list_does_with_timestamps_in_utc(indicators: list[int]) -> None:
    rows = StixObject.objects.filter(pk__in=indicators).order_by("pk")
    fields = rows.values_list("pk", "received_at", "raw", "revoked", "data")
    read = rows_read(fields)
    assert read == list(fields) and len(read) == len(indicators)
    assert all(row[1].utcoffset() == timedelta(0) for row in read)
    assert rows_read(StixObject.objects.none().values_list("pk")) == []
