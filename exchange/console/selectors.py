"""Reads behind the console's pages: the triage queue, object details, dashboard, audit log.

Everything an analyst sees goes through :func:`signatures.selectors.objects_visible_to` for
the Forum, so the console never shows what the sharing policy keeps from the Forum (TLP:RED
objects that do not name it, docs/sharing-policy.md).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import orjson
from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate

from exchange.console import search
from exchange.console.models import CorroborationCount, PoolCount, Triage, TriageState
from exchange.console.readable import (
    KIND_TYPES,
    PropertyDiff,
    kind_of,
    object_summary,
    observable_summary,
    version_diff,
)
from exchange.fanout.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryItem,
    DeliveryState,
    Subscription,
)
from exchange.fanout.selectors import subscription_health
from members.choices import MemberKind
from members.models import AuditEvent, Member
from signatures.models import (
    AnonymisedPublication,
    Collection,
    CollectionEntry,
    StixObject,
    StixObjectQuerySet,
)
from signatures.object_signing import SignatureChecker, Verification
from signatures.sdk.indicators import pattern_for
from signatures.selectors import objects_visible_to, sightings_corroborating
from signatures.stix_types import SCO_TYPES

#: The Forum's curated collection for partners (created on the first release).
PARTNER_FEED_ALIAS = "partner-feed"

#: Observable types the queue lists besides indicators and sightings: the standard SCOs and
#: the profile's own observables.
OBSERVABLE_TYPES = frozenset(SCO_TYPES) | {
    t for types in KIND_TYPES.values() for t in types if t not in SCO_TYPES
}
CATEGORY_TYPES: dict[str, frozenset[str]] = {
    "indicator": frozenset({"indicator"}),
    "observable": OBSERVABLE_TYPES,
    "sighting": frozenset({"sighting"}),
}
QUEUE_TYPES = frozenset().union(*CATEGORY_TYPES.values())


def forum_member() -> Member:
    """The exchange's one Forum member."""
    return Member.objects.forum()


def partner_feed() -> Collection | None:
    return Collection.objects.filter(alias=PARTNER_FEED_ALIAS).first()


def partner_feed_versions(stix_id: str) -> int:
    """How many versions of the object the partner feed holds."""
    feed = partner_feed()
    if feed is None:
        return 0
    return CollectionEntry.objects.filter(collection=feed, stix_id=stix_id).count()


def visible_objects(forum: Member) -> StixObjectQuerySet:
    """Object versions the Forum may read, with the StixObject queryset methods.

    ``objects_visible_to`` builds on ``StixObject.objects``, so the queryset is a
    StixObjectQuerySet at run time; its annotation only says QuerySet.
    """
    return cast(StixObjectQuerySet, objects_visible_to(forum))


def visible_latest(forum: Member, stix_id: str) -> StixObject:
    """The newest version of the object the Forum may read; the actions on an object the
    Forum cannot see are refused with the same message as on one that does not exist."""
    latest = visible_objects(forum).filter(stix_id=stix_id).order_by("-version").first()
    if latest is None:
        raise ValidationError(f"No object {stix_id} is visible to the Forum.")
    return latest


# --- triage queue ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """The queue's filters; empty values mean "any"."""

    lab: str = ""
    kind: str = ""
    category: str = ""
    tlp: str | None = None
    min_confidence: int | None = None
    phase: str = ""
    state: str = ""
    #: A search (exchange/console/search.py): an id, an address or CIDR, or any text.
    q: str = ""
    #: A key of search.SORT_KEYS, "-" first for descending.
    sort: str = search.DEFAULT_SORT


