"""Writes that span members, tokens and the STIX identity objects that represent them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from members import keystore
from members.choices import MemberKind, TokenScope
from members.models import ApiToken, AuditEvent, KeyState, Member, SigningKey
from signatures.sdk import jss
from signatures.sdk.constants import FORUM_IDENTITY_ID

#: The widest scopes each kind of member may hold (least privilege).
ALLOWED_SCOPES: dict[str, set[str]] = {
    MemberKind.LAB: {TokenScope.READ, TokenScope.PUBLISH},
    MemberKind.PARTNER: {TokenScope.READ},
    MemberKind.FORUM: {TokenScope.READ, TokenScope.PUBLISH, TokenScope.ADMIN},
}


@transaction.atomic
def member_create(
    *, name: str, kind: str, display_name: str = "", identity_id: str | None = None
) -> Member:
    """Create a member, grant it the default feed and publish its STIX ``identity``."""
    from signatures.selectors import collection_default
    from signatures.services import identity_publish, profile_publish

    if kind not in MemberKind.values:
        raise ValidationError(f"kind must be one of {', '.join(MemberKind.values)}, not {kind!r}")
    if Member.objects.filter(name=name).exists():
        raise ValidationError(f"A member named {name!r} already exists.")
    if kind == MemberKind.FORUM:
        if Member.objects.filter(kind=MemberKind.FORUM).exists():
            raise ValidationError("The exchange has a forum member already; there is only one.")
        # The profile's extension definitions name this identity as their creator.
        identity_id = FORUM_IDENTITY_ID
    member = Member(
        name=name,
        display_name=display_name or name,
        kind=kind,
        identity_id=identity_id or Member.new_identity_id(),
    )
    member.full_clean()
    member.save()
    feed = collection_default()
    feed.readers.add(member)
    if member.can_publish:
        feed.writers.add(member)
    if member.can_publish:
        # From day one a plain TAXII client can publish: the exchange signs for the member.
        key = _custodial_key_create(member=member)
        audit_record(action="signing-key-create", target=key.kid, after=_key_state(key))
    if kind == MemberKind.FORUM:
        profile_publish(forum=member)
    identity_publish(member=member)
    return member


def _token_state(token: ApiToken) -> dict[str, Any]:
    """What the audit log records of a token: never its value or hash."""
    return {
        "member": token.member.name,
        "name": token.name,
        "scopes": token.scopes,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


@transaction.atomic
def token_issue(
    *,
    member: Member,
    scopes: list[str],
    expires_in: timedelta | None = None,
    name: str = "",
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and never stored."""
    if not scopes:
        raise ValidationError("A token needs at least one scope.")
    unknown = sorted(set(scopes) - set(TokenScope.values))
    if unknown:
        raise ValidationError(f"Unknown scope(s): {', '.join(unknown)}.")
    refused = sorted(set(scopes) - ALLOWED_SCOPES[member.kind])
    if refused:
        raise ValidationError(
            f"A {member.kind} member cannot hold the scope(s): {', '.join(refused)}."
        )
    raw, prefix = ApiToken.generate()
    token = ApiToken.objects.create(
        member=member,
        name=name,
        prefix=prefix,
        token_hash=ApiToken.hash(raw),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + expires_in if expires_in else None,
    )
    audit_record(
        action="token-issue",
        target=f"token {token.prefix}",
        actor_member=actor_member,
        actor_user=actor_user,
        after=_token_state(token),
    )
    return token, raw


