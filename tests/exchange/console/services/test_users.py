"""exchange.console.services.users: Forum staff users in one console role, audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from exchange.console.services.users import analyst_create
from members.models import AuditEvent, Member

STRONG = "plum orchard lantern 8815"


def test_it_creates_a_staff_user_of_the_forum_in_one_role(forum: Member) -> None:
    user = analyst_create(username="carol", password=STRONG, role="analyst")

    assert (user.is_staff, user.is_superuser, user.check_password(STRONG)) == (True, False, True)
    assert list(user.groups.values_list("name", flat=True)) == ["analyst"]
    assert user.membership.member == forum
    event = AuditEvent.objects.get(action="console-user-create")
    assert (event.target, event.actor_member, event.after) == (
        "carol",
        forum,
        {"role": "analyst", "is_staff": True, "is_superuser": False},
    )


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("dave", STRONG, "operator", "role is one of analyst, admin"),
        ("dave", "password", "analyst", "This password is too common."),
        ("taken", STRONG, "admin", "A user named 'taken' exists already."),
    ],
)
def test_it_refuses_unknown_roles_weak_passwords_and_taken_names(
    forum: Member, username: str, password: str, role: str, message: str
) -> None:
    User.objects.create_user("taken")
    with pytest.raises(ValidationError) as refused:
        analyst_create(username=username, password=password, role=role)

    assert message in refused.value.messages
    assert not User.objects.filter(username="dave").exists()
    assert not AuditEvent.objects.filter(action="console-user-create").exists()
