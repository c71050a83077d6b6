"""Paging of collection entries (TAXII 2.1 section 3.5, ``limit`` / ``next``).

Every paged endpoint walks ``CollectionEntry`` in ``(date_added, id)`` order with the keyset
page reader the REST list shares (:mod:`exchange.api.pagination`: cost, cursors, the byte
budget). In that order a client paging while others publish sees every entry exactly once:
``date_added`` only grows within a collection and is assigned in commit order
(``objects_publish`` locks the collection row), so new entries always land after any cursor
already handed out. The order is an index range scan on ``entry_page`` /
``entry_page_latest`` / ``entry_type``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict

from exchange.api.pagination import Keyset, Page, page_fetch
from signatures.models import CollectionEntry

ENTRY_KEYSET: Final = Keyset(names=("date_added", "pk"), kinds=(datetime, int))


def timestamp_format(value: datetime) -> str:
    """A TAXII timestamp with exactly 6 fraction digits, as date_added is kept (µs)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entries_page(entries: QuerySet[CollectionEntry], params: QueryDict, *fields: Any) -> Page:
    """The page of ``entries`` that ``limit`` and ``next`` select; each row is
    ``(date_added, pk, *fields)``. Without ``limit`` a page holds the server maximum,
    MAX_PAGE_SIZE."""
    return page_fetch(entries, ENTRY_KEYSET, params, *fields, default_limit=settings.MAX_PAGE_SIZE)


def page_headers(page: Page) -> dict[str, str]:
    """X-TAXII-Date-Added-First/-Last (TAXII 2.1 section 3.5), absent on an empty page."""
    if not page.rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": timestamp_format(page.rows[0][0]),
        "X-TAXII-Date-Added-Last": timestamp_format(page.rows[-1][0]),
    }


def page_envelope(page: Page, key: str, items: list[Any]) -> dict[str, Any]:
    """The envelope (or versions resource): ``more``, ``next`` if more, and the items."""
    body: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        body["next"] = page.next
    if items:
        body[key] = items
    return body
