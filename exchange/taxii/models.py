"""The TAXII 2.1 status resource (section 4.3.1), kept for every Add Objects request."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from exchange.taxii.pagination import timestamp_format
from members.models import Member
from signatures.models import Collection


class StatusState(models.TextChoices):
    PENDING = "pending", "pending"
    COMPLETE = "complete", "complete"


class Status(models.Model):
    """What became of the objects of one Add Objects request (TAXII 2.1 section 4.3.1).

    Only its owner may read it. ``successes``/``failures``/``pendings`` hold status-details
    (``id``, ``version``, ``message``) as the spec defines them.

    A request of more than TAXII_ASYNC_OBJECTS objects is kept here, ``pending``, until a
    task has published it (``exchange.taxii.services.status_process``): the objects stay
    in ``request_objects`` until then, so a lost task or worker loses nothing.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="taxii_statuses")
    api_root = models.SlugField(max_length=64)
    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="taxii_statuses"
    )
    status = models.CharField(max_length=16, choices=StatusState.choices)
    request_timestamp = models.DateTimeField(default=timezone.now)
    total_count = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    pending_count = models.PositiveIntegerField(default=0)
    successes = models.JSONField(default=list)
    failures = models.JSONField(default=list)
    pendings = models.JSONField(default=list)
    #: The objects of a pending request, dropped once it is complete.
    request_objects = models.JSONField(null=True, blank=True, editable=False)
    #: When a task was last queued for a pending request, and when one took it on; both
    #: are reset or overwritten only by conditional updates (services.py).
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "statuses"
        ordering = ["-request_timestamp"]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    def as_resource(self) -> dict[str, Any]:
        """The status resource; empty detail lists are left out, as the spec makes them optional."""
        resource: dict[str, Any] = {
            "id": str(self.id),
            "status": self.status,
            "request_timestamp": timestamp_format(self.request_timestamp),
            "total_count": self.total_count,
            "success_count": self.success_count,
            "failure_count": self.failure_count,
            "pending_count": self.pending_count,
        }
        for name in ("successes", "failures", "pendings"):
            if details := getattr(self, name):
                resource[name] = details
        return resource
