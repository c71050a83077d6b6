"""Stored STIX 2.1 objects, every version of each, and the TAXII collections they are in."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import ClassVar

from django.db import models
from django.utils import timezone

from members.models import Member
from signatures.choices import TlpLevel

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"


#: The default collection's id is fixed so a TAXII client configured against one install
#: works against a fresh one.
DEFAULT_COLLECTION_ID = uuid.UUID("6b1f1a53-4c5e-4a5b-9b7d-2f0c6c1de001")


class CollectionQuerySet(models.QuerySet["Collection"]):
    def default(self) -> Collection:
        """The collection the REST publish API writes to.

        A migration creates it; it is re-created here if it was deleted (or flushed), so
        publishing never fails for want of it.
        """
        collection, _ = self.get_or_create(
            is_default=True,
            defaults={
                "id": DEFAULT_COLLECTION_ID,
                "title": "Distillation signatures",
                "description": "Signatures of AI distillation campaigns published by member labs.",
                "alias": "distillation",
            },
        )
        return collection


class Collection(models.Model):
    """A TAXII 2.1 Collection (section 5.2): a named feed with its readers and writers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_root = models.SlugField(max_length=64, default="feed")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    alias = models.SlugField(max_length=64, blank=True)
    media_types = models.JSONField(default=list)
    readers = models.ManyToManyField(Member, blank=True, related_name="readable_collections")
    writers = models.ManyToManyField(Member, blank=True, related_name="writable_collections")
    #: TLP:AMBER+STRICT is never served to partners unless the collection says so.
    partners_read_amber_strict = models.BooleanField(default=False)
    #: The collection the REST publish API writes to.
    is_default = models.BooleanField(default=False)
    #: Last date_added handed out; the row is locked while a publish assigns new ones.
    last_date_added = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects: ClassVar[CollectionQuerySet] = CollectionQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["api_root", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_collection",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.api_root})"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.media_types:
            self.media_types = [STIX_MEDIA_TYPE]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def next_date_added(self, now: datetime) -> datetime:
        """The next date_added: now, but always at least 1 µs after the previous one.

        TAXII clients page with added_after, so two objects must never share a date_added
        in one collection, and it must never go backwards (e.g. after a clock step).
        """
        if self.last_date_added is not None and now <= self.last_date_added:
            now = self.last_date_added + timedelta(microseconds=1)
        self.last_date_added = now
        return now


class StixObjectQuerySet(models.QuerySet["StixObject"]):
    def latest_versions(self) -> StixObjectQuerySet:
        """The newest version of each object id."""
        newer = StixObject.objects.filter(
            stix_id=models.OuterRef("stix_id"), version__gt=models.OuterRef("version")
        )
        return self.exclude(models.Exists(newer))


class StixObject(models.Model):
    """One version of one STIX object, kept as the text it was accepted as.

    ``raw`` is what the exchange serves, byte for byte; ``data`` is the same object as
    JSON(B) for queries. The identity of a version is (id, modified) (STIX 2.1 section 3.6)
    within its lineage: the publisher's for objects without a creator, else the creator's.
    """

    stix_id = models.CharField(max_length=300)
    type = models.CharField(max_length=250)
    spec_version = models.CharField(max_length=8, default="2.1")
    #: modified (or created), fraction padded to 9 digits: sortable and exact; "" for
    #: objects that are not versioned (SCOs without timestamps).
    version = models.CharField(max_length=32, blank=True)
    modified = models.DateTimeField(null=True, blank=True)
    created_by_ref = models.CharField(max_length=300, blank=True, db_index=True)
    revoked = models.BooleanField(default=False)
    tlp = models.CharField(max_length=16, choices=TlpLevel.choices, blank=True)
    raw = models.TextField()
    data = models.JSONField()
    #: The member that sent it; differs from created_by_ref for anonymised re-publication.
    publisher = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="published")
    received_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[StixObjectQuerySet] = StixObjectQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            # An object with a creator has one lineage, its creator's: (id, modified) names
            # one version exchange-wide (STIX 2.1 section 3.6).
            models.UniqueConstraint(
                fields=["stix_id", "version"],
                condition=~models.Q(created_by_ref=""),
                name="stix_object_version",
            ),
            # Objects without a creator (SCOs have deterministic ids and none) are kept per
            # publisher: two labs that report the same address each keep their own copy,
            # content and signature, and neither can make the exchange serve the other's.
            models.UniqueConstraint(
                fields=["stix_id", "version", "publisher"],
                condition=models.Q(created_by_ref=""),
                name="stix_object_version_per_publisher",
            ),
        ]
        indexes = [
            models.Index(fields=["stix_id", "version"], name="stix_object_id_version"),
            models.Index(fields=["type", "received_at"], name="stix_object_type"),
            models.Index(fields=["received_at", "id"], name="stix_object_received"),
        ]

    def __str__(self) -> str:
        return f"{self.stix_id} @ {self.version or '-'}"