def queue_objects(forum: Member, filters: QueueFilters) -> QuerySet[StixObject]:
    """The newest version of each queued object the Forum may see, filtered, searched and
    sorted (newest first unless told otherwise)."""
    types = CATEGORY_TYPES.get(filters.category, QUEUE_TYPES)
    visible = visible_objects(forum)
    objects = (
        visible.filter(type__in=types)
        .latest_versions()
        .annotate(
            triage_state=search.triage_state_expression(),
            anonymised_flag=Exists(
                AnonymisedPublication.objects.filter(stix_object__stix_id=OuterRef("stix_id"))
            ),
        )
        .select_related("publisher")
    )
    if filters.lab:
        objects = objects.filter(publisher__name=filters.lab)
    if filters.kind:
        objects = objects.filter(search.kind_q(filters.kind))
    if filters.tlp is not None:
        objects = objects.filter(tlp=filters.tlp)
    if filters.min_confidence is not None:
        objects = objects.filter(data__confidence__gte=filters.min_confidence)
    if filters.phase:
        # ``raw`` is the compact JSON the publish path wrote (orjson), so a phase appears as
        # exactly this text; it works alike on SQLite and PostgreSQL, unlike JSON containment.
        objects = objects.filter(
            raw__contains=orjson.dumps({"phase_name": filters.phase}).decode()[1:-1]
        )
    if filters.state:
        objects = objects.filter(triage_state=filters.state)
    found: QuerySet[StixObject] = search.search(objects, filters.q) if filters.q else objects
    return search.ordered(found, visible, filters.sort)


def _lab_names(members: Iterable[int]) -> dict[int, str]:
    return dict(Member.objects.filter(pk__in=set(members)).values_list("pk", "name"))


def corroboration(forum: Member, objects: Sequence[StixObject]) -> dict[str, list[str]]:
    """For each object, the other labs that corroborate it (docs/console.md).

    - an indicator: labs that published a sighting of it, or an indicator with the same
      pattern;
    - an observable: labs that published an indicator with its exact-match pattern (the
      exchange stores one copy of a deterministic SCO id, so a second publisher of the same
      observable is recorded through its indicator, not through the observable itself).
    """
    visible = visible_objects(forum)
    patterns: dict[str, str] = {}
    for obj in objects:
        if obj.type == "indicator" and isinstance(obj.data.get("pattern"), str):
            patterns[obj.stix_id] = obj.data["pattern"]
        elif obj.type in OBSERVABLE_TYPES:
            try:
                patterns[obj.stix_id] = pattern_for(obj.data)
            except (ValueError, KeyError):
                continue

    # Two steps: the pattern index finds the few candidates, then the sharing policy is
    # asked about those rows only. In one query PostgreSQL cannot tell how few rows the
    # pattern list matches and applies the policy to the whole pool first.
    candidates = StixObject.objects.filter(
        type="indicator", data__pattern__in=set(patterns.values())
    ).values_list("pk", flat=True)
    by_pattern: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for stix_id, pattern, publisher in visible.filter(pk__in=list(candidates)).values_list(
        "stix_id", "data__pattern", "publisher"
    ):
        by_pattern[pattern].add((stix_id, publisher))
    indicators = [obj for obj in objects if obj.type == "indicator"]
    sighted = sightings_corroborating(forum, indicators)

    labs: dict[str, set[int]] = {}
    for obj in objects:
        others = set(sighted[obj.stix_id].publishers) if obj.stix_id in sighted else set()
        others |= {
            publisher
            for stix_id, publisher in by_pattern.get(patterns.get(obj.stix_id, ""), ())
            if stix_id != obj.stix_id
        }
        others.discard(obj.publisher_id)
        labs[obj.stix_id] = others
    names = _lab_names(pk for found in labs.values() for pk in found)
    return {stix_id: sorted(names[pk] for pk in found) for stix_id, found in labs.items()}


def _sighted_summaries(forum: Member, objects: Sequence[StixObject]) -> dict[str, str]:
    refs = {obj.data.get("sighting_of_ref") for obj in objects if obj.type == "sighting"}
    sighted = visible_objects(forum).filter(stix_id__in=refs).latest_versions()
    # The sighted object's name tells sightings apart better than its pattern.
    return {obj.stix_id: str(obj.data.get("name") or object_summary(obj.data)) for obj in sighted}


