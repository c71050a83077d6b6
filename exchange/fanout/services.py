"""Fan-out writes: subscriptions, the transactional outbox, the dispatcher and the pump.

Guarantees (docs/fanout.md): every object accepted into a collection is matched against
every subscription (the outbox row commits with the object); every match is delivered at
least once or dead-lettered, visibly; a subscription's deliveries leave one at a time in
outbox order; a subscription only ever gets what its owner may read over TAXII.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
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
    subscription_backlog,
    subscription_entries,
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
        dispatch.delay()
    except (OperationalError, OSError) as exc:
        # The object is committed and in the outbox; the heartbeat will dispatch it once
        # the broker is back. Failing the publish here would make the client retry it.
        logger.warning("fan-out: broker unavailable, dispatch left to the heartbeat: %s", exc)


def _content_matches(subscription: Subscription, data: dict[str, Any]) -> bool:
    """The filters that look inside the object (STIX 2.1 sections 4.7 and 3.2)."""
    if subscription.labels:
        present = set(data.get("indicator_types") or ()) | set(data.get("labels") or ())
        if present.isdisjoint(subscription.labels):
            return False
    if subscription.kill_chain_phases:
        phases = {phase.get("phase_name") for phase in data.get("kill_chain_phases") or ()}
        if phases.isdisjoint(subscription.kill_chain_phases):
            return False
    if subscription.min_confidence is not None:
        confidence = data.get("confidence")
        if not isinstance(confidence, int) or confidence < subscription.min_confidence:
            return False
    return True


def outbox_dispatch() -> int:
    """Match the oldest undispatched outbox entries against every subscription.

    One dispatcher at a time (the lock row is taken with SELECT ... FOR UPDATE SKIP LOCKED
    on PostgreSQL; a second dispatcher finds it taken and returns): running two side by
    side could commit a later batch of matches before an earlier one and break order. On
    SQLite every write transaction starts with BEGIN IMMEDIATE, which already admits one
    writer at a time. Returns how many entries were dispatched.
    """
    DispatcherLock.objects.get_or_create(pk=1)
    kicked: set[uuid.UUID] = set()
    with transaction.atomic():
        lock = DispatcherLock.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if lock is None:
            return 0
        batch = list(
            OutboxEntry.objects.filter(dispatched_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "collection_entry_id", "created_at")[
                : settings.FANOUT_DISPATCH_BATCH
            ]
        )
        if not batch:
            return 0
        seq_of = {entry_id: seq for seq, entry_id, _ in batch}
        items: list[DeliveryItem] = []
        for subscription in Subscription.objects.select_related("owner").prefetch_related(
            "collections"
        ):
            # A subscription starts with the objects published after it was created.
            fresh = [entry_id for _, entry_id, added in batch if added >= subscription.created_at]
            if not fresh:
                continue
            candidates = subscription_entries(
                subscription, CollectionEntry.objects.filter(pk__in=fresh)
            ).values_list("pk", "stix_object__data")
            for entry_id, data in candidates:
                if not _content_matches(subscription, data):
                    continue
                seq = seq_of[entry_id]
                items.append(
                    DeliveryItem(subscription=subscription, collection_entry_id=entry_id, seq=seq)
                )
                if subscription.is_active:
                    kicked.add(subscription.pk)
        DeliveryItem.objects.bulk_create(items, ignore_conflicts=True)
        now = timezone.now()
        OutboxEntry.objects.filter(pk__in=[seq for seq, _, _ in batch]).update(dispatched_at=now)
        DispatcherLock.objects.filter(pk=1).update(last_run_at=now)
        for subscription_id in kicked:
            _backlog_bound(subscription_id)
        transaction.on_commit(lambda: pumps_kick(kicked))
    return len(batch)


def _backlog_bound(subscription_id: uuid.UUID) -> None:
    """Auto-pause a subscription whose undelivered backlog passed FANOUT_MAX_BACKLOG."""
    backlog = subscription_backlog(subscription_id)
    if backlog > settings.FANOUT_MAX_BACKLOG:
        reason = (
            f"auto-paused at {timezone.now():%Y-%m-%d %H:%M:%S}Z: {backlog} undelivered "
            f"objects exceed FANOUT_MAX_BACKLOG={settings.FANOUT_MAX_BACKLOG}"
        )
        paused = Subscription.objects.filter(
            pk=subscription_id, status=SubscriptionStatus.ACTIVE
        ).update(status=SubscriptionStatus.PAUSED, paused_reason=reason)
        if paused:
            logger.warning("fan-out: subscription %s %s", subscription_id, reason)


def pumps_kick(subscription_ids: Iterable[uuid.UUID], *, force: bool = False) -> None:
    """Enqueue a pump for each active subscription that has none queued recently.

    ``kicked_at`` is claimed with a conditional update, so the heartbeat and the
    dispatcher never queue a second pump while one is waiting; a pump lost with a dead
    broker or worker is re-queued once FANOUT_KICK_TTL_SECONDS have passed. ``force``
    is for a pump that just released its lease: a pump queued meanwhile may already have
    found the lease taken and quit, so "one is waiting" cannot be trusted then.
    """
    from exchange.fanout.tasks import pump

    now = timezone.now()
    stale = now - timedelta(seconds=settings.FANOUT_KICK_TTL_SECONDS)
    for subscription_id in subscription_ids:
        rows = Subscription.objects.filter(pk=subscription_id, status=SubscriptionStatus.ACTIVE)
        if not force:
            rows = rows.filter(Q(kicked_at__isnull=True) | Q(kicked_at__lt=stale))
        claimed = rows.update(kicked_at=now)
        if not claimed:
            continue
        try:
            pump.delay(str(subscription_id))
        except (OperationalError, OSError) as exc:
            Subscription.objects.filter(pk=subscription_id, kicked_at=now).update(kicked_at=None)
            logger.warning("fan-out: broker unavailable, pump not queued: %s", exc)
            return


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


# --- The pump: one subscription's deliveries, in order ---------------------------------------


def _lease_claim(subscription_id: uuid.UUID | str, token: uuid.UUID) -> bool:
    now = timezone.now()
    return bool(
        Subscription.objects.filter(pk=subscription_id, status=SubscriptionStatus.ACTIVE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(
            lease_token=token,
            lease_until=now + timedelta(seconds=settings.FANOUT_LEASE_SECONDS),
            kicked_at=None,
        )
    )


def _lease_renew(subscription_id: uuid.UUID, token: uuid.UUID) -> bool:
    """Extend the lease before each send; False once paused or the lease was lost."""
    lease_until = timezone.now() + timedelta(seconds=settings.FANOUT_LEASE_SECONDS)
    return bool(
        Subscription.objects.filter(
            pk=subscription_id, lease_token=token, status=SubscriptionStatus.ACTIVE
        ).update(lease_until=lease_until)
    )


def _lease_release(subscription_id: uuid.UUID | str, token: uuid.UUID) -> None:
    Subscription.objects.filter(pk=subscription_id, lease_token=token).update(
        lease_token=None, lease_until=None
    )


def _delivery_next(subscription: Subscription) -> Delivery | None:
    """The head of the subscription's queue: the oldest pending delivery, or a new batch
    of the oldest unbatched items once it is full or its oldest item waited max_wait."""
    head = (
        Delivery.objects.filter(subscription=subscription, state=DeliveryState.PENDING)
        .order_by("first_seq")
        .first()
    )
    if head is not None:
        return head
    unbatched = DeliveryItem.objects.filter(subscription=subscription, delivery__isnull=True)
    items = list(unbatched.order_by("seq").values_list("pk", "seq", "created_at"))[
        : subscription.max_batch
    ]
    if not items:
        return None
    waited = timezone.now() - items[0][2]
    if len(items) < subscription.max_batch and waited < timedelta(
        milliseconds=subscription.max_wait_ms
    ):
        return None
    with transaction.atomic():
        delivery = Delivery.objects.create(
            subscription=subscription, first_seq=items[0][1], object_count=len(items)
        )
        DeliveryItem.objects.filter(pk__in=[pk for pk, _, _ in items]).update(delivery=delivery)
    return delivery


def _backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds until the next try: "full jitter" exponential backoff, or Retry-After."""
    if retry_after is not None:
        return min(retry_after, settings.FANOUT_RETRY_AFTER_MAX_MS / 1000)
    ceiling = min(
        settings.FANOUT_BACKOFF_MAX_MS, settings.FANOUT_BACKOFF_BASE_MS * 2 ** (attempts - 1)
    )
    # Never below half the ceiling: full jitter alone can retry a struggling receiver at once.
    return random.uniform(ceiling / 2, ceiling) / 1000


