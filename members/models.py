"""Member organisations, their people and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone

from members.choices import MemberKind, TokenScope
from signatures.sdk import jss
from signatures.sdk.jss import PublicJWK

TOKEN_PREFIX = "isac"


class ForumMissing(ImproperlyConfigured):
    """The exchange has no Forum member yet; every signed identity and the profile need it."""

    def __init__(self) -> None:
        super().__init__(
            "This exchange has no Forum member yet. Create it first (once, after migrate): "
            "manage.py bootstrap"
        )


class MemberQuerySet(models.QuerySet["Member"]):
    def forum(self) -> Member:
        """The exchange's one Forum member (member creation enforces one), or ForumMissing."""
        forum = self.filter(kind=MemberKind.FORUM).first()
        if forum is None:
            raise ForumMissing
        return forum


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
    #: The exchange signs this member's unsigned objects with its custodial key; a lab that
    #: signs on its own turns this off, and its unsigned objects are then refused.
    custodial_signing = models.BooleanField(default=True)
    #: This member's own limits (docs/api.md, "Limits"): empty takes the server's
    #: RATE_LIMIT_PER_MINUTE / CONCURRENCY_LIMIT, 0 lifts the limit.
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects: ClassVar[MemberQuerySet] = MemberQuerySet.as_manager()  # type: ignore[assignment]

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


class KeyState(models.TextChoices):
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"
    REVOKED = "revoked", "Revoked"


class SigningKey(models.Model):
    """One Ed25519 key a member signs STIX objects with (docs/signing.md section 5).

    Custodial keys are generated and held by the exchange, their 32-byte seed sealed with
    the master key (``members.keystore``); keys a lab registers itself have no private part
    here. A key is never deleted: old signatures stay verifiable against the published set.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="signing_keys")
    #: The RFC 7638 thumbprint of the public key.
    kid = models.CharField(max_length=64, unique=True, editable=False)
    #: kty, crv, x, kid, use, alg: the key itself, without its life (added when published).
    public_jwk = models.JSONField(editable=False)
    #: Sealed seed of a custodial key; null for registered keys and once retired or revoked.
    encrypted_private_key = models.BinaryField(null=True, blank=True, editable=False)
    custodial = models.BooleanField(default=False, editable=False)
    state = models.CharField(max_length=16, choices=KeyState.choices, default=KeyState.ACTIVE)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["member", "created_at", "pk"]
        indexes = [models.Index(fields=["member", "state"], name="signing_key_member_state")]

    def __str__(self) -> str:
        kind = "custodial" if self.custodial else "registered"
        return f"{self.kid} ({self.member}, {kind}, {self.state})"

    def published_jwk(self) -> PublicJWK:
        """The JWK as published in the member's key set, with the key's life members."""
        return jss.public_jwk(
            jss.load_public_key(self.public_jwk),
            signee=self.member.identity_id,
            valid_from=jss.format_timestamp(self.valid_from),
            valid_until=jss.format_timestamp(self.valid_until) if self.valid_until else None,
            revoked=jss.format_timestamp(self.revoked_at) if self.revoked_at else None,
            revocation_reason=(self.revocation_reason or None) if self.revoked_at else None,
        )


class AuditEvent(models.Model):
    """An append-only record of a security-relevant change: who did what to which target.

    ``target`` is free text (a key id, a STIX id, a member name) so that any later feature
    can record into the same log; ``before``/``after`` hold the changed fields.
    """

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor_member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.SlugField(max_length=64)
    target = models.CharField(max_length=300, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only.")
