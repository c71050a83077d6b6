"""Upkeep of the console's search index on PostgreSQL (migration ``0005``).

Publishing appends each object's trigram entries to the GIN index's pending list; this
merges that list into the index, from the periodic task rather than in a publish.
"""

from __future__ import annotations

from django.db import connection

SEARCH_INDEX = "console_search_trgm"


def search_index_settle() -> int:
    """Merge the search index's pending entries; the pending pages it emptied (0 where
    there is no such index: SQLite, or PostgreSQL without pg_trgm)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [SEARCH_INDEX])
        (present,) = cursor.fetchone() or (False,)
        if not present:
            return 0
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_INDEX])
        (pages,) = cursor.fetchone() or (0,)
    return int(pages)
