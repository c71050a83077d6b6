"""Member organisations, their people and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from members.choices import MemberKind, TokenScope

TOKEN_PREFIX = "isac"


class Member(models.Model):
    """An organisation on the exchange, represented in STIX by its ``identity`` object."""

    name = models.SlugField(
        max_length=64,
        unique=True,
        help_text="Account name; also the user name for HTTP Basic authentication.",
    )
    display_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=MemberKind.choices)
    identity_id = models.CharField(max_length=100, unique=True, editable=False)
    #: Members whose people may read this member's TLP:AMBER+STRICT objects besides its own
    #: (TLP 2.0: "limited to the organization"; the exchange lets a lab name affiliates).
    amber_strict_recipients = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def new_identity_id() -> str:
        return f"identity--{uuid.uuid4()}"

    @property
    def is_authenticated(self) -> bool:
        """A member authenticated by a token stands as ``request.user`` in the API."""
        return True

    @property
    def can_publish(self) -> bool:
        return self.kind in {MemberKind.LAB, MemberKind.FORUM}


class Membership(models.Model):
    """Links a person (a Django user) to the organisation they act for."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.member}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer credential for one member.

    Only the SHA-256 of the token is stored: tokens are 256-bit random strings, so a fast
    hash is enough (no dictionary to brute-force) and keeps authentication cheap.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[ApiTokenQuerySet] = ApiTokenQuerySet.as_manager()  # type: ignore[assignment]

    #: last_used_at is refreshed at most this often, so reads do not turn into writes.
    LAST_USED_RESOLUTION = timedelta(minutes=1)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.member})"

    @staticmethod
    def hash(raw_token: str) -> str:
        return hashlib.sha256(raw_token.encode()).hexdigest()

    @staticmethod
    def generate() -> tuple[str, str]:
        """A new raw token and its visible prefix: ``isac_<prefix>_<secret>``."""
        prefix = secrets.token_hex(4)
        return f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def has_scope(self, scope: TokenScope | str) -> bool:
        return str(scope) in self.scopes or TokenScope.ADMIN in self.scopes

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at and now - self.last_used_at < self.LAST_USED_RESOLUTION:
            return
        ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