@dataclass(slots=True)
class QueueRow:
    """One line of the triage queue."""

    obj: StixObject
    lab: str
    anonymised: bool
    state: str
    #: The object's own name ("" when it has none); the summary then tells rows apart.
    name: str
    summary: str
    kind: str
    confidence: int | None
    phases: list[str]
    verification: Verification
    corroborated_by: list[str]


def _row_summary(data: Mapping[str, Any], sighted: Mapping[str, str]) -> str:
    """What the object says beyond its name: the pattern of an indicator, the identifying
    properties of a named observable (two "Farm hosting AS" rows differ by AS number)."""
    summary = object_summary(data, sighted=sighted.get(str(data.get("sighting_of_ref")), ""))
    if data.get("name") and summary == data["name"]:
        return observable_summary(data)
    return summary


def queue_rows(forum: Member, objects: Sequence[StixObject]) -> list[QueueRow]:
    """Decorate a page of :func:`queue_objects` for display."""
    checker = SignatureChecker()
    corroborating = corroboration(forum, objects)
    sighted = _sighted_summaries(forum, objects)
    rows = []
    for obj in objects:
        data = obj.data
        rows.append(
            QueueRow(
                obj=obj,
                lab=obj.publisher.name,
                anonymised=getattr(obj, "anonymised_flag", False),
                state=getattr(obj, "triage_state", TriageState.NEW),
                name=str(data.get("name") or "") if obj.type != "sighting" else "",
                summary=_row_summary(data, sighted),
                kind=kind_of(data) if obj.type != "sighting" else "",
                confidence=data.get("confidence"),
                phases=[
                    str(phase.get("phase_name"))
                    for phase in data.get("kill_chain_phases") or []
                    if isinstance(phase, Mapping)
                ],
                verification=checker.check(obj),
                corroborated_by=corroborating.get(obj.stix_id, []),
            )
        )
    return rows


def queue_labs() -> list[str]:
    return list(
        Member.objects.filter(kind__in=[MemberKind.LAB, MemberKind.FORUM])
        .order_by("name")
        .values_list("name", flat=True)
    )


# --- object detail --------------------------------------------------------------------------


@dataclass(slots=True)
class VersionView:
    obj: StixObject
    verification: Verification
    in_partner_feed: bool
    #: Differences from the previous version (empty for the first).
    diff: list[PropertyDiff] = field(default_factory=list)


@dataclass(slots=True)
class ObjectDetail:
    stix_id: str
    latest: StixObject
    triage: Triage | None
    state: str
    anonymised: bool
    summary: str
    kind: str
    versions: list[VersionView]
    relationships: list[StixObject]
    sightings: list[StixObject]
    annotations: list[StixObject]
    corroborated_by: list[str]
    deliveries: list[dict[str, Any]]


def object_detail(forum: Member, stix_id: str) -> ObjectDetail | None:
    """Everything the detail page shows of one object, or None if the Forum cannot see it."""
    visible = visible_objects(forum)
    versions = list(visible.filter(stix_id=stix_id).select_related("publisher").order_by("version"))
    if not versions:
        return None
    latest = versions[-1]
    feed = partner_feed()
    released = set(
        CollectionEntry.objects.filter(collection=feed, stix_id=stix_id).values_list(
            "stix_object_id", flat=True
        )
        if feed is not None
        else ()
    )
    checker = SignatureChecker()
    views = []
    for index, version in enumerate(versions):
        diff = version_diff(versions[index - 1].data, version.data) if index else []
        views.append(VersionView(version, checker.check(version), version.pk in released, diff))
    related = visible.latest_versions().select_related("publisher")
    triage = Triage.objects.filter(stix_id=stix_id).first()
    sighted = _sighted_summaries(forum, [latest])
    return ObjectDetail(
        stix_id=stix_id,
        latest=latest,
        triage=triage,
        state=triage.state if triage else TriageState.NEW,
        anonymised=AnonymisedPublication.objects.filter(stix_object__stix_id=stix_id).exists(),
        summary=object_summary(
            latest.data, sighted=sighted.get(str(latest.data.get("sighting_of_ref")), "")
        ),
        kind=kind_of(latest.data),
        versions=views,
        relationships=list(
            related.filter(type="relationship").filter(
                Q(data__source_ref=stix_id) | Q(data__target_ref=stix_id)
            )
        ),
        sightings=list(related.filter(type="sighting", data__sighting_of_ref=stix_id)),
        # Notes and opinions name their subjects in object_refs; a JSON string search finds
        # the id alike on both databases.
        annotations=list(
            related.filter(type__in=["note", "opinion"], raw__contains=f'"{stix_id}"').order_by(
                "-received_at"
            )
        ),
        corroborated_by=corroboration(forum, [latest]).get(stix_id, []),
        deliveries=deliveries_of(stix_id),
    )


