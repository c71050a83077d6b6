"""Triage state of published objects, and failed console logins (for throttling)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TriageState(models.TextChoices):
    """Where an object stands in the Forum's review (docs/console.md, "Workflow")."""

    NEW = "new", "New"
    UNDER_REVIEW = "under-review", "Under review"
    RELEASED = "released", "Released to partners"
    MEMBERS_ONLY = "members-only", "Kept members-only"
    RETIRED = "retired", "Retired"


#: The moves an analyst may make from each state. Release is allowed again from "released"
#: so that versions a lab published after the release reach partners too; retired is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    TriageState.NEW: frozenset(
        {
            TriageState.UNDER_REVIEW,
            TriageState.RELEASED,
            TriageState.MEMBERS_ONLY,
            TriageState.RETIRED,
        }
    ),
    TriageState.UNDER_REVIEW: frozenset(
        {TriageState.RELEASED, TriageState.MEMBERS_ONLY, TriageState.RETIRED}
    ),
    TriageState.RELEASED: frozenset(
        {TriageState.RELEASED, TriageState.MEMBERS_ONLY, TriageState.RETIRED}
    ),
    TriageState.MEMBERS_ONLY: frozenset(
        {TriageState.UNDER_REVIEW, TriageState.RELEASED, TriageState.RETIRED}
    ),
    TriageState.RETIRED: frozenset(),
}


class Triage(models.Model):
    """The Forum's decision about one STIX object (all its versions): one row per id.

    Objects without a row are "new". The row also carries the console's permissions
    (``Meta.permissions``), which the "analyst" and "admin" groups are granted.
    """

    stix_id = models.CharField(max_length=300, unique=True)
    state = models.CharField(
        max_length=16, choices=TriageState.choices, default=TriageState.NEW, db_index=True
    )
    #: The TLP level the publisher chose, kept once an analyst restricts the object's TLP.
    publisher_tlp = models.CharField(max_length=16, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        default_permissions = ()
        permissions = [
            ("view_console", "Can open the analyst console (queue, details, dashboard)"),
            ("triage_object", "Can move objects through triage"),
            ("release_object", "Can release objects to partners"),
            ("retire_object", "Can retire and revoke objects"),
            ("annotate_object", "Can add notes and campaign links"),
            ("restrict_tlp", "Can make an object's TLP more restrictive"),
            ("view_audit", "Can read and export the audit log"),
            ("manage_access", "Can manage members, users, tokens and collection grants"),
            ("manage_keys", "Can rotate and revoke signing keys"),
            ("manage_subscriptions", "Can manage subscriptions and replay dead letters"),
        ]

    def __str__(self) -> str:
        return f"{self.stix_id}: {self.state}"


class LoginFailure(models.Model):
    """One failed console login, counted per user name and client address.

    Kept in the database rather than the cache so that every web worker counts the same
    failures (the default cache is per process).
    """

    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField()
    failed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "ip", "failed_at"], name="login_failure_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip} at {self.failed_at:%Y-%m-%d %H:%M:%S}"


class PoolCount(models.Model):
    """The dashboard's counts over the whole pool as the Forum sees it, as last counted.

    One row. Counting 100,000 objects under the sharing policy takes the database seconds,
    so pages read this row and the worker recounts (exchange/console/services/pool_counts.py).
    ``pool_mark`` says what the pool looked like when counted, so that an unchanged pool is
    not counted again.
    """

    counted_at = models.DateTimeField()
    #: Seconds the last count took: a small pool is recounted in the request that finds it
    #: stale, a large one only by the worker.
    duration = models.FloatField(default=0.0)
    pool_mark = models.CharField(max_length=200)
    #: ``selectors.PoolCounts`` as JSON.
    counts = models.JSONField()
    #: Set while a counter is counting, so that no other starts; a counter that died frees
    #: it when it passes.
    counting_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"pool counted at {self.counted_at:%Y-%m-%d %H:%M:%S}"


class CorroborationCount(models.Model):
    """How many labs besides its publisher corroborate a queued object, as the Forum sees
    it (``selectors.corroboration``), as last counted with the PoolCount row.

    The queue's corroboration sort and the dashboard's ranking read it; the queue's
    "corroborated by" column is always counted afresh. Objects no other lab corroborates
    have no row.
    """

    stix_id = models.CharField(max_length=300, unique=True)
    object_type = models.CharField(max_length=250)
    labs = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "-labs", "stix_id"], name="corroboration_rank"),
            models.Index(fields=["labs"], name="corroboration_labs"),
        ]

    def __str__(self) -> str:
        return f"{self.stix_id}: {self.labs} labs"
