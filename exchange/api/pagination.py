"""Keyset pagination, shared by the REST list and every paged TAXII endpoint (section 3.5).

A page walks its rows in the order of a :class:`Keyset`, from an opaque cursor that holds
the keys of the last row served (:mod:`exchange.api.cursors`), never an OFFSET:

- a page costs the same wherever it is: an index range scan from the cursor;
- the cursor holds no server state, so it never expires.

The cursor is a position only. Filters are not in it: a client re-sends them with ``next``
(taxii2-client's ``as_pages`` does) and they are applied to every page, so ``next`` with
``added_after`` means "after the cursor and after added_after".

A page is bounded in bytes as well as in rows: it stops before the row that would take it
past MAX_PAGE_BYTES (always serving at least one), with ``more`` and ``next`` so the client
goes on; TAXII 2.1 section 3.5 lets a server return fewer objects than ``limit``. Rows are
read in chunks sized from the bytes seen so far, so a page of large objects never holds
more than one chunk beyond its budget in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.http import QueryDict
from psycopg.types.datetime import TimestamptzLoader

from exchange.api.cursors import CursorKey, CursorKind, cursor_decode, cursor_encode
from exchange.api.query import limit_query, query_value


@dataclass(frozen=True, slots=True)
class Keyset:
    """The fields a page is ordered by, unique together, and the kind of each (its cursor)."""

    names: tuple[str, ...]
    kinds: tuple[CursorKind, ...]


@dataclass(frozen=True, slots=True)
class Page:
    """One page; each row is the keyset's fields, then the fields asked for."""

    rows: list[tuple[Any, ...]]
    more: bool
    #: The cursor of the next page, when there is one.
    next: str | None


#: Rows of the first chunk of a page: small enough that a chunk of the largest objects
#: stays a few times MAX_PAGE_BYTES, large enough that a page of ordinary objects (a few
#: kB) takes at most two queries.
FIRST_CHUNK_ROWS = 50


def row_bytes(row: tuple[Any, ...]) -> int:
    """What a row adds to a page: the UTF-8 size of its text fields (the stored objects)."""
    return sum(
        len(value) if value.isascii() else len(value.encode())
        for value in row
        if isinstance(value, str)
    )


def rows_read(rows: QuerySet[Any, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``list(rows)`` for a ``values_list`` of model fields, with PostgreSQL's timestamps
    read by psycopg's C loader.

    Django loads ``timestamptz`` with a loader of its own written in Python, about 1 µs a
    value: a millisecond a page of 1,000 rows that only needs the first and last of them.
    The loader it stands for differs only in where the time zone comes from, and both give
    UTC: Django sets the session's. Every other value goes through Django's converters as
    ``values_list`` would send it (SQLite's timestamps among them).
    """
    query = rows.query
    if query.extra_select or query.annotation_select or not rows._fields:  # type: ignore[attr-defined]
        return list(rows)
    compiler = query.get_compiler(using=rows.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    with compiler.connection.cursor() as cursor:
        if compiler.connection.vendor == "postgresql":
            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    return list(compiler.results_iter([fetched], tuple_expected=True))


def keyset_rows(
    ordered: QuerySet[Any, tuple[Any, ...]],
    keys: tuple[str, ...],
    after: tuple[CursorKey, ...] | None,
    limit: int,
) -> tuple[list[tuple[Any, ...]], bool]:
    """The rows after ``after`` within ``limit`` and MAX_PAGE_BYTES, and whether more follow.

    ``ordered`` is a ``values_list`` ordered by ``keys``, which are its first fields. The
    first row is always served, however large, so every page makes progress.
    """
    budget = settings.MAX_PAGE_BYTES
    rows: list[tuple[Any, ...]] = []
    used = 0
    chunk = min(limit + 1, FIRST_CHUNK_ROWS)
    while True:
        batch = ordered
        if after is not None:
            # A row comparison, e.g. (date_added, id) > (after, after_pk): PostgreSQL reads it as
            # the start of an index range. Spelled out as ">= X AND (> X OR id > Y)" it was
            # estimated at a few hundred rows where tens of thousands remained, and every one
            # of them was then joined and sorted (about 100 ms a page at 100,000 entries,
            # against 2 ms for 1,001 rows read in index order).
            batch = batch.filter(TupleGreaterThan(Tuple(*(F(key) for key in keys)), after))
        fetched = rows_read(batch[:chunk])
        for row in fetched:
            size = row_bytes(row)
            if len(rows) == limit or (rows and used + size > budget):
                return rows, True
            rows.append(row)
            used += size
        if len(fetched) < chunk:
            return rows, False
        after = fetched[-1][: len(keys)]
        # Enough rows of the average size seen to reach the budget, and one more to learn
        # whether the page ends there.
        average = max(1, used // len(rows))
        chunk = max(1, min(limit + 1 - len(rows), (budget - used) // average + 1))


def page_fetch(
    rows: QuerySet[Any], keyset: Keyset, params: QueryDict, *fields: Any, default_limit: int
) -> Page:
    """The page of ``rows`` that ``limit`` and ``next`` select, with ``fields`` per row.

    Without ``limit`` a page holds ``default_limit`` rows; ``limit`` is lowered to the
    server maximum, MAX_PAGE_SIZE, and a page stops early at MAX_PAGE_BYTES.
    """
    limit = limit_query(params, default=default_limit, maximum=settings.MAX_PAGE_SIZE)
    cursor = query_value(params, "next")
    after = cursor_decode(cursor, kinds=keyset.kinds) if cursor else None
    ordered = rows.order_by(*keyset.names).values_list(*keyset.names, *fields)
    found, more = keyset_rows(ordered, keyset.names, after, limit)
    next_cursor = cursor_encode(*found[-1][: len(keyset.names)]) if more else None
    return Page(found, more, next_cursor)