def deliveries_of(stix_id: str) -> list[dict[str, Any]]:
    """Fan-out deliveries that carried any version of the object, newest first."""
    items = (
        DeliveryItem.objects.filter(collection_entry__stix_id=stix_id)
        .select_related("subscription__owner", "delivery", "collection_entry")
        .order_by("-created_at")[:100]
    )
    return [
        {
            "subscription": item.subscription,
            "version": item.collection_entry.version,
            "queued_at": item.created_at,
            "delivery": item.delivery,
            "state": item.delivery.state if item.delivery else "queued",
        }
        for item in items
    ]


# --- dashboard ------------------------------------------------------------------------------


@dataclass(slots=True)
class PoolCounts:
    """The dashboard's numbers over the whole pool (what PoolCount keeps between counts)."""

    days: list[date]
    #: published[lab][day index]: objects that lab published that day.
    published: dict[str, list[int]]
    kinds: list[tuple[str, int]]
    #: Queued objects, at their newest version.
    total: int
    indicators: int
    #: Indicators another lab corroborates.
    corroborated: int

    def as_json(self) -> dict[str, Any]:
        return {
            "days": [day.isoformat() for day in self.days],
            "published": self.published,
            "kinds": [list(pair) for pair in self.kinds],
            "total": self.total,
            "indicators": self.indicators,
            "corroborated": self.corroborated,
        }

    @classmethod
    def uncounted(cls, days: list[date]) -> PoolCounts:
        return cls(days=days, published={}, kinds=[], total=0, indicators=0, corroborated=0)

    @classmethod
    def from_json(cls, counts: Mapping[str, Any]) -> PoolCounts:
        return cls(
            days=[date.fromisoformat(day) for day in counts["days"]],
            published={lab: list(series) for lab, series in counts["published"].items()},
            kinds=[(str(kind), int(n)) for kind, n in counts["kinds"]],
            total=int(counts["total"]),
            indicators=int(counts["indicators"]),
            corroborated=int(counts["corroborated"]),
        )


@dataclass(slots=True)
class Dashboard:
    pool: PoolCounts
    #: None until the pool is first counted.
    counted_at: datetime | None
    states: list[tuple[str, int]]
    top_corroborated: list[tuple[StixObject, str, list[str]]]
    subscriptions: list[dict[str, Any]]
    deliveries_by_state: dict[str, int]
    recent_failures: list[DeliveryAttempt]

    @property
    def days(self) -> list[date]:
        return self.pool.days

    @property
    def labs(self) -> list[str]:
        return sorted(self.pool.published)

    @property
    def published(self) -> dict[str, list[int]]:
        return self.pool.published

    @property
    def kinds(self) -> list[tuple[str, int]]:
        return self.pool.kinds

    @property
    def indicators(self) -> int:
        return self.pool.indicators

    @property
    def corroborated(self) -> int:
        return self.pool.corroborated


def _queued_latest(visible: StixObjectQuerySet) -> StixObjectQuerySet:
    return visible.filter(type__in=QUEUE_TYPES).latest_versions()


#: Candidates read per :func:`corroboration` call while counting the pool.
_CORROBORATION_CHUNK = 20_000


