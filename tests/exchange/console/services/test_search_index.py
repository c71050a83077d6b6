"""search_index_settle: what publishes append to the search index's pending list is merged
by the periodic task, and searches find the objects before and after."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from exchange.console.search import search
from exchange.console.services.search_index import search_index_settle
from members.models import Member
from signatures.models import StixObject
from tests import stix_samples
from tests.exchange.console.conftest import publish

pytestmark = pytest.mark.django_db


def _indicators(member: Member, count: int) -> list[dict[str, object]]:
    return [
        stix_samples.ip_range_indicator(
            member.identity_id, id=f"indicator--{uuid.uuid4()}", name=f"cadence farm {n}"
        )
        for n in range(count)
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL GIN index")
def test_it_merges_the_pages_publishes_appended_and_then_has_nothing_to_merge(
    lab_a: Member,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('console_search_trgm') IS NOT NULL")
        if not cursor.fetchone()[0]:
            pytest.skip("pg_trgm is not available to this database")
    publish(lab_a, *_indicators(lab_a, 60))
    found_before = search(StixObject.objects.all(), "cadence farm 59").count()
    assert search_index_settle() > 0
    assert search_index_settle() == 0
    assert found_before == search(StixObject.objects.all(), "cadence farm 59").count() == 1


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite has no such index")
def test_it_has_nothing_to_do_without_the_index() -> None:
    assert search_index_settle() == 0
