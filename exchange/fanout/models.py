"""Subscriptions, the transactional outbox and the deliveries made from it.

An accepted object gets an :class:`OutboxEntry` in the publish transaction; the dispatcher
turns each entry into one :class:`DeliveryItem` per subscription entitled to it; a
subscription's pending items are sent, oldest first, as :class:`Delivery` batches, each
with a stable id and a record of every :class:`DeliveryAttempt` (docs/fanout.md).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from members.models import Member
from signatures.choices import TLP_CEILING_CHOICES
from signatures.models import Collection, CollectionEntry


class Channel(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (HTTPS POST of a signed STIX bundle)"
    TAXII = "taxii", "TAXII 2.1 push (Add Objects to a remote collection)"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class Subscription(models.Model):
    """Where and what to push for one member (a lab, a partner or the Forum)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="subscriptions")
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    #: The webhook URL, or the remote TAXII 2.1 collection URL (ending in /collections/<id>/).
    url = models.URLField(max_length=2000)
    #: The webhook's HMAC key, sealed (services.secret_seal); shown once, at creation.
    secret_sealed = models.TextField(blank=True, editable=False)
    taxii_user = models.CharField(max_length=200, blank=True)
    taxii_password_sealed = models.TextField(blank=True, editable=False)

    # Filters: an empty list means "any".
    collections = models.ManyToManyField(Collection, blank=True, related_name="+")
    object_types = models.JSONField(default=list, blank=True)
    #: Matched against indicator_types and labels.
    labels = models.JSONField(default=list, blank=True)
    #: phase_name values of kill_chain_phases.
    kill_chain_phases = models.JSONField(default=list, blank=True)
    #: Objects without a confidence never pass a minimum (STIX 2.1 section 3.2: unknown).
    min_confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    #: The most restrictive TLP level accepted ("" accepts every level); unmarked objects
    #: rank as the sharing policy reads them (signatures.choices).
    tlp_ceiling = models.CharField(
        max_length=16, choices=TLP_CEILING_CHOICES, blank=True, default=""
    )

    # Batching: a delivery leaves when it holds max_batch objects or its oldest waited max_wait.
    max_batch = models.PositiveIntegerField(default=100)
    max_wait_ms = models.PositiveIntegerField(default=0)

    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    paused_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # One sender at a time (per-subscription order): claimed and renewed by conditional updates.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    #: When a pump task was last enqueued; stops the heartbeat from queueing duplicates.
    kicked_at = models.DateTimeField(null=True, blank=True, editable=False)

    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: Failed attempts since the last successful one.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["owner__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner})"

    @property
    def is_active(self) -> bool:
        return self.status == SubscriptionStatus.ACTIVE


class DispatcherLock(models.Model):
    """A single row the dispatcher locks, so outbox entries are matched in sequence order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "dispatcher lock"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead letter"


class Delivery(models.Model):
    """One batch for one subscription; its id is sent as X-ISAC-Delivery-Id on every attempt."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    #: Outbox sequence of the first object: deliveries of a subscription leave in this order.
    first_seq = models.BigIntegerField()
    object_count = models.PositiveIntegerField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["subscription", "first_seq"]
        indexes = [
            models.Index(fields=["subscription", "state", "first_seq"], name="delivery_queue"),
            models.Index(fields=["state", "delivered_at"], name="delivery_state"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"


class DeliveryItem(models.Model):
    """One object a subscription is entitled to; ``delivery`` is null until it is batched."""

    # Indexed by delivery_item_once, which leads with it: a second index would only cost
    # every insert.
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    collection_entry = models.ForeignKey(
        CollectionEntry, on_delete=models.CASCADE, related_name="+"
    )
    seq = models.BigIntegerField()
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # The dispatcher can run twice over an entry (a crash before it marked it) and
            # still create each item once.
            models.UniqueConstraint(
                fields=["subscription", "collection_entry"], name="delivery_item_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["subscription", "seq"],
                condition=models.Q(delivery__isnull=True),
                name="delivery_item_unbatched",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} for {self.subscription_id}"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: when, what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.status_code or self.error}"
