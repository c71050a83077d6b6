"""The queue's search on PostgreSQL (exchange/console/search.py, docs/console.md "Search").

Two immutable functions over a stored object and an index on each:

- ``console_stix_inet(type, data)``: the address or network an ipv4-addr/ipv6-addr
  observable names, or the first one an indicator's pattern compares, as ``inet`` (NULL
  otherwise, and for text that is no address). A GiST index (``inet_ops``) answers
  ``&&``, "contains or is contained by", so a search for an address finds the ranges
  around it and a search for a range the addresses inside.
- ``console_search_text(data)``: the lower-cased id, name, description, pattern, value,
  prompt hash and payment fingerprint. With pg_trgm (a trusted extension from PostgreSQL
  13, so the database owner may create it) a GIN trigram index answers ``LIKE '%…%'``;
  without it the search still works, by a scan.

Nothing is created on SQLite, where the console searches without them.
"""

from typing import Any

from django.db import migrations, transaction

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION console_stix_inet(object_type text, data jsonb) RETURNS inet
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  candidate text;
BEGIN
  IF object_type IN ('ipv4-addr', 'ipv6-addr') THEN
    candidate := data ->> 'value';
  ELSIF object_type = 'indicator' THEN
    candidate := substring(
      data ->> 'pattern'
      from '(?i)ipv[46]-addr:value\s+(?:=|ISSUBSET)\s+''([0-9A-Fa-f:./]+)'''
    );
  END IF;
  IF candidate IS NULL THEN
    RETURN NULL;
  END IF;
  -- Only rows that name something address-like enter this block (and its subtransaction).
  BEGIN
    RETURN candidate::inet;
  EXCEPTION WHEN invalid_text_representation OR invalid_parameter_value THEN
    RETURN NULL;
  END;
END
$$;

CREATE OR REPLACE FUNCTION console_search_text(data jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(
    coalesce(data ->> 'id', '') || ' ' || coalesce(data ->> 'name', '') || ' ' ||
    coalesce(data ->> 'description', '') || ' ' || coalesce(data ->> 'pattern', '') || ' ' ||
    coalesce(data ->> 'value', '') || ' ' || coalesce(data ->> 'normalized_sha256', '') || ' ' ||
    coalesce(data ->> 'fingerprint', '') || ' '
  )
$$;

CREATE INDEX IF NOT EXISTS console_stix_inet ON signatures_stixobject
  USING gist (console_stix_inet(type, data) inet_ops);
"""

TRIGRAM = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS console_search_trgm ON signatures_stixobject
  USING gin (console_search_text(data) gin_trgm_ops);
"""

DROP = """
DROP INDEX IF EXISTS console_search_trgm;
DROP INDEX IF EXISTS console_stix_inet;
DROP FUNCTION IF EXISTS console_search_text(jsonb);
DROP FUNCTION IF EXISTS console_stix_inet(text, jsonb);
"""


def create(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS)
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(TRIGRAM)
    except Exception as exc:  # noqa: BLE001 - any refusal leaves the search unindexed
        print(f"\n  console search: no trigram index ({exc}); text search scans.")  # noqa: T201


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0002_analyst_and_admin_roles"),
        ("signatures", "0005_outbox_entry_moved_from_fanout"),
    ]

    operations = [migrations.RunPython(create, drop)]
