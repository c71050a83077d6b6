"""Fan-out writes: subscriptions, the transactional outbox, the dispatcher and the pump.

Guarantees (docs/fanout.md): every object accepted into a collection is matched against
every subscription (the outbox row commits with the object); every match is delivered at
least once or dead-lettered, visibly; a subscription's deliveries leave one at a time in
outbox order; a subscription only ever gets what its owner may read over TAXII.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import secrets
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.db.models import Case, F, Field, Q, QuerySet, UUIDField, Value, When, Window
from django.db.models.functions import RowNumber
from django.db.models.sql import UpdateQuery
from django.utils import timezone
from kombu.exceptions import OperationalError

from exchange.fanout import channels
from exchange.fanout.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryItem,
    DeliveryState,
    DispatcherLock,
    Subscription,
    SubscriptionStatus,
)
from exchange.fanout.sealing import seal, unseal
from exchange.fanout.selectors import (
    EntryFacts,
    batch_ready,
    deliveries_contents,
    entries_visible_among,
    subscription_filter,
    subscription_reads_content,
    subscriptions_backlog,
    subscriptions_due,
)
from members.models import Member
from members.services import audit_record
from signatures.choices import TLP_CEILING_CHOICES
from signatures.models import Collection, CollectionEntry, OutboxEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"


# --- Subscriptions ---------------------------------------------------------------------------


def url_check(url: str) -> None:
    """HTTPS only, except for loopback hosts, DEBUG, or FANOUT_ALLOW_HTTP (tests, labs)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme != "http" or not parts.hostname:
        raise ValidationError({"url": "The URL must be an https:// URL."})
    if settings.DEBUG or settings.FANOUT_ALLOW_HTTP:
        return
    try:
        loopback = ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        loopback = parts.hostname == "localhost"
    if not loopback:
        raise ValidationError({"url": "Plain http:// is only allowed to a loopback address."})


def filters_check(fields: dict[str, Any]) -> None:
    """Refuse filter and batching values a subscription cannot work with."""
    for name in ("object_types", "labels", "kill_chain_phases"):
        value = fields.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValidationError({name: "Must be a list of non-empty strings."})
    confidence = fields.get("min_confidence")
    if confidence is not None and not 0 <= confidence <= 100:
        raise ValidationError({"min_confidence": "Must be between 0 and 100."})
    ceilings = [value for value, _ in TLP_CEILING_CHOICES]
    if fields.get("tlp_ceiling", "") not in ceilings:
        raise ValidationError({"tlp_ceiling": f"One of {ceilings}."})
    max_batch = fields.get("max_batch", 1)
    if not 1 <= max_batch <= settings.FANOUT_MAX_BATCH:
        raise ValidationError({"max_batch": f"Between 1 and {settings.FANOUT_MAX_BATCH}."})


#: What a subscription selects and how it batches, in the order the admin form and the
#: API show them.
SUBSCRIPTION_FILTER_FIELDS = (
    "object_types",
    "labels",
    "kill_chain_phases",
    "min_confidence",
    "tlp_ceiling",
    "max_batch",
    "max_wait_ms",
)
#: The fields an owner may set through subscription_create / subscription_update.
SUBSCRIPTION_FIELDS = {"name", "url", *SUBSCRIPTION_FILTER_FIELDS, "taxii_user"}


@transaction.atomic
def subscription_create(
    *,
    owner: Member,
    name: str,
    channel: str,
    url: str,
    collections: Iterable[Collection] = (),
    taxii_password: str = "",
    actor_member: Member | None = None,
    actor_user: User | None = None,
    **fields: Any,
) -> tuple[Subscription, str]:
    """Create a subscription; returns it and its webhook secret ("" for TAXII push).

    The secret is returned this once and stored only sealed: the exchange needs it again
    to sign, so it cannot be a hash.
    """
    unknown = set(fields) - SUBSCRIPTION_FIELDS
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if channel not in Channel.values:
        raise ValidationError({"channel": f"One of {Channel.values}."})
    url_check(url)
    filters_check(fields)
    subscription = Subscription(owner=owner, name=name, channel=channel, url=url, **fields)
    secret = ""
    if channel == Channel.WEBHOOK:
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        subscription.secret_sealed = seal(secret)
    elif taxii_password:
        subscription.taxii_password_sealed = seal(taxii_password)
    subscription.full_clean(exclude=["secret_sealed", "taxii_password_sealed"])
    subscription.save()
    _collections_set(subscription, collections)
    _subscription_audit(
        "subscription-create", subscription, actor_member, actor_user, after=_state(subscription)
    )
    return subscription, secret


