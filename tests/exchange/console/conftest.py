"""Console personas: Forum analysts and admins, outsiders, and a small published slice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from exchange.console.selectors import partner_feed
from members.models import AuditEvent, Member, Membership
from signatures.sdk import indicators
from signatures.services import objects_publish
from tests import stix_samples

PASSWORD = "correct horse battery staple 42"

UserMaker = Callable[..., User]

TAXII = "application/taxii+json;version=2.1"


def act(client: Client, stix_id: str, action: str, **data: str) -> list[str]:
    """POST an action, confirmed (retire and revoke ask first); the messages shown on the
    detail page it redirects to."""
    response = client.post(
        f"/console/objects/{stix_id}/{action}/", {**data, "confirm": "yes"}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def partner_sees(client_for: Callable[..., APIClient], partner: Member) -> list[dict[str, Any]]:
    """The partner feed's objects as the partner gets them over TAXII 2.1 (section 5.4)."""
    feed = partner_feed()
    if feed is None:
        return []
    response = client_for(partner).get(
        f"/{feed.api_root}/collections/{feed.pk}/objects/", HTTP_ACCEPT=TAXII
    )
    assert response.status_code == 200, response.content
    return list(orjson.loads(response.content).get("objects", []))


def last_event(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).first()
    assert event is not None, f"no {action} event"
    return event


@pytest.fixture
def make_user(db: None) -> UserMaker:
    """A user of ``member`` in the named groups (staff unless told otherwise)."""

    def make(username: str, member: Member, *groups: str, staff: bool = True) -> User:
        user = User.objects.create_user(username, password=PASSWORD, is_staff=staff)
        Membership.objects.create(user=user, member=member)
        user.groups.add(*Group.objects.filter(name__in=groups))
        return user

    return make


@pytest.fixture
def analyst(forum: Member, make_user: UserMaker) -> User:
    return make_user("ana", forum, "analyst")


@pytest.fixture
def admin_user(forum: Member, make_user: UserMaker) -> User:
    return make_user("adele", forum, "admin")


@pytest.fixture
def analyst_client(analyst: User) -> Client:
    client = Client()
    client.force_login(analyst)
    return client


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def publish(member: Member, *objects: dict[str, Any]) -> None:
    report = objects_publish(member=member, objects=list(objects))
    refused = [o.reason for o in report.outcomes if o.status == "refused"]
    assert not refused, refused


@pytest.fixture
def slice_ids(lab_a: Member, lab_b: Member, partner: Member) -> dict[str, str]:
    """lab-a's egress range, corroborated by lab-b twice (same pattern, and a sighting);
    lab-a's prompt template (TLP:AMBER) and lab-b's TLP:AMBER+STRICT payment indicator."""
    range_indicator = stix_samples.ip_range_indicator(lab_a.identity_id)
    same_pattern = indicators.indicator(
        range_indicator["pattern"],
        created_by_ref=lab_b.identity_id,
        name="Egress range seen here too",
        phases=["access-provisioning"],
        confidence=60,
        tlp="green",
    )
    sighting = stix_samples.sighting(lab_b.identity_id, range_indicator["id"])
    prompt = indicators.indicator(
        indicators.prompt_hash_pattern("ab12" * 16),
        created_by_ref=lab_a.identity_id,
        name="CoT extraction template",
        phases=["bulk-extraction"],
        confidence=85,
        tlp="amber",
    )
    payment = indicators.indicator(
        indicators.payment_pattern("f" * 64),
        created_by_ref=lab_b.identity_id,
        name="Prepaid card",
        phases=["account-acquisition"],
        confidence=90,
        tlp="amber+strict",
    )
    publish(lab_a, range_indicator, prompt)
    publish(lab_b, same_pattern, sighting, payment)
    return {
        "range": range_indicator["id"],
        "same_pattern": same_pattern["id"],
        "sighting": sighting["id"],
        "prompt": prompt["id"],
        "payment": payment["id"],
    }
