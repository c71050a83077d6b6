"""The console's periodic task runs its service and is scheduled."""

from __future__ import annotations

import pytest
from django.conf import settings

from exchange.console.tasks import pool_count_task, search_index_settle_task
from tests.conftest import FORUM_ID
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_the_search_index_task_is_scheduled_under_its_name() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["console-search-index-settle"]
    assert entry["task"] == search_index_settle_task.name == "console.search_index_settle"


def test_the_search_index_task_merges_what_is_pending_and_then_finds_nothing() -> None:
    # Earlier tests' rolled-back publishes may have left pending pages (PostgreSQL);
    # whatever the first run merged, a second one finds nothing left.
    assert search_index_settle_task.apply().get() >= 0
    assert search_index_settle_task.apply().get() == 0


def test_the_pool_count_task_is_scheduled_under_its_name() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["console-pool-count"]
    assert entry["task"] == pool_count_task.name == "console.pool_count"


def test_the_pool_count_task_waits_for_the_forum_then_counts_once() -> None:
    assert pool_count_task.apply().get() is False  # before bootstrap: nothing to count for
    MemberFactory(name="forum", kind="forum", identity_id=FORUM_ID)
    assert pool_count_task.apply().get() is True
    assert pool_count_task.apply().get() is False
