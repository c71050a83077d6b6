"""Counting the pool for the dashboard and the queue's corroboration sort.

Counting every object under the sharing policy takes the database seconds at 100,000
objects, too long for a page. The worker recounts (``console.pool_count``, every
CONSOLE_COUNT_SECONDS) and pages read the result. A pool small enough to count in
CONSOLE_COUNT_INLINE_SECONDS is recounted by the page that finds it changed, so a small
exchange, or one without a worker, is never behind.

One counter at a time: a count first claims the PoolCount row for a while, in a short
transaction, and counts outside any transaction, so that neither publishers (SQLite's one
writer) nor pages wait on it. Whoever finds the claim taken reads the last count instead.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from exchange.console import selectors
from exchange.console.models import CorroborationCount, PoolCount
from members.choices import MemberKind
from members.models import AuditEvent, Member
from signatures.models import CollectionEntry, StixObject

#: A pool never counted is counted by the page only if it holds no more objects than this:
#: about CONSOLE_COUNT_INLINE_SECONDS of counting (0.13 ms per object at 100,000, measured
#: by bench/console_bench.py). A larger one waits for the worker.
INLINE_FIRST_COUNT_OBJECTS = 4_000

#: How long a claim to count lasts at least: a counter that died frees it after this.
CLAIM_SECONDS = 60.0


def pool_mark(now: datetime) -> str:
    """What the pool looks like, cheaply (three index lookups): any publish, new entry or
    audited change (removed entries, collection grants, keys, triage) changes it, as does
    the day."""
    objects = StixObject.objects.aggregate(last=Max("pk"))
    entries = CollectionEntry.objects.aggregate(last=Max("pk"))
    audited = AuditEvent.objects.aggregate(last=Max("pk"))
    return f"{objects['last']}:{entries['last']}:{audited['last']}:{now.date().isoformat()}"


def _count_row_locked() -> PoolCount:
    """The one PoolCount row (empty the first time), locked until the transaction ends."""
    PoolCount.objects.get_or_create(
        pk=1, defaults={"counted_at": timezone.now(), "pool_mark": "", "counts": {}}
    )
    return PoolCount.objects.select_for_update().get(pk=1)


def _last(row: PoolCount) -> PoolCount | None:
    return row if row.pool_mark else None


def pool_count(*, now: datetime | None = None, unless_unchanged: bool = False) -> PoolCount | None:
    """Count the pool again and keep the result: the dashboard's numbers and the
    corroboration of every queued object, written in one transaction, so that a page reads
    the old count or the new one, never half of each.

    The count kept afterwards: this one; or the last one (None if there is none yet) when
    another counter holds the claim, or, with ``unless_unchanged``, when the pool has not
    changed since it was counted.
    """
    now = now or timezone.now()
    mark = pool_mark(now)
    with transaction.atomic():
        row = _count_row_locked()
        if unless_unchanged and row.pool_mark == mark:
            return row
        if row.counting_until is not None and row.counting_until > now:
            return _last(row)
        row.counting_until = now + timedelta(seconds=max(CLAIM_SECONDS, 4 * row.duration))
        row.save(update_fields=["counting_until"])
    try:
        started = time.perf_counter()
        forum = selectors.forum_member()
        corroborated = selectors.corroborated_objects(forum)
        counts = selectors.pool_counts(forum, corroborated, days=selectors.DASHBOARD_DAYS, now=now)
        duration = time.perf_counter() - started
        with transaction.atomic():
            row = _count_row_locked()
            CorroborationCount.objects.all().delete()
            CorroborationCount.objects.bulk_create(
                CorroborationCount(stix_id=stix_id, object_type=object_type, labs=labs)
                for stix_id, (object_type, labs) in corroborated.items()
            )
            row.counted_at = now
            row.duration = duration
            row.pool_mark = mark
            row.counts = counts.as_json()
            row.counting_until = None
            row.save()
    except BaseException:
        PoolCount.objects.filter(pk=row.pk).update(counting_until=None)
        raise
    return row


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
    kept = pool_count(now=now, unless_unchanged=True)
    return kept is not None and kept.counted_at == now


def pool_counted_for_page() -> PoolCount | None:
    """The count a page shows: the last count, recounted first if the pool changed and the
    last count took no more than CONSOLE_COUNT_INLINE_SECONDS; a pool never counted is
    counted first if it is small. None while a large pool waits for the worker's first
    count."""
    now = timezone.now()
    counted = selectors.pool_counted()
    if counted is None:
        if StixObject.objects.all()[: INLINE_FIRST_COUNT_OBJECTS + 1].count() > (
            INLINE_FIRST_COUNT_OBJECTS
        ):
            return None
        return pool_count(now=now, unless_unchanged=True)
    if counted.duration <= settings.CONSOLE_COUNT_INLINE_SECONDS and (
        counted.pool_mark != pool_mark(now)
    ):
        return pool_count(now=now, unless_unchanged=True) or counted
    return counted
