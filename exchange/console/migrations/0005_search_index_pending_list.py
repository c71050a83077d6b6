"""Keep the search index's upkeep off the publish path (docs/console.md, "Search").

GIN's fast update appends a publish's trigram entries to the index's pending list, cheap
and sequential, and merges them into the tree later. With the default 4 MB list the merge
falls in the publish that fills it, and at a million objects a 1,000-object publish spent
more than half its COPY in this index (bench/README.md, "Publish"). A 32 MB list, which the
periodic ``console.search_index_settle`` task empties, moves the merge out of publishing;
searches read the pending entries too, so nothing is missed meanwhile.
"""

from typing import Any

from django.db import migrations

SET = "ALTER INDEX IF EXISTS console_search_trgm SET (fastupdate = on, gin_pending_list_limit = 32768)"
RESET = "ALTER INDEX IF EXISTS console_search_trgm RESET (gin_pending_list_limit)"


def pending_list_enlarge(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SET)


def pending_list_reset(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESET)


class Migration(migrations.Migration):
    dependencies = [("console", "0004_pattern_and_sighting_indexes")]

    operations = [migrations.RunPython(pending_list_enlarge, pending_list_reset)]
