"""Inserting many rows of one model at once, at the database's own speed.

On PostgreSQL, Django 5.2's ``bulk_create`` sends each column as an array for ``UNNEST``,
and psycopg escapes every element of a text array in Python, one regular-expression
substitution per quote: for a 1,000-object bundle of STIX JSON that was most of the
publish transaction. COPY streams the rows instead, formatted by psycopg's C code. The
primary keys are drawn from the table's sequence first (one query), so the instances get
them as ``bulk_create`` would give them. Elsewhere (SQLite), ``bulk_create`` as it is.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import orjson
from django.db import connection, connections, models

ModelT = TypeVar("ModelT", bound=models.Model)

# Below this, one INSERT costs less than the extra sequence query.
_COPY_FROM = 16


def bulk_insert(instances: Sequence[ModelT]) -> list[ModelT]:
    """Insert ``instances`` (all of one model, not yet saved) and give each its pk."""
    if not instances:
        return []
    model = type(instances[0])
    if connection.vendor != "postgresql" or len(instances) < _COPY_FROM:
        return model._default_manager.bulk_create(instances)
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    readers = [_reader(field) for field in fields]
    pks = rows_copy(
        model,
        [_column(field) for field in fields],
        ([read(instance) for read in readers] for instance in instances),
        count=len(instances),
    )
    for pk, instance in zip(pks, instances, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias
    return list(instances)


def rows_copy(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, count: int
) -> list[int]:
    """COPY ``count`` rows of database values for ``columns`` into ``model``'s table on
    PostgreSQL; their new primary keys, in order."""
    meta = model._meta
    assert meta.pk is not None
    pk_column = _column(meta.pk)
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in [pk_column, *columns])
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk_column, count],
        )
        pks = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
            for pk, row in zip(pks, rows, strict=True):
                copy.write_row([pk, *row])
    return pks


def _column(field: models.Field[Any, Any]) -> str:
    # Only fields without a column (many-to-many) have None, and they are not concrete.
    assert field.column is not None
    return field.column


# Fields whose Python value psycopg writes as the column's own text form; the others go
# through Django's conversion (get_db_prep_save), as bulk_create would.
_AS_IS = frozenset(
    {
        "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField",
        "DateTimeField", "ForeignKey", "IntegerField", "PositiveIntegerField",
        "PositiveSmallIntegerField", "SlugField", "SmallIntegerField", "TextField",
    }
)  # fmt: skip


def _reader(field: models.Field[Any, Any]) -> Callable[[models.Model], Any]:
    if isinstance(field, models.JSONField):
        # COPY's text form of jsonb is the JSON text; orjson writes it in C.
        def json_text(instance: models.Model) -> Any:
            value = getattr(instance, field.attname)
            return None if value is None else orjson.dumps(value).decode()

        return json_text
    automatic = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if field.get_internal_type() in _AS_IS and not automatic:
        return operator.attrgetter(field.attname)
    real = connections[connection.alias]
    return lambda instance: field.get_db_prep_save(field.pre_save(instance, add=True), real)