def corroborated_objects(forum: Member) -> dict[str, tuple[str, int]]:
    """Every queued object another lab corroborates, with its type and how many labs:
    :func:`corroboration` itself, asked about the candidates only.

    The candidates are indicators whose pattern more than one lab published, objects a lab
    other than their publisher sighted, and observables whose exact-match pattern is some
    indicator's; the database finds the first two in one pass each.
    """
    visible = visible_objects(forum)
    latest = _queued_latest(visible)
    candidates = latest.alias(console_pattern=KT("data__pattern")).filter(
        Q(
            type="indicator",
            console_pattern__in=search.shared_patterns(visible).values("shared_pattern"),
        )
        | Q(stix_id__in=search.sighted_by_other_labs(visible).values("sighted"))
    )
    chosen = set(candidates.values_list("pk", flat=True))

    observable_patterns: dict[int, str] = {}
    for pk, data in latest.filter(type__in=OBSERVABLE_TYPES).values_list("pk", "data"):
        try:
            observable_patterns[pk] = pattern_for(data)
        except (ValueError, KeyError):
            continue
    indicated = set(
        StixObject.objects.filter(
            type="indicator", data__pattern__in=set(observable_patterns.values())
        ).values_list("data__pattern", flat=True)
    )
    chosen |= {pk for pk, pattern in observable_patterns.items() if pattern in indicated}

    found: dict[str, tuple[str, int]] = {}
    ordered = sorted(chosen)
    for start in range(0, len(ordered), _CORROBORATION_CHUNK):
        chunk = StixObject.objects.filter(pk__in=ordered[start : start + _CORROBORATION_CHUNK])
        type_of = {obj.stix_id: obj.type for obj in chunk}
        for stix_id, labs in corroboration(forum, list(chunk)).items():
            if labs:
                found[stix_id] = (type_of[stix_id], len(labs))
    return found


#: Days the dashboard's per-day chart shows.
DASHBOARD_DAYS = 14


def dashboard_days(now: datetime, days: int = DASHBOARD_DAYS) -> list[date]:
    """The days the per-day chart shows, ending today."""
    since = (now - timedelta(days=days - 1)).date()
    return [since + timedelta(days=n) for n in range(days)]


def pool_counts(
    forum: Member, corroborated: Mapping[str, tuple[str, int]], *, days: int, now: datetime
) -> PoolCounts:
    """The dashboard's pool numbers, counted by the database: objects published per lab and
    day, and one grouped pass over the newest version of each queued object for the kinds
    and the indicators."""
    chart_days = dashboard_days(now, days)
    since = chart_days[0]
    visible = visible_objects(forum)
    per_day = (
        visible.filter(type__in=QUEUE_TYPES, received_at__date__gte=since)
        .annotate(day=TruncDate("received_at"))
        .values_list("publisher__name", "day")
        .annotate(n=Count("pk"))
    )
    published: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    for lab, day, count in per_day:
        published[lab][(day - since).days] += count

    groups = (
        _queued_latest(visible)
        .annotate(
            kind=Case(When(type="sighting", then=Value("")), default=search.kind_expression())
        )
        .values_list("kind")
        .annotate(n=Count("pk"), indicators=Count("pk", filter=Q(type="indicator")))
        .order_by()
    )
    kinds: Counter[str] = Counter()
    total = indicators = 0
    for kind, count, indicator_count in groups:
        if kind:
            kinds[kind] += count
        total += count
        indicators += indicator_count
    return PoolCounts(
        days=chart_days,
        published=dict(published),
        kinds=kinds.most_common(),
        total=total,
        indicators=indicators,
        corroborated=sum(1 for kind, _ in corroborated.values() if kind == "indicator"),
    )


def pool_counted() -> PoolCount | None:
    """The last count of the pool, if it was ever counted."""
    return PoolCount.objects.exclude(pool_mark="").first()


