"""Counting the pool for the dashboard and the queue's corroboration sort.

Counting every object under the sharing policy takes the database seconds at 100,000
objects, too long for a page. The worker recounts (``console.pool_count``, every
CONSOLE_COUNT_SECONDS) and pages read the result. A pool small enough to count in
CONSOLE_COUNT_INLINE_SECONDS is recounted by the page that finds it changed, so a small
exchange, or one without a worker, is never behind.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from exchange.console import selectors
from exchange.console.models import CorroborationCount, PoolCount
from members.choices import MemberKind
from members.models import AuditEvent, Member
from signatures.models import CollectionEntry, StixObject

#: Days the dashboard's per-day chart shows.
DASHBOARD_DAYS = 14


def pool_mark(now: datetime) -> str:
    """What the pool looks like, cheaply: any publish, new entry, removed entry or audited
    change (collection grants, keys, triage) changes it, as does the day."""
    objects = StixObject.objects.aggregate(last=Max("pk"))
    entries = CollectionEntry.objects.aggregate(last=Max("pk"), n=Count("pk"))
    audited = AuditEvent.objects.aggregate(last=Max("pk"))
    return (
        f"{objects['last']}:{entries['last']}:{entries['n']}:{audited['last']}:"
        f"{now.date().isoformat()}"
    )


def _count_row_locked() -> PoolCount:
    """The one PoolCount row, locked until the transaction ends, so that two counts run
    one after the other (an empty row the first time)."""
    PoolCount.objects.get_or_create(
        pk=1, defaults={"counted_at": timezone.now(), "pool_mark": "", "counts": {}}
    )
    return PoolCount.objects.select_for_update().get(pk=1)


def pool_count(*, now: datetime | None = None, unless_unchanged: bool = False) -> PoolCount:
    """Count the pool again and keep the result: the dashboard's numbers and the
    corroboration of every queued object, in one transaction, so that a page reads the old
    count or the new one, never half of each. With ``unless_unchanged``, a pool that has not
    changed since the last count (perhaps made while this one waited) is not counted."""
    now = now or timezone.now()
    with transaction.atomic():
        counted = _count_row_locked()
        mark = pool_mark(now)
        if unless_unchanged and counted.pool_mark == mark:
            return counted
        started = time.perf_counter()
        forum = selectors.forum_member()
        corroborated = selectors.corroborated_objects(forum)
        counts = selectors.pool_counts(forum, corroborated, days=DASHBOARD_DAYS, now=now)
        CorroborationCount.objects.all().delete()
        CorroborationCount.objects.bulk_create(
            CorroborationCount(stix_id=stix_id, object_type=object_type, labs=labs)
            for stix_id, (object_type, labs) in corroborated.items()
        )
        counted.counted_at = now
        counted.duration = time.perf_counter() - started
        counted.pool_mark = mark
        counted.counts = counts.as_json()
        counted.save()
    return counted


def pool_count_if_due(*, now: datetime | None = None) -> bool:
    """The worker's recount: only when the pool changed, and no sooner than four times the
    last count's duration after it, so that counting a large pool keeps at most a fifth of
    a worker busy. Whether it counted."""
    now = now or timezone.now()
    if not Member.objects.filter(kind=MemberKind.FORUM).exists():
        return False  # before bootstrap there is no console to count for
    counted = selectors.pool_counted()
    if counted is not None:
        if counted.pool_mark == pool_mark(now):
            return False
        if now < counted.counted_at + timedelta(seconds=4 * counted.duration):
            return False
    return pool_count(now=now, unless_unchanged=True).counted_at == now


def pool_counted_for_page() -> PoolCount:
    """The count a page shows: counted now if there is none yet, or if it is stale and the
    pool small enough to count within CONSOLE_COUNT_INLINE_SECONDS; else the last count."""
    now = timezone.now()
    counted = selectors.pool_counted()
    if counted is None or (
        counted.duration <= settings.CONSOLE_COUNT_INLINE_SECONDS
        and counted.pool_mark != pool_mark(now)
    ):
        return pool_count(now=now, unless_unchanged=True)
    return counted
