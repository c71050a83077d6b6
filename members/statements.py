"""Read queries compiled once per shape, then run with each request's values.

Building a queryset and compiling it costs more than running it: the collection lookup
with the caller's permissions (``collections_visible_to``) takes about 2 ms of Python to
build and compile, and PostgreSQL answers it in 0.1 ms. A :class:`Statement` builds its
queryset from stand-in values once per shape, compiles it, and remembers where each
stand-in landed among the SQL parameters; later calls put the request's values there and
run the same SQL. The queryset still comes from the selector the ORM path calls, so who
may see what stays decided in one place (``signatures/selectors.py``).

A statement is built twice, from two different sets of stand-ins, before it is kept. A
parameter that differs between the two builds must be one of the stand-ins; one equal in
both is a constant of the shape. A builder that read anything the shape and the values do
not name (a value the stand-ins cannot reach) is refused with ``StatementUnsafe``, rather
than run with what the first caller happened to have.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import RawQuerySet
from django.db.models.sql.query import RawQuery

M = TypeVar("M", bound=Model)


class StatementUnsafe(Exception):
    """The builder's SQL depends on something its shape and values do not name."""


#: How a value may appear among the parameters Django compiles: as it is, or as the text a
#: backend without a native type stores (SQLite's UUIDs are their hex).
_FORMS: tuple[Callable[[Any], Any], ...] = (lambda v: v, lambda v: v.hex, str)


def _stand_in(value: Any, round_: int, position: int) -> Any:
    """A value of ``value``'s type that no request sends and no other stand-in equals."""
    salt = 7_919 * (round_ + 1) + position
    if isinstance(value, bool):
        raise StatementUnsafe("booleans cannot stand in; make them part of the shape")
    if isinstance(value, int):
        return -(10**15) - salt
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=(0x5747 << 112) | salt)
    if isinstance(value, str):
        return f"\x1fstand-in {salt}\x1f"
    raise StatementUnsafe(f"no stand-in for a {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class _Slot:
    index: int
    name: str
    form: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[_Slot, ...]
    empty: bool


def _compile(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...], bool]:
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return "", (), True
    return sql, tuple(params), False


def _slots(
    first: tuple[Any, ...], second: tuple[Any, ...], ins: list[dict[str, Any]]
) -> tuple[_Slot, ...]:
    if len(first) != len(second):
        raise StatementUnsafe("the two builds compiled to different parameter lists")
    slots: list[_Slot] = []
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        found = [
            _Slot(index, name, form)
            for name in ins[0]
            for form in _FORMS
            if _same(form, ins[0][name], a) and _same(form, ins[1][name], b)
        ]
        if found:
            slots.append(found[0])
        elif a != b or type(a) is not type(b):
            raise StatementUnsafe(f"parameter {index} ({a!r}) follows no named value")
    return tuple(slots)


def _same(form: Callable[[Any], Any], stand_in: Any, param: Any) -> bool:
    try:
        formed = form(stand_in)
    except AttributeError:
        return False
    return type(formed) is type(param) and formed == param


class _Preparing:
    """A psycopg cursor with server-side binding that prepares what it runs."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Any = None) -> Any:
        return self._cursor.execute(sql, params, prepare=True)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _PreparedQuery(RawQuery):
    """On PostgreSQL, a statement is prepared once per connection and then only executed.

    Planning is most of what these small lookups cost the database: at 1,000,000 objects
    PostgreSQL plans an object's entries in about 5 ms and runs the plan in 0.4 ms. A
    prepared statement is planned for its values a few times, then (when the plan does not
    depend on them, as here) runs a plan kept with the connection. Django's own cursors
    bind values on the client, which rules that out; this one binds on the server. It still
    goes through Django's cursor wrapper, so that its errors and execute wrappers are as
    any other query's, and it is logged where Django logs queries.
    """

    def clone(self, using: str) -> _PreparedQuery:
        return _PreparedQuery(self.sql, using, params=self.params)

    def _execute_query(self) -> None:
        connection = connections[self.using]
        if connection.vendor != "postgresql":
            super()._execute_query()  # type: ignore[misc]  # not in the stubs
            return
        import psycopg  # only the PostgreSQL backend needs it

        # As Django's own cursor() does: a persistent connection the server dropped (a
        # failover) is replaced before the first query of a request, not failed.
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        self.cursor = connection.make_cursor(
            _Preparing(psycopg.Cursor(connection.connection))  # type: ignore[arg-type]
        )
        started = time.monotonic()
        self.cursor.execute(self.sql, self.params)
        if connection.queries_logged:  # as Django's debug cursor logs, with the values in
            connection.queries_log.append(
                {
                    "sql": cast(Any, connection.ops).compose_sql(self.sql, self.params),
                    "time": f"{time.monotonic() - started:.3f}",
                }
            )


class Statement(Generic[M]):
    """``build(*shape, **values)``, compiled once per shape; :meth:`run` answers model rows.

    ``shape`` holds what changes the SQL itself (a member's kind, which filters are set);
    ``values`` what only changes its parameters (ints, strings, UUIDs).
    """

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]]) -> None:
        self.model = model
        self.build = build
        self._compiled: dict[tuple[str, Hashable], _Compiled] = {}
        self._lock = threading.Lock()

    def compiled(
        self, using: str, shape: tuple[Hashable, ...], values: dict[str, Any]
    ) -> _Compiled:
        key = (using, (shape, tuple(sorted(values))))
        found = self._compiled.get(key)
        if found is not None:
            return found
        ins = [
            {name: _stand_in(value, round_, n) for n, (name, value) in enumerate(values.items())}
            for round_ in range(2)
        ]
        (sql, first, empty), (sql_2, second, empty_2) = (
            _compile(self.build(*shape, **stand_ins).using(using)) for stand_ins in ins
        )
        if sql != sql_2 or empty != empty_2:
            raise StatementUnsafe("the two builds compiled to different SQL")
        if any(str(value) in sql for stand_ins in ins for value in stand_ins.values()):
            raise StatementUnsafe("a value was written into the SQL text")
        compiled = _Compiled(sql, first, _slots(first, second, ins), empty)
        with self._lock:
            self._compiled[key] = compiled
        return compiled

    def run(self, shape: tuple[Hashable, ...], using: str = "default", **values: Any) -> list[M]:
        """The rows ``build(*shape, **values)`` selects, as instances with its annotations."""
        compiled = self.compiled(using, shape, values)
        if compiled.empty:
            return []
        params = list(compiled.params)
        for slot in compiled.slots:
            params[slot.index] = slot.form(values[slot.name])
        query = _PreparedQuery(compiled.sql, using, params=tuple(params))
        return list(
            RawQuerySet(compiled.sql, model=self.model, query=query, using=using)  # type: ignore[arg-type]
        )

    def clear(self) -> None:
        with self._lock:
            self._compiled.clear()
