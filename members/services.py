"""Writes that span members, tokens and the STIX identity objects that represent them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from members.choices import MemberKind, TokenScope
from members.models import ApiToken, AuditEvent, KeyState, Member, SigningKey

#: The widest scopes each kind of member may hold (least privilege).
ALLOWED_SCOPES: dict[str, set[str]] = {
    MemberKind.LAB: {TokenScope.READ, TokenScope.PUBLISH},
    MemberKind.PARTNER: {TokenScope.READ},
    MemberKind.FORUM: {TokenScope.READ, TokenScope.PUBLISH, TokenScope.ADMIN},
}


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


@transaction.atomic
def amber_strict_recipients_set(
    *,
    member: Member,
    recipients: list[Member],
    actor_member: Member | None = None,
    actor_user: User | None = None,
) -> None:
    """Set the members whose people may read ``member``'s TLP:AMBER+STRICT objects."""
    before = sorted(member.amber_strict_recipients.values_list("name", flat=True))
    after = sorted(recipient.name for recipient in recipients)
    if before == after:
        return
    member.amber_strict_recipients.set(recipients)
    audit_record(
        action="amber-strict-recipients-set",
        target=member.name,
        actor_member=actor_member,
        actor_user=actor_user,
        before={"recipients": before},
        after={"recipients": after},
    )
