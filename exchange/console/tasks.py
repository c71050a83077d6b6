"""Celery tasks of the console: thin, as the fan-out's; safe to run twice."""

from __future__ import annotations

from celery import shared_task

from exchange.console.services.pool_counts import pool_count_if_due
from exchange.console.services.search_index import search_index_settle


@shared_task(name="console.search_index_settle", ignore_result=True)  # type: ignore[untyped-decorator]
def search_index_settle_task() -> int:
    """Merge the search index's pending entries (settings.CELERY_BEAT_SCHEDULE)."""
    return search_index_settle()


@shared_task(name="console.pool_count", ignore_result=True)  # type: ignore[untyped-decorator]
def pool_count_task() -> bool:
    """Recount the pool for the dashboard if it changed (settings.CELERY_BEAT_SCHEDULE)."""
    return pool_count_if_due()
