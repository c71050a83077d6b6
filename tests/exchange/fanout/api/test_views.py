"""/api/v1/subscriptions/: create (secret shown once), manage, health, dead-letter replay."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from exchange.fanout.models import Delivery, DeliveryState
from exchange.fanout.services import outbox_dispatch, subscription_pump
from members.models import AuditEvent, Member
from tests.exchange.fanout.conftest import Receiver, indicators, publish

pytestmark = pytest.mark.django_db
URL = "/api/v1/subscriptions/"


def create(client: APIClient, **body: object) -> dict:  # type: ignore[type-arg]
    body = {"name": "hook", "channel": "webhook", "url": "https://example.org/hook", **body}
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def test_it_shows_the_secret_once_and_never_again(
    partner: Member, client_for: Callable[..., APIClient]
) -> None:
    client = client_for(partner, "read")
    created = create(client, labels=["malicious-activity"], min_confidence=50)
    assert created["secret"].startswith("whsec_")
    assert created["owner"] == "partner" and created["status"] == "active"
    shown = client.get(f"{URL}{created['id']}/").json()
    assert "secret" not in shown and created["secret"] not in str(shown)
    assert [row["id"] for row in client.get(URL).json()] == [created["id"]]


def test_it_refuses_plain_http_to_other_hosts(
    lab_b: Member, client_for: Callable[..., APIClient]
) -> None:
    client = client_for(lab_b)
    response = client.post(
        URL, {"name": "h", "channel": "webhook", "url": "http://example.org/h"}, format="json"
    )
    assert response.status_code == 400
    assert "loopback" in response.json()["description"]
    create(client, url="http://127.0.0.1:9/h")  # loopback is allowed


def test_it_hides_other_members_subscriptions(
    lab_a: Member, lab_b: Member, client_for: Callable[..., APIClient]
) -> None:
    mine = create(client_for(lab_a))
    other = client_for(lab_b)
    assert other.get(f"{URL}{mine['id']}/").status_code == 404
    assert other.get(f"{URL}{mine['id']}/health/").status_code == 404
    assert other.get(URL).json() == []
    body = {"name": "x", "channel": "webhook", "url": "https://example.org/h", "owner": "lab-a"}
    response = other.post(URL, body, format="json")
    assert response.status_code == 403


def test_it_pauses_resumes_and_updates_filters(
    lab_b: Member, client_for: Callable[..., APIClient]
) -> None:
    client = client_for(lab_b)
    created = create(client)
    url = f"{URL}{created['id']}/"
    paused = client.post(f"{url}pause/", {"reason": "maintenance"}, format="json").json()
    assert paused["status"] == "paused" and paused["paused_reason"] == "maintenance"
    assert client.post(f"{url}resume/").json()["status"] == "active"
    patched = client.patch(url, {"object_types": ["indicator"], "max_batch": 10}, format="json")
    assert patched.json()["object_types"] == ["indicator"] and patched.json()["max_batch"] == 10
    assert client.patch(url, {"channel": "taxii"}, format="json").status_code == 400
    assert client.delete(url).status_code == 204


@override_settings(FANOUT_ALLOW_HTTP=True)
def test_it_reports_health_and_replays_dead_letters(
    lab_a: Member,
    lab_b: Member,
    client_for: Callable[..., APIClient],
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers(lambda n: (400 if n <= 2 else 204, {}, 0.0))
    client = client_for(lab_b)
    created = create(client, url=receiver.url, max_batch=1)
    receiver.secret = created["secret"]
    ids = publish(lab_a, indicators(lab_a, 3))
    outbox_dispatch()
    health = client.get(f"{URL}{created['id']}/health/").json()
    assert health["backlog"] == 3 and health["lag_seconds"] >= 0
    subscription_pump(subscription_id=created["id"])
    health = client.get(f"{URL}{created['id']}/health/").json()
    assert health["dead_letters"] == 2 and health["backlog"] == 0
    assert health["last_success_at"] is not None and health["consecutive_failures"] == 0
    dead = client.get(f"{URL}{created['id']}/deliveries/?state=dead").json()
    assert len(dead) == 2 and dead[0]["attempts_log"][0]["status_code"] == 400

    one = dead[0]["id"]
    assert client.post(f"{URL}{created['id']}/deliveries/{one}/replay/").json() == {"replayed": 1}
    assert client.post(f"{URL}{created['id']}/deliveries/{one}/replay/").status_code == 400
    assert client.post(f"{URL}{created['id']}/replay/").json() == {"replayed": 1}
    subscription_pump(subscription_id=created["id"])
    assert not Delivery.objects.exclude(state=DeliveryState.DELIVERED).exists()
    assert set(receiver.ids()) == set(ids)


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
