"""create_analyst: a Forum console user from the command line."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from members.models import AuditEvent, Member

STRONG = "plum orchard lantern 8815"


def create(monkeypatch: pytest.MonkeyPatch, *args: str, password: str = STRONG) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    out = io.StringIO()
    call_command("create_analyst", *args, "--password-stdin", stdout=out)
    return out.getvalue()


def test_it_creates_a_forum_user_who_can_sign_in(
    monkeypatch: pytest.MonkeyPatch, forum: Member
) -> None:
    assert create(monkeypatch, "carol", "--role", "admin") == (
        "carol (admin) can sign in at /console/\n"
    )
    client = Client()
    response = client.post("/console/login/", {"username": "carol", "password": STRONG})
    assert response.status_code == 302
    assert client.get("/console/members/").status_code == 200
    assert AuditEvent.objects.get(action="console-user-create").target == "carol"


def test_it_gives_analysts_no_administration(
    monkeypatch: pytest.MonkeyPatch, forum: Member
) -> None:
    create(monkeypatch, "dave")
    client = Client()
    client.post("/console/login/", {"username": "dave", "password": STRONG})
    assert client.get("/console/").status_code == 200
    assert client.get("/console/members/").status_code == 403


def test_it_refuses_weak_passwords_and_taken_names(
    monkeypatch: pytest.MonkeyPatch, forum: Member
) -> None:
    with pytest.raises(CommandError, match="too common"):
        create(monkeypatch, "erin", password="password")
    create(monkeypatch, "erin")
    with pytest.raises(CommandError, match="exists already"):
        create(monkeypatch, "erin")


def test_it_refuses_to_prompt_without_a_terminal_and_names_password_stdin(
    monkeypatch: pytest.MonkeyPatch, forum: Member
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # a pipe or /dev/null: no TTY
    with pytest.raises(CommandError, match="--password-stdin"):
        call_command("create_analyst", "frank", "--role", "analyst", stdout=io.StringIO())
    assert not User.objects.filter(username="frank").exists()


def test_it_refuses_an_empty_password_on_stdin(
    monkeypatch: pytest.MonkeyPatch, forum: Member
) -> None:
    with pytest.raises(CommandError, match="empty password"):
        create(monkeypatch, "gina", password="")


@pytest.mark.django_db
def test_it_names_bootstrap_on_an_exchange_without_a_forum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(CommandError, match=r"manage.py bootstrap"):
        create(monkeypatch, "hank")
    assert not User.objects.filter(username="hank").exists()
