"""Console personas: Forum analysts and admins, outsiders, and a small published slice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from members.models import Member, Membership
from signatures.sdk import indicators
from signatures.services import objects_publish
from tests import stix_samples

PASSWORD = "correct horse battery staple 42"

UserMaker = Callable[..., User]


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
