"""A Forum operator signed in to the admin through /admin/login/, for the admin tests of
every package."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from members.models import Member, Membership

PASSWORD = "correct horse battery staple 42"


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
