"""exchange.console.auth: who may reach the console and do what: roles, outsiders, CSRF,
login lockout (the admin's sign-in too), idle sessions, keys and grants through the pages."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client, RequestFactory

from exchange.console.models import Triage
from members.models import AuditEvent, KeyState, Member, SigningKey
from tests.exchange.console.conftest import PASSWORD, UserMaker
from tests.factories import token_for, token_row

ANALYST_PAGES = ["/console/", "/console/dashboard/", "/console/audit/"]
ADMIN_PAGES = ["/console/members/", "/console/collections/", "/console/subscriptions/"]
EVERY_PAGE = ANALYST_PAGES + ADMIN_PAGES + ["/console/audit/export.csv"]


def test_it_creates_the_two_roles_in_a_migration(db: None) -> None:
    def codenames(name: str) -> set[str]:
        return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))

    analyst = {
        "view_console",
        "triage_object",
        "release_object",
        "retire_object",
        "annotate_object",
        "restrict_tlp",
        "view_audit",
    }
    assert codenames("analyst") == analyst
    assert codenames("admin") == analyst | {"manage_access", "manage_keys", "manage_subscriptions"}


@pytest.mark.parametrize("url", EVERY_PAGE)
def test_it_sends_strangers_to_the_login_page(db: None, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/?next=")


@pytest.mark.parametrize("kind", ["partner", "lab"])
@pytest.mark.parametrize("url", EVERY_PAGE)
def test_it_refuses_partner_and_lab_users(
    kind: str, url: str, make_user: UserMaker, request: Any
) -> None:
    member = request.getfixturevalue("partner" if kind == "partner" else "lab_a")
    # Even staff users in the admin group: only the Forum's people use the console.
    user = make_user(f"{kind}-user", member, "admin", staff=True)
    client = Client()
    client.force_login(user)
    assert client.get(url).status_code == 403


def test_it_refuses_forum_users_who_are_not_staff_or_have_no_role(
    forum: Member, make_user: UserMaker
) -> None:
    for user in (make_user("nostaff", forum, "admin", staff=False), make_user("norole", forum)):
        client = Client()
        client.force_login(user)
        assert client.get("/console/").status_code == 403


def test_it_gives_analysts_triage_but_not_administration(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    for url in ANALYST_PAGES:
        assert analyst_client.get(url).status_code == 200, url
    for url in ADMIN_PAGES:
        assert analyst_client.get(url).status_code == 403, url
    token = token_row(token_for(Member.objects.get(name="lab-a")))
    assert analyst_client.post(f"/console/tokens/{token.pk}/revoke/").status_code == 403
    assert analyst_client.post("/console/members/lab-a/keys/rotate/").status_code == 403
    assert "Members &amp; access" not in analyst_client.get("/console/").content.decode()


def test_it_refuses_each_action_without_its_permission(
    forum: Member, make_user: UserMaker, slice_ids: dict[str, str]
) -> None:
    reader = make_user("reader", forum)
    reader.user_permissions.add(
        *Group.objects.get(name="analyst").permissions.exclude(
            codename__in=["release_object", "retire_object"]
        )
    )
    client = Client()
    client.force_login(reader)
    target = slice_ids["range"]
    assert client.get(f"/console/objects/{target}/").status_code == 200
    for action, data in (("release", {}), ("revoke", {"reason": "x", "confirm": "yes"})):
        assert client.post(f"/console/objects/{target}/{action}/", data).status_code == 403
    assert not Triage.objects.filter(stix_id=target).exists()
    assert client.post(f"/console/objects/{target}/review/").status_code == 302


def test_it_checks_csrf_on_every_form(analyst: User, slice_ids: dict[str, str]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    response = client.post(f"/console/objects/{slice_ids['range']}/release/")
    assert response.status_code == 403
    assert not Triage.objects.filter(stix_id=slice_ids["range"]).exists()
    page = client.get(f"/console/objects/{slice_ids['range']}/").content.decode()
    assert page.count("<form") == page.count('name="csrfmiddlewaretoken"')


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return client.post(
        "/console/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_it_locks_out_repeated_failed_logins(analyst: User) -> None:
    client = Client()
    for _ in range(settings.CONSOLE_LOGIN_MAX_FAILURES):
        response = _login(client, analyst.username, "wrong")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    locked = _login(client, analyst.username, PASSWORD)
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session

    # Another address is not locked, and a success clears that address's failures.
    other = Client()
    _login(other, analyst.username, "wrong", ip="10.0.0.2")
    assert _login(other, analyst.username, PASSWORD, ip="10.0.0.2").status_code == 302
    assert other.get("/console/").status_code == 200


def test_it_refuses_console_login_to_partner_users(partner: Member, make_user: UserMaker) -> None:
    make_user("pat", partner, "admin")
    client = Client()
    response = _login(client, "pat", PASSWORD)
    assert "cannot use the analyst console" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_ends_idle_sessions(analyst_client: Client, settings: Any) -> None:
    assert analyst_client.get("/console/").status_code == 200
    session = analyst_client.session
    session["console_last_seen"] = int(time.time()) - settings.CONSOLE_IDLE_TIMEOUT - 1
    session.save()
    response = analyst_client.get("/console/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")
    assert analyst_client.get("/console/").status_code == 302
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_it_rotates_and_revokes_signing_keys_without_showing_private_keys(
    admin_client: Client, admin_user: User, lab_a: Member
) -> None:
    before = SigningKey.objects.get(member=lab_a, state=KeyState.ACTIVE)
    admin_client.post("/console/members/lab-a/keys/rotate/", {"confirm": "yes"})
    before.refresh_from_db()
    new = SigningKey.objects.get(member=lab_a, state=KeyState.ACTIVE)
    assert before.state == KeyState.RETIRED and new.pk != before.pk
    rotated = AuditEvent.objects.get(action="signing-key-create", target=new.kid)
    assert rotated.actor_user == admin_user

    admin_client.post(
        f"/console/keys/{new.pk}/revoke/", {"reason": "laptop lost", "confirm": "yes"}
    )
    new.refresh_from_db()
    assert (new.state, new.revocation_reason) == (KeyState.REVOKED, "laptop lost")

    page = admin_client.get("/console/members/").content.decode()
    assert new.kid[:10] in page
    for key in SigningKey.objects.exclude(encrypted_private_key=None):
        assert bytes(key.encrypted_private_key).hex() not in page
    assert '"d"' not in page and "encrypted_private_key" not in page


def test_it_grants_and_withdraws_collection_access(
    admin_client: Client, partner: Member, lab_a: Member
) -> None:
    from signatures.selectors import collection_default

    feed = collection_default()
    url = f"/console/collections/{feed.pk}/grants/"
    admin_client.post(url, {"member": "partner", "role": "reader", "granted": "0"})
    assert not feed.readers.filter(pk=partner.pk).exists()
    refused = admin_client.post(
        url, {"member": "partner", "role": "writer", "granted": "1"}, follow=True
    )
    assert "Read-only members cannot be writers: partner." in refused.content.decode()
    admin_client.post(url, {"member": "partner", "role": "reader", "granted": "1"})
    assert feed.readers.filter(pk=partner.pk).exists()
    events = AuditEvent.objects.filter(target=str(feed.pk)).order_by("pk")
    assert [e.action for e in events] == ["collection-reader-withdraw", "collection-reader-grant"]


# --- one lockout and one gate for every sign-in path -----------------------------------------

LOGIN_PATHS = {"console": "/console/login/", "admin": "/admin/login/"}


def _sign_in(client: Client, path: str, username: str, password: str) -> Any:
    return client.post(
        path, {"username": username, "password": password, "next": "/"}, REMOTE_ADDR="10.0.0.9"
    )


@pytest.mark.parametrize(("fail_at", "then_at"), [("admin", "console"), ("console", "admin")])
def test_it_locks_out_every_sign_in_path_after_failures_on_either(
    fail_at: str, then_at: str, admin_user: User
) -> None:
    admin_user.is_superuser = True
    admin_user.save()
    for _ in range(settings.CONSOLE_LOGIN_MAX_FAILURES):
        refused = _sign_in(Client(), LOGIN_PATHS[fail_at], admin_user.username, "wrong")
        assert refused.status_code == 200
    client = Client()
    locked = _sign_in(client, LOGIN_PATHS[then_at], admin_user.username, PASSWORD)
    assert locked.status_code == 200
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # authenticate() itself refuses, so any other sign-in path would be locked out too.
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.9")
    assert authenticate(request, username=admin_user.username, password=PASSWORD) is None


def test_create_analyst_makes_an_admin_operator_with_superuser(
    forum: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    call_command(
        "create_analyst",
        "operator",
        "--role",
        "admin",
        "--superuser",
        "--password-stdin",
        stdout=io.StringIO(),
    )
    client = Client()
    assert _sign_in(client, "/admin/login/", "operator", PASSWORD).status_code == 302
    assert client.get("/admin/members/apitoken/").status_code == 200
    event = AuditEvent.objects.get(action="console-user-create", target="operator")
    assert event.after == {"role": "admin", "is_staff": True, "is_superuser": True}
