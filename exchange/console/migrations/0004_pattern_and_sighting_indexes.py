"""Hash indexes for the console's corroboration reads on PostgreSQL (docs/console.md).

A queue page asks, for its 50 rows, which visible indicators share their patterns
(``data -> 'pattern' IN (...)``) and which sightings name them (``data -> 'sighting_of_ref'
IN (...)``, ``signatures.selectors.sightings_corroborating``). Without an index each is a
scan of the whole pool. Hash indexes, because a pattern may be longer than a B-tree entry
may hold, and these reads only ever compare for equality.
"""

from typing import Any

from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS console_stix_pattern ON signatures_stixobject
  USING hash ((data -> 'pattern')) WHERE type = 'indicator';
CREATE INDEX IF NOT EXISTS console_stix_sighting_of ON signatures_stixobject
  USING hash ((data -> 'sighting_of_ref')) WHERE type = 'sighting';
"""
DROP = """
DROP INDEX IF EXISTS console_stix_pattern;
DROP INDEX IF EXISTS console_stix_sighting_of;
"""


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("console", "0003_search_functions")]

    operations = [migrations.RunPython(create, drop)]