def _delivery_send(subscription: Subscription, delivery: Delivery) -> channels.SendResult:
    """One attempt; objects the owner can no longer read are left out (never sent)."""
    visible = subscription_entries(
        subscription,
        CollectionEntry.objects.filter(pk__in=delivery.items.values("collection_entry_id")),
        with_filters=False,
    )
    raws = list(
        delivery.items.filter(collection_entry__in=visible)
        .order_by("seq")
        .values_list("collection_entry__stix_object__raw", flat=True)
    )
    if not raws:
        return channels.SendResult(ok=True, retryable=False, error="nothing left to send")
    if subscription.channel == Channel.WEBHOOK:
        return channels.webhook_send(
            url=subscription.url,
            secret=unseal(subscription.secret_sealed),
            subscription_id=str(subscription.pk),
            delivery_id=str(delivery.pk),
            attempt=delivery.attempts + 1,
            body=channels.bundle_body(str(delivery.pk), raws),
        )
    sealed = subscription.taxii_password_sealed
    return channels.taxii_push(
        url=subscription.url,
        user=subscription.taxii_user,
        password=unseal(sealed) if sealed else "",
        body=channels.envelope_body(raws),
    )


def delivery_attempt(*, subscription: Subscription, delivery: Delivery) -> channels.SendResult:
    """Send ``delivery`` once and record the attempt; dead-letter it when it is final."""
    started = timezone.now()
    clock = time.monotonic()
    result = _delivery_send(subscription, delivery)
    latency_ms = int((time.monotonic() - clock) * 1000)
    now = timezone.now()
    attempts = delivery.attempts + 1
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=attempts,
        started_at=started,
        status_code=result.status_code,
        latency_ms=latency_ms,
        error=result.error[:2000] if not result.ok else "",
    )
    changes: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": result.status_code,
        "last_error": "" if result.ok else result.error[:2000],
    }
    if result.ok:
        changes |= {"state": DeliveryState.DELIVERED, "delivered_at": now}
        Subscription.objects.filter(pk=subscription.pk).update(
            last_success_at=now, consecutive_failures=0
        )
    else:
        if not result.retryable or attempts >= settings.FANOUT_MAX_ATTEMPTS:
            changes |= {"state": DeliveryState.DEAD, "dead_at": now}
        else:
            changes["next_attempt_at"] = now + timedelta(
                seconds=_backoff(attempts, result.retry_after)
            )
        Subscription.objects.filter(pk=subscription.pk).update(
            last_failure_at=now, consecutive_failures=subscription.consecutive_failures + 1
        )
        subscription.consecutive_failures += 1
        logger.info(
            "fan-out: delivery %s attempt %d failed: %s", delivery.pk, attempts, result.error
        )
    Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(**changes)
    for name, value in changes.items():
        setattr(delivery, name, value)
    return result