class ObjectRecipient(models.Model):
    """An identity a TLP:RED object may be served to (named in its distribution extension)."""

    stix_object = models.ForeignKey(StixObject, on_delete=models.CASCADE, related_name="recipients")
    identity_id = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stix_object", "identity_id"], name="object_recipient"),
        ]
        indexes = [models.Index(fields=["identity_id"], name="recipient_identity")]

    def __str__(self) -> str:
        return f"{self.identity_id} may read {self.stix_object_id}"


class CollectionEntry(models.Model):
    """An object version in a collection, with the date_added the collection gave it.

    The version columns are copied from the object (they never change) so that every TAXII
    filter is answered from this table's indexes; ``is_latest``/``is_first`` are kept up to
    date on insert because match[version]=last is the default of every poll.
    """

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="entries")
    stix_object = models.ForeignKey(StixObject, on_delete=models.CASCADE, related_name="entries")
    date_added = models.DateTimeField()
    stix_id = models.CharField(max_length=300)
    type = models.CharField(max_length=250)
    version = models.CharField(max_length=32, blank=True)
    spec_version = models.CharField(max_length=8)
    is_latest = models.BooleanField(default=True)
    is_first = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "stix_object"], name="collection_entry"),
        ]
        indexes = [
            # Keyset pagination over (date_added, id): every page is an index range scan.
            models.Index(fields=["collection", "date_added", "id"], name="entry_page"),
            models.Index(
                fields=["collection", "date_added", "id"],
                condition=models.Q(is_latest=True),
                name="entry_page_latest",
            ),
            models.Index(fields=["collection", "type", "date_added", "id"], name="entry_type"),
            models.Index(fields=["collection", "stix_id", "version"], name="entry_object"),
        ]

    def __str__(self) -> str:
        return f"{self.stix_id} in {self.collection_id}"


class AnonymisedPublication(models.Model):
    """The member behind an object it published anonymously through the Forum.

    The served object is the Forum's (created_by_ref and signature); only Forum analysts may
    learn this row. It also reserves the object's next versions for the same member.
    """

    stix_object = models.OneToOneField(
        StixObject, on_delete=models.CASCADE, related_name="anonymised"
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.stix_object} by {self.member}"


class OutboxEntry(models.Model):
    """A collection entry waiting to be matched against subscriptions (docs/fanout.md).

    Written in the transaction that adds the entry (``signatures.services.collections``), so
    an object is in the outbox if and only if it was accepted; the auto-increment id is the
    outbox sequence that orders deliveries. The fan-out reads and retires these rows.
    """

    collection_entry = models.ForeignKey(
        CollectionEntry, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it was created with in the fan-out app, so that moving
        # the model to the publish transaction's app moved no data.
        db_table = "fanout_outboxentry"
        verbose_name_plural = "outbox entries"
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_pending",
            ),
            models.Index(fields=["dispatched_at"], name="outbox_dispatched"),
        ]

    def __str__(self) -> str:
        return f"outbox #{self.pk}"
