"""Counting the pool: the corroboration kept for the queue's sort and the dashboard is
exactly what the console's one rule says, and a count is made only when it is due."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from exchange.console.models import CorroborationCount, PoolCount
from exchange.console.selectors import (
    QUEUE_TYPES,
    corroboration,
    forum_member,
    visible_objects,
)
from exchange.console.services import pool_counts
from exchange.console.services.pool_counts import (
    pool_count,
    pool_count_if_due,
    pool_counted_for_page,
)
from members.models import Member
from signatures import selectors as signatures_selectors
from signatures.sdk.constants import TLP2_BY_LEVEL
from tests import stix_samples
from tests.exchange.console.conftest import publish

pytestmark = pytest.mark.django_db


def counted(kept_count: PoolCount | None) -> PoolCount:
    assert kept_count is not None
    return kept_count


def kept() -> dict[str, int]:
    return dict(CorroborationCount.objects.values_list("stix_id", "labs"))


def counted_afresh() -> dict[str, int]:
    """corroboration() asked about every queued object at its newest version."""
    forum = forum_member()
    latest = list(visible_objects(forum).filter(type__in=QUEUE_TYPES).latest_versions())
    return {stix_id: len(labs) for stix_id, labs in corroboration(forum, latest).items() if labs}


def test_it_keeps_the_corroboration_the_console_shows(slice_ids: dict[str, str]) -> None:
    pool_count()
    assert kept() == counted_afresh()
    # lab-a's range: lab-b published the same pattern and sighted it; lab-b's copy of the
    # pattern: lab-a published it.
    assert kept() == {slice_ids["range"]: 1, slice_ids["same_pattern"]: 1}
    counts = PoolCount.objects.get().counts
    assert (counts["indicators"], counts["corroborated"]) == (4, 2)


def test_it_counts_an_observable_whose_pattern_another_lab_published(
    slice_ids: dict[str, str], lab_a: Member, lab_b: Member
) -> None:
    observable = stix_samples.ipv4_range("192.0.2.0/24")
    publish(lab_a, observable)
    publish(
        lab_b,
        stix_samples.ip_range_indicator(
            lab_b.identity_id,
            id=f"indicator--{uuid.uuid4()}",
            pattern="[ipv4-addr:value ISSUBSET '192.0.2.0/24']",
        ),
    )
    pool_count()
    assert kept()[observable["id"]] == 1
    assert kept() == counted_afresh()


def test_it_never_counts_what_the_forum_may_not_read(
    slice_ids: dict[str, str], lab_b: Member
) -> None:
    """A TLP:RED copy of lab-a's prompt pattern, by another lab, names only its own
    recipients: it corroborates nothing for the Forum."""
    prompt = visible_objects(forum_member()).get(stix_id=slice_ids["prompt"])
    publish(
        lab_b,
        stix_samples.ip_range_indicator(
            lab_b.identity_id,
            id=f"indicator--{uuid.uuid4()}",
            pattern=prompt.data["pattern"],
            object_marking_refs=[TLP2_BY_LEVEL["red"]],
        ),
    )
    pool_count()
    assert slice_ids["prompt"] not in kept()
    assert kept() == counted_afresh()


def test_it_counts_again_only_when_the_pool_changed_and_the_wait_is_over(
    slice_ids: dict[str, str], lab_a: Member
) -> None:
    first = counted(pool_count())
    assert not pool_count_if_due()
    publish(
        lab_a,
        stix_samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}"),
    )
    PoolCount.objects.update(duration=60.0)  # as if the last count took a minute
    assert not pool_count_if_due(now=first.counted_at + timedelta(minutes=3))
    assert pool_count_if_due(now=first.counted_at + timedelta(minutes=5))
    assert PoolCount.objects.get().counts["indicators"] == 5


def test_a_page_counts_a_small_stale_pool_and_leaves_a_large_one_to_the_worker(
    slice_ids: dict[str, str], lab_a: Member
) -> None:
    first = counted(pool_counted_for_page())
    assert counted(pool_counted_for_page()).counted_at == first.counted_at  # unchanged: kept
    publish(
        lab_a,
        stix_samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}"),
    )
    with override_settings(CONSOLE_COUNT_INLINE_SECONDS=-1):
        assert counted(pool_counted_for_page()).counts["indicators"] == 4
    assert counted(pool_counted_for_page()).counts["indicators"] == 5


def test_a_page_leaves_the_first_count_of_a_large_pool_to_the_worker(
    slice_ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_counts, "INLINE_FIRST_COUNT_OBJECTS", 3)
    assert pool_counted_for_page() is None
    assert not PoolCount.objects.exclude(pool_mark="").exists()
    assert pool_count_if_due()
    assert counted(pool_counted_for_page()).counts["indicators"] == 4


def test_one_counter_at_a_time_and_a_claim_lapses(slice_ids: dict[str, str], lab_a: Member) -> None:
    first = counted(pool_count())
    publish(
        lab_a,
        stix_samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}"),
    )
    # Another counter is counting: whoever comes now reads the last count and counts nothing.
    claimed_until = first.counted_at + timedelta(minutes=1)
    PoolCount.objects.update(counting_until=claimed_until)
    during = counted(pool_count(now=first.counted_at + timedelta(seconds=1)))
    assert (during.counted_at, during.counts["indicators"]) == (first.counted_at, 4)
    assert not pool_count_if_due(now=first.counted_at + timedelta(seconds=2))
    # The counter died: once its claim lapses, the next count goes ahead and frees it.
    after = counted(pool_count(now=claimed_until + timedelta(seconds=1)))
    assert after.counts["indicators"] == 5
    assert PoolCount.objects.get().counting_until is None


def test_a_failed_count_keeps_the_last_one_and_frees_the_claim(
    slice_ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = counted(pool_count())

    def failing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(pool_counts.selectors, "pool_counts", failing)
    with pytest.raises(RuntimeError):
        pool_count()
    row = PoolCount.objects.get()
    assert (row.counted_at, row.counting_until) == (first.counted_at, None)
    assert kept() == counted_afresh()


def test_sightings_are_found_alike_in_batches_of_any_size(
    slice_ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ids go to the database in batches (SQLite bounds the parameters of a query)."""
    forum = forum_member()
    latest = list(visible_objects(forum).filter(type__in=QUEUE_TYPES).latest_versions())
    whole = signatures_selectors.sightings_corroborating(forum, latest)
    assert whole[slice_ids["range"]].sightings == 1
    monkeypatch.setattr(signatures_selectors, "_IDS_PER_QUERY", 1)
    assert signatures_selectors.sightings_corroborating(forum, latest) == whole
