"""Members as the exchange presents them in STIX: onboarding, their identity objects and the
keys those carry, and the profile (docs/signing.md section 11).

Every change to a member's keys publishes a new version of its identity, in the same
transaction, so the key list a verifier is served is always the one the exchange holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from members import keystore
from members.choices import MemberKind
from members.models import KeyState, Member, SigningKey
from members.selectors import member_jwks
from members.services import audit_record
from signatures.models import StixObject
from signatures.object_signing import without_signatures
from signatures.sdk import jss
from signatures.sdk.constants import FORUM_IDENTITY_ID, SIGNING_EXTENSION_ID
from signatures.sdk.jss import format_timestamp
from signatures.sdk.profile import load_profile
from signatures.selectors import collection_default
from signatures.services.publish import PublishReport, objects_publish


def profile_publish(*, forum: Member) -> PublishReport:
    """Publish, as the Forum, its identity, the official TLP 2.0 markings and the
    distillation profile's extension definitions (idempotent: stored ones are present).
    """
    profile = load_profile()
    markings = json.loads(
        resources.files("signatures").joinpath("profile/markings/tlp-2.0.json").read_text()
    )
    objects = [profile.forum_identity, *markings, *profile.extension_definitions.values()]
    # The Forum's identity is a member identity: only the exchange itself may write it.
    return objects_publish(member=forum, objects=objects, forum_signs=True)


def identity_publish(*, member: Member) -> PublishReport:
    """Publish (a new version of) the member's own STIX identity object.

    The identity carries the member's public keys (the JWK Set of
    ``/api/v1/members/<id>/jwks.json``) in the signing extension's ``keys`` and is signed by
    the Forum, which vouches for that key list (docs/signing.md section 11).
    """
    previous = StixObject.objects.filter(stix_id=member.identity_id).order_by("-version").first()
    moment = timezone.now()
    if previous is not None and previous.modified is not None and moment <= previous.modified:
        # Two key changes within one millisecond must still make two versions.
        moment = previous.modified + timedelta(milliseconds=1)
    now = format_timestamp(moment)
    identity: dict[str, Any] = (
        without_signatures(previous.data)
        if previous is not None
        else {
            "type": "identity",
            "spec_version": "2.1",
            "id": member.identity_id,
            "created": now,
            "created_by_ref": member.identity_id,
            "name": member.display_name,
            "identity_class": "organization",
            "sectors": ["technology"],
            "description": f"AI-ISAC Exchange member ({member.kind}).",
        }
    )
    identity["modified"] = now
    keys = member_jwks(member)["keys"]
    if keys:
        identity["extensions"] = {
            **identity.get("extensions", {}),
            SIGNING_EXTENSION_ID: {"extension_type": "property-extension", "keys": keys},
        }
    if member.can_publish:
        return objects_publish(member=member, objects=[identity], forum_signs=True)
    # Partners cannot publish, so the Forum publishes their identity objects.
    forum = Member.objects.forum()
    identity["created_by_ref"] = forum.identity_id
    return objects_publish(member=forum, objects=[identity], forum_signs=True)


@transaction.atomic
def member_create(
    *,
    name: str,
    kind: str,
    display_name: str = "",
    identity_id: str | None = None,
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> Member:
    """Create a member, grant it the default feed and publish its STIX ``identity``.

    Everything or nothing: a lab created before the Forum exists is refused (ForumMissing)
    rather than left without a signed identity. The member's kind decides its privileges
    (least privilege per kind), so it is set here once and never changed afterwards.
    """
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
    audit_record(
        action="member-create",
        target=member.name,
        actor_member=actor_member,
        actor_user=actor_user,
        after={"kind": member.kind, "identity_id": member.identity_id},
    )
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
