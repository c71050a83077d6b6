"""Every entry point that changes tokens, grants, collections or subscriptions leaves its
audit record, written by the same service: the command line, the console and the API (the
admin's are in test_admin.py)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from members.models import ApiToken, AuditEvent, Member, Membership
from signatures.models import Collection
from signatures.selectors import collection_default


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


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


def test_create_collection_records_the_collection_and_its_grants(
    lab_a: Member, partner: Member
) -> None:
    output = run(
        "create_collection", "--title", "Shared", "--readers", "lab-a,partner", "--writers", "lab-a"
    )
    collection = Collection.objects.get(pk=output.strip().splitlines()[-1])
    event = AuditEvent.objects.get(action="collection-create", target=str(collection.pk))
    assert event.after is not None
    assert (event.after["readers"], event.after["writers"]) == (["lab-a", "partner"], ["lab-a"])
    assert event.note == "manage.py create_collection"


def test_the_console_records_issue_revoke_and_grants_with_its_user(
    forum: Member, lab_a: Member, partner: Member
) -> None:
    user = User.objects.create_user("adele", is_staff=True)
    Membership.objects.create(user=user, member=forum)
    user.groups.add(Group.objects.get(name="admin"))
    console = Client()
    console.force_login(user)
    console.post("/console/members/lab-a/tokens/", {"name": "ci", "scopes": ["read"]})
    token = ApiToken.objects.get(name="ci")
    console.post(f"/console/tokens/{token.pk}/revoke/")
    feed = collection_default()
    console.post(
        f"/console/collections/{feed.pk}/grants/",
        {"member": "partner", "role": "reader", "granted": "0"},
    )
    events = AuditEvent.objects.filter(actor_user=user).order_by("pk")
    assert [e.action for e in events] == [
        "token-issue",
        "token-revoke",
        "collection-reader-withdraw",
    ]
    assert all(e.actor_member == forum for e in events)


def test_the_api_records_subscription_changes_with_the_member(
    partner: Member, client_for: Callable[..., APIClient]
) -> None:
    client = client_for(partner, "read")
    created = client.post(
        "/api/v1/subscriptions/",
        {"name": "SIEM", "channel": "webhook", "url": "https://siem.example/hook"},
        format="json",
    )
    assert created.status_code == 201
    sid = created.json()["id"]
    assert (
        client.patch(f"/api/v1/subscriptions/{sid}/", {"max_batch": 10}, format="json").status_code
        == 200
    )
    assert client.post(f"/api/v1/subscriptions/{sid}/pause/").status_code == 200
    assert client.post(f"/api/v1/subscriptions/{sid}/secret/").status_code == 200
    assert client.delete(f"/api/v1/subscriptions/{sid}/").status_code == 204
    events = AuditEvent.objects.filter(target=f"subscription {sid}").order_by("pk")
    assert [e.action for e in events] == [
        "subscription-create",
        "subscription-update",
        "subscription-pause",
        "subscription-secret-rotate",
        "subscription-delete",
    ]
    assert all(e.actor_member == partner and e.actor_user is None for e in events)
    assert (events[1].before, events[1].after) == ({"max_batch": 100}, {"max_batch": 10})
    # The webhook secret is never in the log.
    secret = created.json()["secret"]
    assert not any(secret in str(e.after) + str(e.before) for e in events)