@transaction.atomic
def token_revoke(
    *,
    token: ApiToken,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> ApiToken:
    """Revoke a token for good: no entry point can clear ``revoked_at`` again."""
    # The conditional update is the check: of two concurrent revocations one records it.
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    if not revoked:
        raise ValidationError(f"The token {token.prefix}… is revoked already.")
    audit_record(
        action="token-revoke",
        target=f"token {token.prefix}",
        actor_member=actor_member,
        actor_user=actor_user,
        before={"member": token.member.name, "revoked_at": None},
        after={"revoked_at": token.revoked_at.isoformat() if token.revoked_at else None},
    )
    return token


# --- audit log ------------------------------------------------------------------------------


def audit_record(
    *,
    action: str,
    target: str,
    actor_member: Member | None = None,
    actor_user: User | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
) -> AuditEvent:
    """Append one event to the audit log. Never pass secrets: the log is shown to analysts."""
    return AuditEvent.objects.create(
        action=action,
        target=target,
        actor_member=actor_member,
        actor_user=actor_user,
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        note=note,
    )


# --- signing keys (docs/signing.md sections 5 and 11) ---------------------------------------


def _key_state(key: SigningKey) -> dict[str, Any]:
    """What the audit log records of a key: its life, never its private part."""
    return {
        "member": key.member.name,
        "custodial": key.custodial,
        "state": key.state,
        "valid_from": jss.format_timestamp(key.valid_from),
        "valid_until": jss.format_timestamp(key.valid_until) if key.valid_until else None,
        "revoked_at": jss.format_timestamp(key.revoked_at) if key.revoked_at else None,
        "revocation_reason": key.revocation_reason,
    }


def _keys_changed(member: Member) -> None:
    """Publish a new identity version carrying the member's new key set."""
    from signatures.services import identity_publish

    identity_publish(member=member)


def _custodial_key_create(*, member: Member, now: datetime | None = None) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    public = jss.public_jwk(private_key.public_key())
    now = now or timezone.now()
    return SigningKey.objects.create(
        member=member,
        kid=public["kid"],
        public_jwk=dict(public),
        encrypted_private_key=keystore.seal(private_key, kid=public["kid"]),
        custodial=True,
        valid_from=now,
        created_at=now,
    )


@transaction.atomic
def signing_key_rotate(
    *,
    member: Member,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> SigningKey:
    """Create a new active custodial key and retire the member's previous custodial ones.

    Retiring sets valid_until to now: signatures made before stay valid, and the retired key
    stays in the published set so they keep verifying. Its sealed seed is erased, since it
    may never sign again.
    """
    if not member.can_publish:
        raise ValidationError(f"A {member.kind} member does not sign objects.")
    now = timezone.now()
    retired = list(
        SigningKey.objects.select_for_update().filter(
            member=member, custodial=True, state=KeyState.ACTIVE
        )
    )
    for old in retired:
        before = _key_state(old)
        old.state = KeyState.RETIRED
        old.valid_until = now
        old.encrypted_private_key = None
        old.save(update_fields=["state", "valid_until", "encrypted_private_key"])
        audit_record(
            action="signing-key-retire",
            target=old.kid,
            actor_member=actor_member,
            actor_user=actor_user,
            before=before,
            after=_key_state(old),
        )
    key = _custodial_key_create(member=member, now=now)
    audit_record(
        action="signing-key-create",
        target=key.kid,
        actor_member=actor_member,
        actor_user=actor_user,
        after=_key_state(key),
        note="rotation" if retired else "",
    )
    _keys_changed(member)
    return key


@transaction.atomic
def signing_key_register(
    *,
    member: Member,
    jwk: Mapping[str, Any],
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> SigningKey:
    """Register a lab's own Ed25519 public key (RFC 8037 OKP JWK) for client-side signing.

    Only kty, crv and x are taken from the JWK; kid is recomputed as the RFC 7638
    thumbprint. A JWK holding the private member ``d`` is refused.
    """
    if not member.can_publish:
        raise ValidationError(f"A {member.kind} member does not sign objects.")
    if not isinstance(jwk, Mapping):
        raise ValidationError("The key must be a JWK (a JSON object).")
    try:
        public = jss.public_jwk(jss.load_public_key(jwk))
    except jss.InvalidJWKError as exc:
        raise ValidationError(f"Not a usable key: {exc}.") from exc
    if "kid" in jwk and jwk["kid"] != public["kid"]:
        raise ValidationError(
            f"'kid' must be the key's RFC 7638 thumbprint ({public['kid']}), not {jwk['kid']!r}."
        )
    if SigningKey.objects.filter(kid=public["kid"]).exists():
        raise ValidationError(f"The key {public['kid']} is registered already.")
    key = SigningKey.objects.create(
        member=member, kid=public["kid"], public_jwk=dict(public), custodial=False
    )
    audit_record(
        action="signing-key-register",
        target=key.kid,
        actor_member=actor_member,
        actor_user=actor_user,
        after=_key_state(key),
    )
    _keys_changed(member)
    return key


@transaction.atomic
def signing_key_revoke(
    *,
    key: SigningKey,
    reason: str,
    at: datetime | None = None,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> SigningKey:
    """Revoke a key from ``at`` (default now): signatures it made from then on are invalid.

    ``at`` should be the earliest moment the key may have left its owner's control; a
    thief can backdate signatures (docs/signing.md section 5).
    """
    if not reason.strip():
        raise ValidationError("Say why the key is revoked.")
    key = SigningKey.objects.select_for_update().select_related("member").get(pk=key.pk)
    if key.state == KeyState.REVOKED:
        raise ValidationError(f"The key {key.kid} is revoked already.")
    before = _key_state(key)
    key.state = KeyState.REVOKED
    key.revoked_at = at or timezone.now()
    key.revocation_reason = reason.strip()
    key.encrypted_private_key = None
    key.save(update_fields=["state", "revoked_at", "revocation_reason", "encrypted_private_key"])
    audit_record(
        action="signing-key-revoke",
        target=key.kid,
        actor_member=actor_member,
        actor_user=actor_user,
        before=before,
        after=_key_state(key),
        note=key.revocation_reason,
    )
    _keys_changed(key.member)
    return key


@transaction.atomic
def custodial_signing_set(
    *,
    member: Member,
    enabled: bool,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> Member:
    """Switch custodial signing on or off; off needs an active key the lab registered."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.custodial_signing == enabled:
        return member
    if not enabled:
        if member.kind == MemberKind.FORUM:
            raise ValidationError("The Forum signs with its custodial key.")
        own_keys = SigningKey.objects.filter(member=member, custodial=False, state=KeyState.ACTIVE)
        if not own_keys.exists():
            raise ValidationError(
                f"{member.name} has no active registered key: register one (register_key) "
                "before switching custodial signing off."
            )
    member.custodial_signing = enabled
    member.save(update_fields=["custodial_signing"])
    audit_record(
        action="custodial-signing-set",
        target=member.name,
        actor_member=actor_member,
        actor_user=actor_user,
        before={"custodial_signing": not enabled},
        after={"custodial_signing": enabled},
    )
    return member
