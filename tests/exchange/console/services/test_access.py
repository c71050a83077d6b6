"""exchange.console.services.access: tokens issued from the console (shown once) and dead
letters replayed through the fan-out, each audited."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.test import Client

from exchange.fanout.models import Channel, Delivery, DeliveryState, Subscription
from members.models import ApiToken, AuditEvent, Member, Membership
from signatures.selectors import collection_default


def test_it_shows_a_new_token_once_and_never_again(admin_client: Client, lab_a: Member) -> None:
    response = admin_client.post(
        "/console/members/lab-a/tokens/", {"name": "siem", "scopes": ["read", "publish"]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(name="siem")
    raw = response.context["raw"]
    assert ApiToken.hash(raw) == token.token_hash and raw in response.content.decode()

    for url in ["/console/members/", "/console/audit/", "/console/audit/export.json"]:
        assert raw not in admin_client.get(url).content.decode(), url
    event = AuditEvent.objects.get(action="token-issue")
    assert event.after == {
        "member": "lab-a",
        "name": "siem",
        "scopes": ["publish", "read"],
        "expires_at": None,
    }

    admin_client.post(f"/console/tokens/{token.pk}/revoke/", {"confirm": "yes"})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token-revoke", target=f"token {token.prefix}")


def test_it_refuses_scopes_a_member_may_not_hold(admin_client: Client, partner: Member) -> None:
    response = admin_client.post(
        "/console/members/partner/tokens/", {"scopes": ["publish"]}, follow=True
    )
    assert "A partner member cannot hold the scope(s): publish." in response.content.decode()
    assert not ApiToken.objects.filter(member=partner).exists()


def test_it_replays_dead_letters_through_the_fanout(admin_client: Client, partner: Member) -> None:
    subscription = Subscription.objects.create(
        owner=partner, name="SIEM", channel=Channel.WEBHOOK, url="https://siem.example/hook"
    )
    dead = Delivery.objects.create(
        subscription=subscription,
        state=DeliveryState.DEAD,
        first_seq=1,
        object_count=3,
        attempts=10,
        last_status_code=503,
        last_error="Service Unavailable",
    )
    page = admin_client.get("/console/subscriptions/").content.decode()
    assert "Service Unavailable" in page and "SIEM" in page
    response = admin_client.post("/console/subscriptions/replay/", {"delivery": str(dead.pk)})
    assert response.status_code == 302
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (DeliveryState.PENDING, 0)
    assert AuditEvent.objects.get(action="delivery-replay").target == str(dead.pk)


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
    console.post(f"/console/tokens/{token.pk}/revoke/", {"confirm": "yes"})
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
