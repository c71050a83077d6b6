"""What several apps' admin classes share."""

from __future__ import annotations

from typing import TypedDict

from django.contrib.auth.models import User
from django.http import HttpRequest

from members.models import Member, Membership


class Actors(TypedDict):
    """Who the audit log names for a change made in the admin."""

    actor_member: Member | None
    actor_user: User | None


def admin_actors(request: HttpRequest) -> Actors:
    """The signed-in user and the member they act for: the Forum, since only its staff
    reach the admin (exchange.admin_site). Pass them to a service as ``**admin_actors(r)``."""
    user = request.user if isinstance(request.user, User) else None
    membership = (
        Membership.objects.select_related("member").filter(user=user).first() if user else None
    )
    return {"actor_member": membership.member if membership else None, "actor_user": user}


class ReadOnlyAdminMixin:
    """An admin that shows rows and never adds, changes or deletes one.

    For records that must stay as written (the audit log, stored object versions): the
    admin lists and displays them only. Put it before ``admin.ModelAdmin`` in the bases.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
