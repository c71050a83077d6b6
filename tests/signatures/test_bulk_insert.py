"""bulk_insert: COPY on PostgreSQL, bulk_create elsewhere; the same rows and pks either way."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from members.models import Member
from signatures.bulk_insert import bulk_insert
from signatures.models import StixObject

MOMENT = dt.datetime(2026, 11, 20, 9, 30, 0, 123456, tzinfo=dt.UTC)


def _rows(member: Member, count: int, prefix: str = "a") -> list[StixObject]:
    rows = []
    for n in range(count):
        stix_id = f"indicator--00000000-0000-4000-8000-{prefix}{n:011d}"
        data = {"type": "indicator", "id": stix_id, "name": f'it\'s "{n}"\t\\ é \U0001f600'}
        rows.append(
            StixObject(
                stix_id=stix_id,
                type="indicator",
                version="2026-11-20T09:30:00.123Z",
                modified=MOMENT,
                created_by_ref=member.identity_id,
                revoked=n % 2 == 0,
                tlp="amber",
                raw=f'{{"id": "{stix_id}"}}',
                data=data,
                publisher=member,
                received_at=MOMENT,
            )
        )
    return rows


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 40])  # below and above the size COPY is used from
def test_it_stores_every_column_as_bulk_create_would_and_gives_each_instance_its_pk(
    lab_a: Member, count: int
) -> None:
    rows = bulk_insert(_rows(lab_a, count))
    assert all(row.pk is not None and not row._state.adding for row in rows)
    stored = {row.pk: row for row in StixObject.objects.filter(pk__in=[row.pk for row in rows])}
    assert len(stored) == count
    for row in rows:
        back = stored[row.pk]
        assert (back.stix_id, back.revoked, back.tlp, back.raw) == (
            row.stix_id,
            row.revoked,
            row.tlp,
            row.raw,
        )
        assert back.data == row.data  # JSON with quotes, escapes and non-BMP text
        assert back.modified == MOMENT and back.received_at == MOMENT
        assert back.publisher_id == lab_a.pk


@pytest.mark.django_db
def test_it_queries_a_copied_json_column_as_json(lab_a: Member) -> None:
    bulk_insert(_rows(lab_a, 40))
    assert StixObject.objects.filter(data__name__startswith="it's").count() == 40


@pytest.mark.django_db
def test_it_answers_nothing_for_no_rows() -> None:
    assert bulk_insert([]) == []


@pytest.mark.django_db
def test_it_raises_djangos_integrity_error_on_a_constraint(lab_a: Member) -> None:
    """The publish path retries on IntegrityError: COPY's errors must be Django's too."""
    bulk_insert(_rows(lab_a, 20, prefix="b"))
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(_rows(lab_a, 20, prefix="b"))


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_it_draws_pks_from_the_tables_sequence(lab_a: Member) -> None:
    first = bulk_insert(_rows(lab_a, 20, prefix="c"))
    later = StixObject.objects.create(
        stix_id="indicator--00000000-0000-4000-8000-d00000000001",
        type="indicator",
        raw="{}",
        data={},
        publisher=lab_a,
    )
    assert later.pk > max(row.pk for row in first)
