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
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db.models import Model, QuerySet
from django.db.models.query import RawQuerySet

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
        rows = RawQuerySet(compiled.sql, model=self.model, params=tuple(params), using=using)
        return list(rows)

    def clear(self) -> None:
        with self._lock:
            self._compiled.clear()
