"""exchange/admin_mixins.py: who the audit log names for an admin change, and read-only admins."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client, RequestFactory

from exchange.admin_mixins import ReadOnlyAdminMixin, admin_actors
from members.models import AuditEvent, Member


def request_by(user: User | AnonymousUser) -> object:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_it_names_the_user_and_the_member_they_act_for(operator: User, forum: Member) -> None:
    assert admin_actors(request_by(operator)) == {  # type: ignore[arg-type]
        "actor_member": forum,
        "actor_user": operator,
    }


def test_it_names_no_member_for_a_user_without_one(db: None) -> None:
    loner = User.objects.create_user("loner")
    assert admin_actors(request_by(loner)) == {"actor_member": None, "actor_user": loner}  # type: ignore[arg-type]
    assert admin_actors(request_by(AnonymousUser())) == {  # type: ignore[arg-type]
        "actor_member": None,
        "actor_user": None,
    }


def test_it_refuses_every_change_in_a_read_only_admin(operator: User) -> None:
    mixin = ReadOnlyAdminMixin()
    request = request_by(operator)
    assert not mixin.has_add_permission(request)  # type: ignore[arg-type]
    assert not mixin.has_change_permission(request, object())  # type: ignore[arg-type]
    assert not mixin.has_delete_permission(request, object())  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", ["add/", "{pk}/delete/"])
def test_it_keeps_the_audit_log_as_written_in_the_admin(
    admin_browser: Client, forum: Member, suffix: str
) -> None:
    event = AuditEvent.objects.create(action="token-issue", target="lab-a/ci", actor_member=forum)
    base = "/admin/members/auditevent/"
    assert admin_browser.get(base).status_code == 200
    assert admin_browser.get(f"{base}{event.pk}/change/").status_code == 200  # view only
    assert admin_browser.get(base + suffix.format(pk=event.pk)).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