def _state(subscription: Subscription) -> dict[str, Any]:
    """What the audit log records of a subscription: never its secret or password."""
    return {
        "owner": subscription.owner.name,
        "channel": subscription.channel,
        "status": subscription.status,
        "collections": sorted(
            str(pk) for pk in subscription.collections.values_list("pk", flat=True)
        ),
        **{name: getattr(subscription, name) for name in sorted(SUBSCRIPTION_FIELDS)},
    }


def _subscription_audit(
    action: str,
    subscription: Subscription,
    actor_member: Member | None,
    actor_user: User | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    if before is not None and after is not None:
        # Only what changed, so the log reads as the change it records.
        changed = [name for name in after if before.get(name) != after[name]]
        before = {name: before.get(name) for name in changed}
        after = {name: after[name] for name in changed}
    audit_record(
        action=action,
        target=f"subscription {subscription.pk}",
        actor_member=actor_member,
        actor_user=actor_user,
        before=before,
        after=after,
        note=note or subscription.name,
    )


def collections_check(owner: Member, collections: Iterable[Collection]) -> None:
    """Refuse collections the owner cannot read.

    Naming one would be pointless (visibility filters it out at delivery anyway); refusing
    it tells the owner at once.
    """
    from signatures.selectors import collections_readable_by

    wanted = list(collections)
    readable = set(
        collections_readable_by(owner)
        .filter(pk__in=[c.pk for c in wanted])
        .values_list("pk", flat=True)
    )
    refused = [str(c.pk) for c in wanted if c.pk not in readable]
    if refused:
        raise ValidationError({"collections": f"Not readable by the owner: {', '.join(refused)}."})


def _collections_set(subscription: Subscription, collections: Iterable[Collection]) -> None:
    wanted = list(collections)
    collections_check(subscription.owner, wanted)
    subscription.collections.set(wanted)


@transaction.atomic
def subscription_update(
    *,
    subscription: Subscription,
    collections: Iterable[Collection] | None = None,
    taxii_password: str | None = None,
    actor_member: Member | None = None,
    actor_user: User | None = None,
    **fields: Any,
) -> Subscription:
    """Change filters, target or batching; applies to objects dispatched from now on."""
    unknown = set(fields) - SUBSCRIPTION_FIELDS
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if "url" in fields:
        url_check(fields["url"])
    current = {name: getattr(subscription, name) for name in SUBSCRIPTION_FIELDS}
    filters_check({**current, **fields})
    before = _state(subscription)
    for name, value in fields.items():
        setattr(subscription, name, value)
    if taxii_password is not None:
        subscription.taxii_password_sealed = seal(taxii_password) if taxii_password else ""
    subscription.full_clean(exclude=["secret_sealed", "taxii_password_sealed"])
    subscription.save()
    if collections is not None:
        _collections_set(subscription, collections)
    after = _state(subscription)
    if taxii_password is not None:
        # The password itself is never recorded, only that it was replaced.
        before["taxii_password"], after["taxii_password"] = "(previous)", "(replaced)"
    _subscription_audit(
        "subscription-update", subscription, actor_member, actor_user, before, after
    )
    return subscription


@transaction.atomic
def subscription_delete(
    *,
    subscription: Subscription,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> None:
    """Delete a subscription with its deliveries; the audit log keeps what it was."""
    _subscription_audit(
        "subscription-delete", subscription, actor_member, actor_user, before=_state(subscription)
    )
    subscription.delete()


def subscription_secret_rotate(
    *,
    subscription: Subscription,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> str:
    """A new webhook secret, returned once; the old one stops signing at once."""
    if subscription.channel != Channel.WEBHOOK:
        raise ValidationError("Only webhook subscriptions have a signing secret.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    subscription.secret_sealed = seal(secret)
    subscription.save(update_fields=["secret_sealed"])
    _subscription_audit("subscription-secret-rotate", subscription, actor_member, actor_user)
    return secret


def subscription_pause(
    *,
    subscription: Subscription,
    reason: str = "paused by its owner",
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> None:
    """Stop sending. Matching goes on, so a resume catches up with nothing lost."""
    before = subscription.status
    Subscription.objects.filter(pk=subscription.pk).update(
        status=SubscriptionStatus.PAUSED, paused_reason=reason[:500]
    )
    subscription.refresh_from_db(fields=["status", "paused_reason"])
    _subscription_audit(
        "subscription-pause",
        subscription,
        actor_member,
        actor_user,
        before={"status": before},
        after={"status": subscription.status},
        note=subscription.paused_reason,
    )


def subscription_resume(
    *,
    subscription: Subscription,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> None:
    before = subscription.status
    Subscription.objects.filter(pk=subscription.pk).update(
        status=SubscriptionStatus.ACTIVE, paused_reason="", kicked_at=None
    )
    subscription.refresh_from_db(fields=["status", "paused_reason", "kicked_at"])
    _subscription_audit(
        "subscription-resume",
        subscription,
        actor_member,
        actor_user,
        before={"status": before},
        after={"status": subscription.status},
    )
    transaction.on_commit(lambda: pumps_kick([subscription.pk]))


# --- Outbox and dispatcher ---------------------------------------------------------------------


def outbox_filled_receive(**_: object) -> None:
    """``signatures.signals.outbox_filled``: dispatch now if anyone is subscribed."""
    if Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).exists():
        dispatch_kick()


def dispatch_kick() -> None:
    """Run the dispatcher now rather than at the next heartbeat (a latency shortcut only)."""
    from exchange.fanout.tasks import dispatch

    try:
        dispatch.delay(send=True)
    except (OperationalError, OSError) as exc:
        # The object is committed and in the outbox; the heartbeat will dispatch it once
        # the broker is back. Failing the publish here would make the client retry it.
        logger.warning("fan-out: broker unavailable, dispatch left to the heartbeat: %s", exc)


def outbox_dispatch() -> int:
    """Match the oldest undispatched outbox entries against every subscription, and queue
    pumps for the subscriptions that got new items. Returns how many entries were
    dispatched."""
    dispatched, matched = _dispatch()
    if matched:
        transaction.on_commit(lambda: pumps_kick(matched))
    return dispatched


def _dispatch() -> tuple[int, set[uuid.UUID]]:
    """Match the oldest undispatched outbox entries against every subscription; answers
    how many entries were dispatched and which subscriptions got items.

    One dispatcher at a time (the lock row is taken with SELECT ... FOR UPDATE SKIP LOCKED
    on PostgreSQL; a second dispatcher finds it taken and returns): running two side by
    side could commit a later batch of matches before an earlier one and break order. On
    SQLite every write transaction starts with BEGIN IMMEDIATE, which already admits one
    writer at a time.

    The queries do not grow with the number of subscriptions: the entries are read once,
    visibility is asked once per owner, and the filters run on what was read.
    """
    with transaction.atomic():
        lock = DispatcherLock.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        # Not found: taken by another dispatcher, or not created yet (the first run creates
        # it, and holds it until this transaction ends).
        if lock is None and not DispatcherLock.objects.get_or_create(pk=1)[1]:
            return 0, set()
        batch = list(
            OutboxEntry.objects.filter(dispatched_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "collection_entry_id", "created_at")[
                : settings.FANOUT_DISPATCH_BATCH
            ]
        )
        if not batch:
            return 0, set()
        items = _matches(batch)
        now = timezone.now()
        _items_insert(items, now)
        OutboxEntry.objects.filter(pk__in=[seq for seq, _, _ in batch]).update(dispatched_at=now)
        DispatcherLock.objects.filter(pk=1).update(last_run_at=now)
        matched = {item.subscription_id for item in items}
        _backlogs_bound(matched)
    return len(batch), matched


@dataclass(frozen=True, slots=True)
class _Match:
    """A DeliveryItem to be: an entry that a subscription is entitled to, at ``seq``."""

    subscription_id: uuid.UUID
    collection_entry_id: int
    seq: int


def _matches(batch: list[tuple[int, int, datetime]]) -> list[_Match]:
    """One item per (subscription, entry) of ``batch`` the owner may read and the
    subscription's filters select."""
    entry_ids = [entry_id for _, entry_id, _ in batch]
    newest = max(added for _, _, added in batch)
    # A subscription starts with the objects published after it was created.
    subscriptions = list(
        Subscription.objects.filter(created_at__lte=newest)
        .select_related("owner")
        .prefetch_related("collections")
        .order_by()
    )
    if not subscriptions:
        return []
    fields = ["pk", "collection_id", "type", "stix_object__tlp"]
    if any(subscription_reads_content(s) for s in subscriptions):
        fields.append("stix_object__data")
    entries = {
        row[0]: EntryFacts(*row[1:])
        for row in CollectionEntry.objects.filter(pk__in=entry_ids).values_list(*fields)
    }
    owners = {s.owner_id: s.owner for s in subscriptions}
    visible = {pk: entries_visible_among(owner, entry_ids) for pk, owner in owners.items()}
    items: list[_Match] = []
    for subscription in subscriptions:
        wants = subscription_filter(subscription)
        readable = visible[subscription.owner_id]
        for seq, entry_id, added in batch:
            entry = entries.get(entry_id)
            if (
                entry is None
                or added < subscription.created_at
                or entry_id not in readable
                or not wants(entry)
            ):
                continue
            items.append(_Match(subscription.pk, entry_id, seq))
    return items


def _items_insert(items: list[_Match], now: datetime) -> None:
    """Insert the matched items; one already there (same subscription and entry) is kept."""
    if not items:
        return
    if connection.vendor != "postgresql":
        DeliveryItem.objects.bulk_create(
            [
                DeliveryItem(
                    subscription_id=item.subscription_id,
                    collection_entry_id=item.collection_entry_id,
                    seq=item.seq,
                    created_at=now,
                )
                for item in items
            ],
            ignore_conflicts=True,
        )
        return
    # As arrays: bulk_create makes and prepares a model instance per item, which for 300
    # objects to 50 subscribers (15,000 items) cost more than the insert itself.
    table = connection.ops.quote_name(DeliveryItem._meta.db_table)
    columns = ", ".join(
        _item_column(name) for name in ("subscription", "collection_entry", "seq", "created_at")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT v.subscription, v.entry, v.seq, %s "
            "FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[]) AS v(subscription, entry, seq) "
            "ON CONFLICT DO NOTHING",
            [
                now,
                [item.subscription_id for item in items],
                [item.collection_entry_id for item in items],
                [item.seq for item in items],
            ],
        )


def _backlogs_bound(subscription_ids: Iterable[uuid.UUID]) -> None:
    """Auto-pause a subscription whose undelivered backlog passed FANOUT_MAX_BACKLOG."""
    for subscription_id, backlog in subscriptions_backlog(subscription_ids).items():
        if backlog <= settings.FANOUT_MAX_BACKLOG:
            continue
        reason = (
            f"auto-paused at {timezone.now():%Y-%m-%d %H:%M:%S}Z: {backlog} undelivered "
            f"objects exceed FANOUT_MAX_BACKLOG={settings.FANOUT_MAX_BACKLOG}"
        )
        paused = Subscription.objects.filter(
            pk=subscription_id, status=SubscriptionStatus.ACTIVE
        ).update(status=SubscriptionStatus.PAUSED, paused_reason=reason)
        if paused:
            logger.warning("fan-out: subscription %s %s", subscription_id, reason)


def _update_claiming(rows: QuerySet[Subscription], **values: Any) -> set[uuid.UUID]:
    """``rows.update(**values)``, answering which subscriptions it changed.

    UPDATE ... RETURNING (PostgreSQL; SQLite since 3.35): one round trip, and exact when
    two claimants race, where a read followed by an update would need a lock.
    """
    query = rows.query.chain(UpdateQuery)
    assert isinstance(query, UpdateQuery)
    query.add_update_values(values)
    query.clear_select_clause()
    sql, params = query.get_compiler(rows.db).as_sql()
    connection = connections[rows.db]
    pk = Subscription._meta.pk
    assert pk is not None and pk.column is not None
    sql = f"{sql} RETURNING {connection.ops.quote_name(pk.column)}"
    with transaction.mark_for_rollback_on_error(using=rows.db), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk.to_python(value) for (value,) in cursor.fetchall()}


def _groups(ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
    """``ids`` in runs of at most PUMP_GROUP subscriptions, as even as possible."""
    count = -(-len(ids) // PUMP_GROUP)
    return [ids[n::count] for n in range(count)]


def pumps_kick(
    subscription_ids: Iterable[uuid.UUID | str], *, force: bool = False, alone: bool = False
) -> None:
    """Enqueue pump runs for the active subscriptions with no sender and none queued
    recently, up to PUMP_GROUP subscriptions to a run (``alone``: one each).

    ``kicked_at`` is claimed with one conditional update, so the heartbeat and the
    dispatcher never queue a second pump while one is waiting; a pump lost with a dead
    broker or worker is re-queued once FANOUT_KICK_TTL_SECONDS have passed. A subscription
    whose lease is held is skipped: its run checks for due work after it lets the lease go
    and queues it then. ``force`` is for a run that just released leases: a pump queued
    meanwhile may already have found the lease taken and quit, so "one is waiting" cannot
    be trusted then.
    """
    from exchange.fanout.tasks import pumps

    wanted = [uuid.UUID(str(subscription_id)) for subscription_id in subscription_ids]
    if not wanted:
        return
    now = timezone.now()
    stale = now - timedelta(seconds=settings.FANOUT_KICK_TTL_SECONDS)
    rows = Subscription.objects.filter(pk__in=wanted, status=SubscriptionStatus.ACTIVE).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if not force:
        rows = rows.filter(Q(kicked_at__isnull=True) | Q(kicked_at__lt=stale))
    claimed = _update_claiming(rows, kicked_at=now)
    ordered = [pk for pk in dict.fromkeys(wanted) if pk in claimed]
    groups = [[pk] for pk in ordered] if alone else _groups(ordered)
    for n, group in enumerate(groups):
        try:
            pumps.delay([str(pk) for pk in group])
        except (OperationalError, OSError) as exc:
            unsent = [pk for rest in groups[n:] for pk in rest]
            Subscription.objects.filter(pk__in=unsent, kicked_at=now).update(kicked_at=None)
            logger.warning("fan-out: broker unavailable, pump not queued: %s", exc)
            return


def outbox_send() -> None:
    """After a publish: drain the outbox and send for the subscriptions it matched.

    The first PUMP_GROUP of them are pumped right here rather than queued, which saves a
    trip through the broker between a publish and its receipt; the others get queued
    runs. A subscription another run is sending for is left to that run, which looks for
    new work after every round and once more when it lets its lease go.
    """
    matched: list[uuid.UUID] = []
    while True:
        dispatched, more = _dispatch()
        matched += sorted(more - set(matched))
        if dispatched < settings.FANOUT_DISPATCH_BATCH:
            break
    pumps_kick(matched[PUMP_GROUP:])
    if matched:
        subscriptions_pump(subscription_ids=matched[:PUMP_GROUP])


def heartbeat() -> None:
    """The periodic safety net: drain the outbox, then wake every subscription with work."""
    while outbox_dispatch() >= settings.FANOUT_DISPATCH_BATCH:
        pass
    pumps_kick(subscriptions_due())
    _retention_purge()


def _retention_purge() -> None:
    cutoff = timezone.now() - timedelta(hours=settings.FANOUT_RETENTION_HOURS)
    OutboxEntry.objects.filter(dispatched_at__lt=cutoff).delete()
    Delivery.objects.filter(state=DeliveryState.DELIVERED, delivered_at__lt=cutoff).delete()


# --- The pump: subscriptions' deliveries, each subscription's in order -------------------------

#: Subscriptions sent for by one pump run. Their queries are shared (a round costs the same
#: for one subscription as for PUMP_GROUP of them) and their requests leave side by side,
#: from as many threads.
PUMP_GROUP = 50
#: A subscription whose request took longer leaves a shared run for a run of its own, so a
#: slow receiver does not set the pace of the others.
SLOW_SEND_MS = 1000


def _backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds until the next try: "full jitter" exponential backoff, or Retry-After."""
    if retry_after is not None:
        return min(retry_after, settings.FANOUT_RETRY_AFTER_MAX_MS / 1000)
    ceiling = min(
        settings.FANOUT_BACKOFF_MAX_MS, settings.FANOUT_BACKOFF_BASE_MS * 2 ** (attempts - 1)
    )
    # Never below half the ceiling: full jitter alone can retry a struggling receiver at once.
    return random.uniform(ceiling / 2, ceiling) / 1000


@dataclass(slots=True)
class _Send:
    """One attempt at one delivery, prepared from the database and sent off it."""

    subscription: Subscription
    delivery: Delivery
    raws: list[str]
    secret: str
    started: datetime | None = None
    latency_ms: int = 0
    result: channels.SendResult | None = None


_pools: dict[int, ThreadPoolExecutor] = {}


def _send_pool() -> ThreadPoolExecutor:
    """The process's sending threads, started once (Celery's prefork pool forks after
    import, hence one per process id)."""
    pid = os.getpid()
    pool = _pools.get(pid)
    if pool is None:
        _pools.clear()
        pool = _pools[pid] = ThreadPoolExecutor(PUMP_GROUP, thread_name_prefix="fanout-send")
    return pool


def _send(job: _Send) -> None:
    """The request alone: no database access, so runs may send from threads."""
    job.started = timezone.now()
    clock = time.monotonic()
    job.result = _channel_send(job)
    job.latency_ms = int((time.monotonic() - clock) * 1000)


def _channel_send(job: _Send) -> channels.SendResult:
    if not job.raws:
        return channels.SendResult(ok=True, retryable=False, error="nothing left to send")
    subscription, delivery = job.subscription, job.delivery
    if subscription.channel == Channel.WEBHOOK:
        return channels.webhook_send(
            url=subscription.url,
            secret=job.secret,
            subscription_id=str(subscription.pk),
            delivery_id=str(delivery.pk),
            attempt=delivery.attempts + 1,
            body=channels.bundle_body(str(delivery.pk), job.raws),
        )
    return channels.taxii_push(
        url=subscription.url,
        user=subscription.taxii_user,
        password=job.secret,
        body=channels.envelope_body(job.raws),
    )


class _Run:
    """One pump run: the leases it holds, and the subscriptions still sending in it."""

    def __init__(self, token: uuid.UUID, subscriptions: list[Subscription]) -> None:
        self.token = token
        self.held = {s.pk for s in subscriptions}
        self.sending = {s.pk: s for s in subscriptions}
        self.secrets: dict[uuid.UUID, str] = {}

    def secret(self, subscription: Subscription) -> str:
        if subscription.pk not in self.secrets:
            sealed = (
                subscription.secret_sealed
                if subscription.channel == Channel.WEBHOOK
                else subscription.taxii_password_sealed
            )
            self.secrets[subscription.pk] = unseal(sealed) if sealed else ""
        return self.secrets[subscription.pk]

    def leave(self, subscription_ids: Iterable[uuid.UUID], *, alone: bool = False) -> None:
        """Stop sending for these subscriptions and let their leases go at once (a
        subscription waiting for its backoff must not wait for the whole run too)."""
        gone = [pk for pk in subscription_ids if pk in self.held]
        for pk in gone:
            self.sending.pop(pk, None)
            self.held.discard(pk)
        if gone:
            _leases_release(gone, self.token)
            pumps_kick(subscriptions_due(gone), force=True, alone=alone)

    def drop(self, subscription_ids: Iterable[uuid.UUID]) -> None:
        """Stop sending for subscriptions whose lease this run lost or that were paused."""
        for pk in subscription_ids:
            self.sending.pop(pk, None)


def _leases_claim(subscription_ids: list[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
    now = timezone.now()
    rows = Subscription.objects.filter(
        pk__in=subscription_ids, status=SubscriptionStatus.ACTIVE
    ).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    return _update_claiming(
        rows,
        lease_token=token,
        lease_until=now + timedelta(seconds=settings.FANOUT_LEASE_SECONDS),
        kicked_at=None,
    )


def _leases_renew(subscription_ids: list[uuid.UUID], token: uuid.UUID) -> set[uuid.UUID]:
    """Extend the leases before each send; answers those still held (not paused, not lost)."""
    lease_until = timezone.now() + timedelta(seconds=settings.FANOUT_LEASE_SECONDS)
    rows = Subscription.objects.filter(
        pk__in=subscription_ids, lease_token=token, status=SubscriptionStatus.ACTIVE
    )
    if rows.update(lease_until=lease_until) == len(subscription_ids):
        return set(subscription_ids)
    return set(rows.values_list("pk", flat=True))


def _leases_release(subscription_ids: Iterable[uuid.UUID], token: uuid.UUID) -> None:
    Subscription.objects.filter(pk__in=list(subscription_ids), lease_token=token).update(
        lease_token=None, lease_until=None
    )


def _deliveries_next(run: _Run, now: datetime) -> dict[uuid.UUID, Delivery]:
    """The head of each sending subscription's queue, in two or three queries for all of
    them: its oldest pending delivery, or a new batch of its oldest unbatched items once
    it is full or its oldest item waited max_wait. Subscriptions whose head waits for its
    backoff leave the run."""
    ids = list(run.sending)
    heads: dict[uuid.UUID, Delivery] = {}
    for delivery in Delivery.objects.filter(
        subscription_id__in=ids, state=DeliveryState.PENDING
    ).order_by("first_seq"):
        heads.setdefault(delivery.subscription_id, delivery)
    backing_off = [pk for pk, head in heads.items() if head.next_attempt_at > now]
    run.leave(backing_off)
    for pk in backing_off:
        del heads[pk]
    fresh = [pk for pk in ids if pk in run.sending and pk not in heads]
    if not fresh:
        return heads
    subscriptions = [run.sending[pk] for pk in fresh]
    unbatched = DeliveryItem.objects.filter(subscription_id__in=fresh, delivery__isnull=True)
    if len(fresh) > 1:
        # The first max_batch items of each subscription, in one query.
        unbatched = unbatched.annotate(
            rank=Window(RowNumber(), partition_by=[F("subscription_id")], order_by=F("seq").asc())
        ).filter(rank__lte=max(s.max_batch for s in subscriptions))
    else:
        unbatched = unbatched.order_by("seq")[: subscriptions[0].max_batch]
    found: dict[uuid.UUID, list[tuple[int, int, datetime]]] = {}
    for subscription_id, item_pk, seq, created_at in unbatched.values_list(
        "subscription_id", "pk", "seq", "created_at"
    ):
        found.setdefault(subscription_id, []).append((seq, item_pk, created_at))
    formed: dict[uuid.UUID, tuple[Delivery, list[int]]] = {}
    for subscription in subscriptions:
        items = sorted(found.get(subscription.pk, ()))[: subscription.max_batch]
        oldest = min((created_at for _, _, created_at in items), default=None)
        if not items or not batch_ready(subscription, len(items), oldest, now):
            continue
        delivery = Delivery(
            subscription=subscription, first_seq=items[0][0], object_count=len(items)
        )
        formed[subscription.pk] = (delivery, [pk for _, pk, _ in items])
    if formed:
        with transaction.atomic():
            Delivery.objects.bulk_create([delivery for delivery, _ in formed.values()])
            _items_batch(formed)
        heads |= {subscription_id: delivery for subscription_id, (delivery, _) in formed.items()}
    return heads


def _items_batch(formed: dict[uuid.UUID, tuple[Delivery, list[int]]]) -> None:
    """Point the items of each subscription's new delivery at it, in one statement."""
    item_ids = [pk for _, pks in formed.values() for pk in pks]
    if connection.vendor != "postgresql":
        which = Case(
            *(
                When(subscription_id=subscription_id, then=Value(delivery.pk))
                for subscription_id, (delivery, _) in formed.items()
            ),
            output_field=UUIDField(),
        )
        DeliveryItem.objects.filter(pk__in=item_ids).update(delivery_id=which)
        return
    # Django prepares each value of an IN list in Python, which at 50 subscriptions of 100
    # objects (5,000 items a round) cost 35-200 ms a round; as one array it is about 10 ms.
    table = connection.ops.quote_name(DeliveryItem._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {_item_column('delivery')} = v.delivery "
            "FROM unnest(%s::uuid[], %s::uuid[]) AS v(subscription, delivery) "
            f"WHERE {table}.{_item_column('subscription')} = v.subscription "
            f"AND {table}.{_item_column('id')} = ANY(%s::bigint[])",
            [
                list(formed),
                [delivery.pk for delivery, _ in formed.values()],
                item_ids,
            ],
        )


def _item_column(name: str) -> str:
    field = DeliveryItem._meta.get_field(name)
    assert isinstance(field, Field) and field.column is not None
    return connection.ops.quote_name(field.column)


def _sends_prepare(run: _Run, heads: dict[uuid.UUID, Delivery]) -> list[_Send]:
    """What each head carries: objects its owner can no longer read are left out."""
    contents = deliveries_contents(
        {delivery.pk: run.sending[pk].owner for pk, delivery in heads.items()}
    )
    return [
        _Send(run.sending[pk], delivery, contents[delivery.pk], run.secret(run.sending[pk]))
        for pk, delivery in heads.items()
    ]


def _attempts_record(jobs: list[_Send]) -> None:
    """Record every attempt of a round and move its deliveries on, in one transaction:
    a delivery succeeded, waits for its backoff, or is dead-lettered when it is final."""
    now = timezone.now()
    succeeded: dict[int | None, list[uuid.UUID]] = {}
    failed: list[_Send] = []
    with transaction.atomic():
        attempts = []
        for job in jobs:
            assert job.result is not None and job.started is not None
            result, delivery = job.result, job.delivery
            attempts.append(
                DeliveryAttempt(
                    delivery=delivery,
                    number=delivery.attempts + 1,
                    started_at=job.started,
                    status_code=result.status_code,
                    latency_ms=job.latency_ms,
                    error=result.error[:2000] if not result.ok else "",
                )
            )
            changes: dict[str, Any] = {
                "attempts": delivery.attempts + 1,
                "last_status_code": result.status_code,
                "last_error": "" if result.ok else result.error[:2000],
            }
            if result.ok:
                changes |= {"state": DeliveryState.DELIVERED, "delivered_at": now}
                succeeded.setdefault(result.status_code, []).append(delivery.pk)
            else:
                if not result.retryable or changes["attempts"] >= settings.FANOUT_MAX_ATTEMPTS:
                    changes |= {"state": DeliveryState.DEAD, "dead_at": now}
                else:
                    changes["next_attempt_at"] = now + timedelta(
                        seconds=_backoff(changes["attempts"], result.retry_after)
                    )
                failed.append(job)
                logger.info(
                    "fan-out: delivery %s attempt %d failed: %s",
                    delivery.pk,
                    changes["attempts"],
                    result.error,
                )
                Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
                    **changes
                )
            for name, value in changes.items():
                setattr(delivery, name, value)
        DeliveryAttempt.objects.bulk_create(attempts)
        for status_code, delivery_ids in succeeded.items():
            Delivery.objects.filter(pk__in=delivery_ids, state=DeliveryState.PENDING).update(
                state=DeliveryState.DELIVERED,
                delivered_at=now,
                attempts=F("attempts") + 1,
                last_status_code=status_code,
                last_error="",
            )
        ok = [job.subscription.pk for job in jobs if job not in failed]
        if ok:
            Subscription.objects.filter(pk__in=ok).update(
                last_success_at=now, consecutive_failures=0
            )
        if failed:
            Subscription.objects.filter(pk__in=[job.subscription.pk for job in failed]).update(
                last_failure_at=now, consecutive_failures=F("consecutive_failures") + 1
            )
    for job in failed:
        job.subscription.consecutive_failures += 1


def _round(run: _Run) -> bool:
    """Send the head of every sending subscription's queue once; False when none had one."""
    heads = _deliveries_next(run, timezone.now())
    if not heads:
        return False
    kept = _leases_renew(list(heads), run.token)
    run.drop(pk for pk in list(heads) if pk not in kept)
    jobs = _sends_prepare(run, {pk: head for pk, head in heads.items() if pk in kept})
    if len(jobs) == 1:
        _send(jobs[0])
    else:
        list(_send_pool().map(_send, jobs))
    _attempts_record(jobs)
    # A failed attempt ends its subscription's run: the head waits for its backoff and
    # nothing behind it may overtake it.
    run.leave(
        job.subscription.pk
        for job in jobs
        if job.result is not None
        and not job.result.ok
        and job.delivery.state == DeliveryState.PENDING
    )
    if len(run.sending) > 1:
        run.leave(
            (job.subscription.pk for job in jobs if job.latency_ms > SLOW_SEND_MS), alone=True
        )
    return True


def subscriptions_pump(*, subscription_ids: Iterable[uuid.UUID | str]) -> None:
    """Send the due deliveries of several subscriptions: each subscription's one at a
    time, oldest first; the subscriptions' side by side, in rounds.

    A lease makes this run the only sender for each subscription it claims (a killed
    worker's leases expire after FANOUT_LEASE_SECONDS). Each round takes the head of every
    subscription's queue, sends them all at once (threads), and records the attempts,
    with the same few queries for one subscription as for PUMP_GROUP of them. A failed
    attempt ends its subscription's part in the run: the head waits for its backoff and
    nothing behind it may overtake it. After FANOUT_PUMP_ROUNDS rounds the run yields its
    worker so busy subscriptions cannot starve the others; it queues what is left due.
    """
    wanted = [uuid.UUID(str(subscription_id)) for subscription_id in subscription_ids]
    token = uuid.uuid4()
    claimed = _leases_claim(wanted, token)
    refused = [pk for pk in wanted if pk not in claimed]
    if refused:
        # Another run is sending (it queues what it leaves due when it ends) or the
        # subscription is paused: either way this run is not "waiting", so let the next
        # dispatch queue a pump at once instead of after FANOUT_KICK_TTL_SECONDS.
        Subscription.objects.filter(pk__in=refused).update(kicked_at=None)
    if not claimed:
        return
    run = _Run(token, list(Subscription.objects.select_related("owner").filter(pk__in=claimed)))
    try:
        for _ in range(settings.FANOUT_PUMP_ROUNDS):
            if not run.sending or not _round(run):
                break
    finally:
        _leases_release(run.held, token)
    # Work that arrived while this run held the leases was not queued for (the kicks
    # skipped the held leases): queue it now rather than at the next heartbeat.
    pumps_kick(subscriptions_due(run.held), force=True)


def subscription_pump(*, subscription_id: str) -> None:
    """Send one subscription's due deliveries, in order (a run of one)."""
    subscriptions_pump(subscription_ids=[subscription_id])


# --- Dead letters ------------------------------------------------------------------------------


def delivery_replay(*, delivery: Delivery) -> bool:
    """Send a dead letter again (attempts start over). It goes to the head of its
    subscription's queue, so it may now arrive after objects published later."""
    replayed = Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.DEAD).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now(), dead_at=None
    )
    if replayed:
        transaction.on_commit(lambda: pumps_kick([delivery.subscription_id]))
    return bool(replayed)


def deliveries_replay(*, deliveries: Iterable[Delivery]) -> int:
    return sum(delivery_replay(delivery=delivery) for delivery in deliveries)