def subscription_pump(*, subscription_id: str) -> None:
    """Send a subscription's due deliveries, oldest first, one at a time.

    The lease makes this the only sender for the subscription (a killed worker's lease
    expires after FANOUT_LEASE_SECONDS). A failed attempt ends the run: the head of the
    queue waits for its backoff and nothing behind it may overtake it. After
    FANOUT_PUMP_ROUNDS deliveries the run yields its worker so a busy subscription cannot
    starve the others; the heartbeat queues the next run.
    """
    token = uuid.uuid4()
    if not _lease_claim(subscription_id, token):
        # Another run is sending (it re-queues what it leaves due when it ends) or the
        # subscription is paused: either way this run is not "waiting", so let the next
        # dispatch queue a pump at once instead of after FANOUT_KICK_TTL_SECONDS.
        Subscription.objects.filter(pk=subscription_id).update(kicked_at=None)
        return
    subscription = Subscription.objects.select_related("owner").get(pk=subscription_id)
    try:
        for _ in range(settings.FANOUT_PUMP_ROUNDS):
            delivery = _delivery_next(subscription)
            if delivery is None or delivery.next_attempt_at > timezone.now():
                break
            if not _lease_renew(subscription.pk, token):
                return
            result = delivery_attempt(subscription=subscription, delivery=delivery)
            if not result.ok and delivery.state == DeliveryState.PENDING:
                break
    finally:
        _lease_release(subscription_id, token)
    # Work that arrived while this run held the lease was not queued for (the kick found
    # the lease taken): queue it now rather than at the next heartbeat.
    pumps_kick(subscriptions_due([subscription.pk]), force=True)


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
