"""The admin changes tokens, collections and subscriptions only through the services: over
HTTP, signed in through /admin/login/ as a Forum operator."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from exchange.fanout.models import Subscription, SubscriptionStatus
from members.models import ApiToken, AuditEvent, Member, Membership
from members.services import token_issue, token_revoke
from signatures.models import Collection, StixObject
from signatures.selectors import collection_default

PASSWORD = "correct horse battery staple 42"
#: The default collection's title (signatures/migrations/0002_default_collection).
FEED_TITLE = "Distillation signatures"


@pytest.fixture
def operator(forum: Member) -> User:
    user = User.objects.create_superuser("operator", password=PASSWORD)
    Membership.objects.create(user=user, member=forum)
    return user


@pytest.fixture
def admin_browser(operator: User) -> Client:
    client = Client()
    response = client.post(
        "/admin/login/", {"username": "operator", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302, response.content
    return client


def _collection_form(collection: Collection, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": collection.title,
        "description": collection.description,
        "alias": collection.alias,
        "api_root": collection.api_root,
        "readers": [m.pk for m in collection.readers.all()],
        "writers": [m.pk for m in collection.writers.all()],
        "_save": "Save",
    }
    if collection.partners_read_amber_strict:
        data["partners_read_amber_strict"] = "on"
    data.update(changes)
    return data


# --- tokens ----------------------------------------------------------------------------------


def test_it_cannot_un_revoke_a_token(admin_browser: Client, lab_a: Member) -> None:
    token, _ = token_issue(member=lab_a, scopes=["read"])
    token_revoke(token=token)
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at
    url = f"/admin/members/apitoken/{token.pk}/change/"
    page = admin_browser.get(url).content.decode()
    assert 'name="revoked_at' not in page and 'name="expires_at' not in page
    admin_browser.post(url, {"revoked_at_0": "", "revoked_at_1": "", "name": "again"})
    token.refresh_from_db()
    assert token.revoked_at == revoked_at and token.name == ""
    assert admin_browser.get(f"/admin/members/apitoken/{token.pk}/delete/").status_code == 403


def test_it_revokes_tokens_with_an_action_that_audits(
    admin_browser: Client, operator: User, forum: Member, lab_a: Member
) -> None:
    token, _ = token_issue(member=lab_a, scopes=["read"])
    response = admin_browser.post(
        "/admin/members/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="token-revoke")
    assert (event.target, event.actor_user, event.actor_member) == (
        f"token {token.prefix}",
        operator,
        forum,
    )
    # Revoking again changes nothing and records nothing.
    admin_browser.post(
        "/admin/members/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert AuditEvent.objects.filter(action="token-revoke").count() == 1


# --- collections -----------------------------------------------------------------------------


def test_it_refuses_an_api_root_the_server_does_not_serve(admin_browser: Client) -> None:
    feed = collection_default()
    response = admin_browser.post(
        f"/admin/signatures/collection/{feed.pk}/change/",
        _collection_form(feed, api_root="nowhere"),
    )
    assert response.status_code == 200
    assert "is not served" in response.content.decode()
    feed.refresh_from_db()
    assert feed.api_root == "feed"
    assert not AuditEvent.objects.filter(target=str(feed.pk)).exists()


def test_it_refuses_a_partner_as_writer(admin_browser: Client, partner: Member) -> None:
    feed = collection_default()
    writers = [*feed.writers.values_list("pk", flat=True), partner.pk]
    response = admin_browser.post(
        f"/admin/signatures/collection/{feed.pk}/change/", _collection_form(feed, writers=writers)
    )
    assert "Read-only members cannot be writers: partner." in response.content.decode()
    assert not feed.writers.filter(pk=partner.pk).exists()
    assert not AuditEvent.objects.filter(target=str(feed.pk)).exists()


def test_it_audits_each_grant_and_setting_changed(
    admin_browser: Client, operator: User, partner: Member, lab_a: Member, settings: Any
) -> None:
    settings.TAXII_API_ROOTS = ["feed", "research"]
    feed = collection_default()
    readers = [pk for pk in feed.readers.values_list("pk", flat=True) if pk != partner.pk]
    response = admin_browser.post(
        f"/admin/signatures/collection/{feed.pk}/change/",
        _collection_form(feed, readers=readers, api_root="research", title="Renamed"),
    )
    assert response.status_code == 302
    feed.refresh_from_db()
    assert (feed.api_root, feed.title) == ("research", "Renamed")
    assert not feed.readers.filter(pk=partner.pk).exists()
    events = {e.action: e for e in AuditEvent.objects.filter(target=str(feed.pk))}
    assert set(events) == {"collection-update", "collection-reader-withdraw"}
    assert events["collection-update"].before == {"api_root": "feed", "title": FEED_TITLE}
    assert events["collection-update"].after == {"api_root": "research", "title": "Renamed"}
    assert events["collection-reader-withdraw"].after == {"member": "partner", "reader": False}
    assert all(e.actor_user == operator for e in events.values())


def test_it_creates_a_collection_through_the_service(
    admin_browser: Client, lab_a: Member, partner: Member
) -> None:
    response = admin_browser.post(
        "/admin/signatures/collection/add/",
        {
            "title": "Lab A and partner",
            "description": "",
            "alias": "",
            "api_root": "feed",
            "readers": [lab_a.pk, partner.pk],
            "writers": [lab_a.pk],
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    created = Collection.objects.get(title="Lab A and partner")
    assert created.media_types  # set by collection_create
    event = AuditEvent.objects.get(action="collection-create", target=str(created.pk))
    assert event.after is not None
    assert (event.after["readers"], event.after["writers"]) == (["lab-a", "partner"], ["lab-a"])
    assert (
        admin_browser.get(f"/admin/signatures/collection/{created.pk}/delete/").status_code == 403
    )


# --- subscriptions ---------------------------------------------------------------------------


def test_it_creates_and_changes_subscriptions_through_the_services(
    admin_browser: Client, operator: User, partner: Member
) -> None:
    form = {
        "owner": partner.pk,
        "name": "SIEM",
        "channel": "webhook",
        "url": "https://siem.example/hook",
        "taxii_user": "",
        "taxii_password": "",
        "object_types": "[]",
        "labels": "[]",
        "kill_chain_phases": "[]",
        "tlp_ceiling": "amber",
        "max_batch": 50,
        "max_wait_ms": 0,
        "_save": "Save",
    }
    assert admin_browser.post("/admin/fanout/subscription/add/", form).status_code == 302
    subscription = Subscription.objects.get(name="SIEM")
    assert subscription.secret_sealed  # the service made the webhook secret
    created = AuditEvent.objects.get(action="subscription-create")
    assert created.actor_user == operator and created.after is not None
    assert created.after["url"] == "https://siem.example/hook"

    url = f"/admin/fanout/subscription/{subscription.pk}/change/"
    page = admin_browser.get(url).content.decode()
    assert 'name="status"' not in page and 'name="owner"' not in page
    changed = {**form, "url": "https://siem.example/v2", "status": "paused"}
    assert admin_browser.post(url, changed).status_code == 302
    subscription.refresh_from_db()
    assert subscription.url == "https://siem.example/v2"
    assert subscription.status == SubscriptionStatus.ACTIVE  # only the pause action pauses
    updated = AuditEvent.objects.get(action="subscription-update")
    assert updated.before == {"url": "https://siem.example/hook"}
    assert updated.after == {"url": "https://siem.example/v2"}

    admin_browser.post(
        "/admin/fanout/subscription/", {"action": "pause", "_selected_action": [subscription.pk]}
    )
    paused = AuditEvent.objects.get(action="subscription-pause")
    assert paused.after == {"status": "paused"} and paused.actor_user == operator


# --- members ---------------------------------------------------------------------------------


def test_it_creates_a_member_through_onboarding(admin_browser: Client, operator: User) -> None:
    response = admin_browser.post(
        "/admin/members/member/add/",
        {
            "name": "lab-z",
            "display_name": "Lab Z",
            "kind": "lab",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content
    member = Member.objects.get(name="lab-z")
    assert StixObject.objects.filter(stix_id=member.identity_id).exists()  # identity published
    assert collection_default().writers.filter(pk=member.pk).exists()  # feed granted
    event = AuditEvent.objects.get(action="member-create", target="lab-z")
    assert event.actor_user == operator and event.after == {
        "kind": "lab",
        "identity_id": member.identity_id,
    }


def test_it_never_changes_a_members_kind_and_audits_its_amber_strict_set(
    admin_browser: Client, lab_a: Member, lab_b: Member
) -> None:
    response = admin_browser.post(
        f"/admin/members/member/{lab_a.pk}/change/",
        {
            "name": "lab-a",
            "display_name": "Lab A",
            "kind": "forum",
            "amber_strict_recipients": [lab_b.pk],
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content
    lab_a.refresh_from_db()
    assert lab_a.kind == "lab" and lab_a.display_name == "Lab A"
    assert list(lab_a.amber_strict_recipients.all()) == [lab_b]
    event = AuditEvent.objects.get(action="amber-strict-recipients-set", target="lab-a")
    assert (event.before, event.after) == ({"recipients": []}, {"recipients": ["lab-b"]})
    assert admin_browser.get(f"/admin/members/member/{lab_a.pk}/delete/").status_code == 403