def _top_corroborated(forum: Member, limit: int) -> list[tuple[StixObject, list[str]]]:
    """The indicators most labs corroborate: ranked by the last count, then counted again
    exactly, by :func:`corroboration`, so that what the chart names is current."""
    ranked_ids = list(
        CorroborationCount.objects.filter(object_type="indicator")
        .order_by("-labs", "stix_id")
        .values_list("stix_id", flat=True)[: limit * 4]
    )
    candidates = list(
        _queued_latest(visible_objects(forum))
        .filter(stix_id__in=ranked_ids)
        .select_related("publisher")
    )
    labs = corroboration(forum, candidates)
    ranked = sorted(
        (obj for obj in candidates if labs.get(obj.stix_id)),
        key=lambda obj: (-len(labs[obj.stix_id]), obj.stix_id),
    )
    return [(obj, labs[obj.stix_id]) for obj in ranked[:limit]]


def _deliveries_by_state() -> dict[str, int]:
    return dict(
        Delivery.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n")
    )


def _recent_failures() -> list[DeliveryAttempt]:
    return list(
        DeliveryAttempt.objects.filter(Q(status_code__gte=400) | ~Q(error=""))
        .select_related("delivery__subscription__owner")
        .order_by("-started_at")[:10]
    )


def _triage_states(forum: Member, total: int) -> list[tuple[str, int]]:
    """Objects per triage state, counted now: from the triage side, a few rows each checked
    against the queue through the indexes. Objects without a row are new."""
    latest = _queued_latest(visible_objects(forum))
    states: Counter[str] = Counter(
        dict(
            Triage.objects.filter(stix_id__in=latest.values("stix_id"))
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
    )
    states[TriageState.NEW] += max(total - sum(states.values()), 0)
    return [(state.label, states.get(state.value, 0)) for state in TriageState]


def dashboard(forum: Member, counted: PoolCount | None, *, now: datetime) -> Dashboard:
    """The dashboard: the pool's numbers as last counted (zeros before the first count),
    the triage states, the top corroborated indicators and the deliveries as they are
    now."""
    pool = (
        PoolCounts.from_json(counted.counts)
        if counted is not None
        else PoolCounts.uncounted(dashboard_days(now))
    )
    return Dashboard(
        pool=pool,
        counted_at=counted.counted_at if counted is not None else None,
        states=_triage_states(forum, pool.total),
        top_corroborated=[
            (obj, object_summary(obj.data), labs) for obj, labs in _top_corroborated(forum, 8)
        ],
        subscriptions=subscriptions_health(),
        deliveries_by_state=_deliveries_by_state(),
        recent_failures=_recent_failures(),
    )


def subscriptions_health() -> list[dict[str, Any]]:
    """Per subscription: backlog, lag behind the oldest undelivered object, failures."""
    return [
        {"subscription": subscription, **subscription_health(subscription)}
        for subscription in Subscription.objects.select_related("owner")
    ]


def dead_letters() -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(state=DeliveryState.DEAD)
        .select_related("subscription__owner")
        .order_by("-dead_at")
    )


# --- audit log ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilters:
    action: str = ""
    target: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None


def audit_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor_member", "actor_user")
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.target:
        events = events.filter(target__icontains=filters.target)
    if filters.actor:
        events = events.filter(
            Q(actor_user__username=filters.actor) | Q(actor_member__name=filters.actor)
        )
    if filters.since:
        events = events.filter(created_at__date__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__date__lte=filters.until)
    return events.order_by("-created_at", "-pk")


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_event_as_dict(event: AuditEvent) -> dict[str, Any]:
    """One event as exported (JSON and CSV): no secrets are ever recorded in the log."""
    return {
        "id": event.pk,
        "created_at": event.created_at.isoformat(),
        "action": event.action,
        "target": event.target,
        "actor_user": event.actor_user.get_username() if event.actor_user else None,
        "actor_member": event.actor_member.name if event.actor_member else None,
        "before": event.before,
        "after": event.after,
        "note": event.note,
    }


# --- members & access -----------------------------------------------------------------------


def members_overview() -> QuerySet[Member]:
    return Member.objects.prefetch_related(
        "memberships__user", "tokens", "signing_keys", "readable_collections"
    ).order_by("kind", "name")


def collections_overview() -> QuerySet[Collection]:
    return Collection.objects.prefetch_related("readers", "writers").annotate(
        entry_count=Count("entries", distinct=True),
        last_added=Max("entries__date_added"),
    )
