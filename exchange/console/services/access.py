"""The admin role's actions on access that are the console's own: issuing a token from its
form and replaying dead letters. Grants and keys go straight to their services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.models import User

from exchange.console.selectors import forum_member
from exchange.fanout.models import Delivery
from exchange.fanout.services import delivery_replay
from members.models import ApiToken, Member
from members.services import audit_record, token_issue


def console_token_issue(
    *,
    member: Member,
    scopes: list[str],
    user: User,
    name: str = "",
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token from the console's form (a lifetime in days); the raw value is
    returned once, for the page that shows it once."""
    return token_issue(
        member=member,
        scopes=scopes,
        name=name,
        expires_in=timedelta(days=expires_in_days) if expires_in_days else None,
        actor_member=forum_member(),
        actor_user=user,
    )


def dead_letters_replay(*, deliveries: Iterable[Delivery], user: User) -> int:
    """Send dead letters again through the fan-out's own replay; the count replayed."""
    forum = forum_member()
    replayed = 0
    for delivery in deliveries:
        if delivery_replay(delivery=delivery):
            replayed += 1
            audit_record(
                action="delivery-replay",
                target=str(delivery.pk),
                actor_member=forum,
                actor_user=user,
                before={"state": "dead", "subscription": str(delivery.subscription_id)},
                after={"state": "pending"},
            )
    return replayed
