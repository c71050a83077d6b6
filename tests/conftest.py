"""Personas shared by the whole suite: the Forum, two labs, a partner and an outsider."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from members.models import Member
from tests.factories import MemberFactory, token_for

FORUM_ID = "identity--3c31eef7-4eb5-40f5-9f6e-e8444646e282"
LAB_A_ID = "identity--a11ce000-0000-4000-8000-000000000001"
LAB_B_ID = "identity--b0b00000-0000-4000-8000-000000000002"
PARTNER_ID = "identity--c4a511e0-0000-4000-8000-000000000003"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every transactional test a serialized rollback.

    A transactional test empties the database afterwards. Without serialization Django
    then re-creates content types at once, and a later test that does restore the
    serialized snapshot collides with them; with it everywhere, each transactional test
    starts from the migrated state (data migrations included) and leaves it behind.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = (marker is not None and marker.kwargs.get("transaction")) or (
            "live_server" in getattr(item, "fixturenames", ())
        )
        if transactional:
            kwargs = dict(marker.kwargs) if marker is not None else {}
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture
def forum(db: None) -> Member:
    return MemberFactory(name="forum", kind="forum", identity_id=FORUM_ID)


@pytest.fixture
def lab_a(forum: Member) -> Member:
    return MemberFactory(name="lab-a", kind="lab", identity_id=LAB_A_ID)


@pytest.fixture
def lab_b(forum: Member) -> Member:
    return MemberFactory(name="lab-b", kind="lab", identity_id=LAB_B_ID)


@pytest.fixture
def partner(forum: Member) -> Member:
    return MemberFactory(name="partner", kind="partner", identity_id=PARTNER_ID)


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """An API client authenticated as ``member`` with a bearer token of the given scopes."""

    def make(member: Member, *scopes: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(member, *scopes)}")
        return client

    return make


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()
