"""The non-interactive management commands a script drives a fresh install with."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from members.models import ApiToken, Member


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_create_member_prints_the_identity_id(forum: Member) -> None:
    output = run("create_member", "--name", "lab-z", "--kind", "lab")
    identity_id = output.strip().splitlines()[-1]
    assert identity_id.startswith("identity--")
    assert Member.objects.get(name="lab-z").identity_id == identity_id


def test_create_member_refuses_a_duplicate_name(lab_a: Member) -> None:
    with pytest.raises(CommandError, match="already exists"):
        run("create_member", "--name", "lab-a", "--kind", "lab")


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
