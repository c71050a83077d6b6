"""Writes that span members, tokens and the STIX identity objects that represent them."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from members.choices import MemberKind, TokenScope
from members.models import ApiToken, Member
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
    if kind == MemberKind.FORUM:
        profile_publish(forum=member)
    else:
        identity_publish(member=member)
    return member


def token_issue(
    *,
    member: Member,
    scopes: list[str],
    expires_in: timedelta | None = None,
    name: str = "",
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
    return token, raw


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
