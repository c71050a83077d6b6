"""The console's users: Forum staff in one of its roles (docs/console.md)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from exchange.console.selectors import forum_member
from members.models import Membership
from members.services import audit_record

#: The console's roles: Django groups created by the migration 0002_analyst_and_admin_roles.
ROLES = ("analyst", "admin")


@transaction.atomic
def analyst_create(*, username: str, password: str, role: str, superuser: bool = False) -> User:
    """A Forum staff user in one console role; the password must pass the validators.

    ``superuser`` also gives every model permission in the Django admin, which only the
    Forum's staff may enter (exchange.admin_site): the way to make an operator.
    """
    if role not in ROLES:
        raise ValidationError(f"role is one of {', '.join(ROLES)}")
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"A user named {username!r} exists already.")
    user = User(username=username, is_staff=True, is_superuser=superuser)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    forum = forum_member()
    Membership.objects.create(user=user, member=forum)
    user.groups.add(Group.objects.get(name=role))
    audit_record(
        action="console-user-create",
        target=username,
        actor_member=forum,
        after={"role": role, "is_staff": True, "is_superuser": superuser},
    )
    return user
