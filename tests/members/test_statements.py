"""Statements compiled once per shape answer exactly what the selector they wrap answers."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import QuerySet

from exchange.taxii.base import VISIBLE_COLLECTION
from members.models import Member
from members.statements import Statement, StatementUnsafe
from signatures.models import Collection
from signatures.selectors import collections_visible_to
from signatures.services import collection_create

KINDS = ["lab", "partner", "forum"]


@pytest.fixture
def collections(lab_a: Member, lab_b: Member, partner: Member) -> dict[str, Collection]:
    """Read and write for lab A, write-only for lab A, and one lab A may not see."""
    return {
        "read-write": collection_create(title="RW", readers=[lab_a, partner], writers=[lab_a]),
        "write-only": collection_create(title="WO", readers=[lab_b], writers=[lab_a]),
        "hidden": collection_create(title="Hidden", readers=[lab_b], writers=[lab_b]),
    }


@pytest.fixture
def caller(request: pytest.FixtureRequest, lab_a: Member, partner: Member, forum: Member) -> Member:
    member: Member = {"lab": lab_a, "partner": partner, "forum": forum}[request.param]
    return member


def visible(member: Member, collection: Collection) -> tuple[bool, bool] | None:
    """(can_read, can_write) through the statement, None when it finds nothing."""
    found = VISIBLE_COLLECTION.run(
        (member.kind,),
        member_pk=member.pk,
        identity_id=member.identity_id,
        api_root=collection.api_root,
        pk=collection.pk,
    )
    return (bool(found[0].can_read), bool(found[0].can_write)) if found else None


def selected(member: Member, collection: Collection) -> tuple[bool, bool] | None:
    """The same through the selector, compiled for this one call."""
    rows = collections_visible_to(member).filter(api_root=collection.api_root, pk=collection.pk)
    found = rows.first()
    return (found.can_read, found.can_write) if found else None


@pytest.mark.parametrize("caller", KINDS, indirect=True)
def test_it_answers_what_the_selector_answers_for_every_kind_of_caller(
    caller: Member, collections: dict[str, Collection]
) -> None:
    answers = {name: visible(caller, c) for name, c in collections.items()}
    assert answers == {name: selected(caller, c) for name, c in collections.items()}
    assert answers["read-write"] is not None  # each kind sees at least one


def test_it_tells_read_write_write_only_and_hidden_apart(
    lab_a: Member, collections: dict[str, Collection]
) -> None:
    assert visible(lab_a, collections["read-write"]) == (True, True)
    assert visible(lab_a, collections["write-only"]) == (False, True)
    assert visible(lab_a, collections["hidden"]) is None


@pytest.mark.parametrize("caller", KINDS, indirect=True)
def test_it_runs_the_sql_the_selector_compiles_with_the_callers_values(
    caller: Member, collections: dict[str, Collection]
) -> None:
    collection = collections["read-write"]
    values = {
        "member_pk": caller.pk,
        "identity_id": caller.identity_id,
        "api_root": collection.api_root,
        "pk": collection.pk,
    }
    compiled = VISIBLE_COLLECTION.compiled("default", (caller.kind,), values)
    params = list(compiled.params)
    for slot in compiled.slots:
        params[slot.index] = slot.form(values[slot.name])
    direct = collections_visible_to(caller).filter(api_root=collection.api_root, pk=collection.pk)
    sql, direct_params = direct[:1].query.sql_with_params()
    assert (compiled.sql, params) == (sql, list(direct_params))


def test_it_refuses_a_builder_whose_parameters_follow_no_named_value(db: None) -> None:
    def shifted(*, member_pk: int) -> QuerySet[Member]:
        return Member.objects.filter(pk=member_pk + 1)

    with pytest.raises(StatementUnsafe):
        Statement(Member, shifted).run((), member_pk=1)


def test_it_answers_nothing_for_a_query_that_can_match_nothing(lab_a: Member) -> None:
    def none(*, identity_id: str) -> QuerySet[Member]:
        return Member.objects.filter(identity_id=identity_id, pk__in=[])

    assert Statement(Member, none).run((), identity_id=lab_a.identity_id) == []


def test_it_keeps_one_statement_per_shape(lab_a: Member, forum: Member) -> None:
    def by_kind(kind: str, *, pk: uuid.UUID | int) -> QuerySet[Member]:
        return Member.objects.filter(kind=kind, pk=pk)

    statement = Statement(Member, by_kind)
    assert statement.run(("lab",), pk=lab_a.pk) == [lab_a]
    assert statement.run(("forum",), pk=forum.pk) == [forum]
    assert statement.run(("forum",), pk=lab_a.pk) == []


def test_it_prepares_each_statement_once_per_connection_on_postgresql(
    lab_a: Member, collections: dict[str, Collection]
) -> None:
    """PostgreSQL keeps the statement and its plan with the connection; the answers stay
    the selector's, and the query is logged with its values as any other."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL prepares statements")

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ['%"signatures_collection"."partners_read_amber_strict"%'],
            )
            return int(cursor.fetchone()[0])

    before = prepared()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            for collection in collections.values():
                assert visible(lab_a, collection) == selected(lab_a, collection)
    assert prepared() == before + 1
    logged = [query["sql"] for query in queries.captured_queries]
    assert any(collections["hidden"].pk.hex in sql for sql in logged)
