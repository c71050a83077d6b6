"""exchange/admin_site.py: the admin lets in the Forum's staff only, by every path."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from members.models import Member, Membership
from tests.exchange.conftest import PASSWORD


def _sign_in(client: Client, username: str, password: str) -> Any:
    return client.post(
        "/admin/login/",
        {"username": username, "password": password, "next": "/"},
        REMOTE_ADDR="10.0.0.9",
    )


def test_it_lets_forum_staff_into_the_admin(operator: User) -> None:
    client = Client()
    response = _sign_in(client, operator.username, PASSWORD)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("kind", ["lab", "partner", "outsider"])
def test_it_refuses_the_admin_to_anyone_but_forum_staff(
    kind: str, lab_a: Member, partner: Member
) -> None:
    # A superuser with no Forum membership, as createsuperuser makes, or a lab's or a
    # partner's superuser in the admin group.
    user = User.objects.create_superuser(f"{kind}-staff", password=PASSWORD)
    if kind != "outsider":
        Membership.objects.create(user=user, member=lab_a if kind == "lab" else partner)
        user.groups.add(*Group.objects.filter(name="admin"))
    client = Client()
    refused = _sign_in(client, user.username, PASSWORD)
    assert refused.status_code == 200
    assert "cannot use the analyst console" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # A session obtained some other way does not open the admin either.
    client.force_login(user)
    for url in ("/admin/", "/admin/members/apitoken/", "/admin/signatures/collection/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
