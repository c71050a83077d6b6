"""issue_token: a working token alone on the last line for a script, audited without the
token itself."""

from __future__ import annotations

import pytest
from django.core.management import CommandError
from rest_framework.test import APIClient

from members.models import ApiToken, AuditEvent, Member
from tests.conftest import run


def test_issue_token_prints_a_working_token_alone_on_the_last_line(lab_a: Member) -> None:
    output = run(
        "issue_token", "--member", "lab-a", "--scopes", "read,publish", "--expires-days", "7"
    )
    raw = output.strip().splitlines()[-1]
    token = ApiToken.objects.get(token_hash=ApiToken.hash(raw))
    assert token.scopes == ["publish", "read"] and token.expires_at is not None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/objects/").status_code == 200


def test_issue_token_refuses_publish_for_a_partner(partner: Member) -> None:
    with pytest.raises(CommandError, match="cannot hold the scope"):
        run("issue_token", "--member", "partner", "--scopes", "publish")


def test_issue_token_refuses_an_unknown_member(db: None) -> None:
    with pytest.raises(CommandError, match="No member named"):
        run("issue_token", "--member", "ghost", "--scopes", "read")


def test_issue_token_records_the_token_it_issues(lab_a: Member) -> None:
    raw = run("issue_token", "--member", "lab-a", "--scopes", "read", "--name", "siem")
    token = ApiToken.objects.get(token_hash=ApiToken.hash(raw.strip().splitlines()[-1]))
    event = AuditEvent.objects.get(action="token-issue")
    assert event.target == f"token {token.prefix}"
    assert event.after == {
        "member": "lab-a",
        "name": "siem",
        "scopes": ["read"],
        "expires_at": None,
    }
    # The log never holds the token itself.
    assert raw.strip() not in str(event.after) and token.token_hash not in str(event.after)


def test_issue_token_refuses_without_a_record(partner: Member) -> None:
    with pytest.raises(CommandError, match="cannot hold the scope"):
        run("issue_token", "--member", "partner", "--scopes", "publish")
    assert not ApiToken.objects.filter(member=partner).exists()
    assert not AuditEvent.objects.filter(action="token-issue").exists()


def test_it_lists_the_valid_scopes_for_an_unknown_one(lab_a: Member) -> None:
    with pytest.raises(CommandError) as caught:
        run("issue_token", "--member", "lab-a", "--scopes", "read,write")
    message = str(caught.value)
    assert "unknown scope(s) write" in message
    assert "The scopes are read, publish, admin" in message
    assert "a lab member may hold read, publish: --scopes read,publish" in message
    assert not ApiToken.objects.filter(member=lab_a).exists()


def test_it_lists_what_a_partner_may_hold(partner: Member) -> None:
    with pytest.raises(CommandError, match=r"--scopes read\.$"):
        run("issue_token", "--member", "partner", "--scopes", "read,publish")


@pytest.mark.django_db
def test_it_names_bootstrap_on_an_exchange_without_members() -> None:
    with pytest.raises(CommandError, match=r"No member named 'forum'.*manage.py bootstrap"):
        run("issue_token", "--member", "forum", "--scopes", "read")
