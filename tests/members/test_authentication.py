"""members/authentication.py: Bearer and Basic, refusing revoked and expired tokens."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from members.models import ApiToken, Member
from members.services import token_issue, token_revoke
from tests.factories import token_for, token_row

URL = "/api/v1/objects/"


def basic(account: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{account}:{password}".encode()).decode()


def get(authorization: str) -> Any:
    """The response to a GET of the objects list with this Authorization header."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get(URL)


def test_it_accepts_a_bearer_token(lab_a: Member) -> None:
    assert get(f"Bearer {token_for(lab_a, 'read')}").status_code == 200


def test_it_accepts_basic_with_the_account_name_and_token(lab_a: Member) -> None:
    assert get(basic("lab-a", token_for(lab_a, "read"))).status_code == 200


def test_it_refuses_basic_with_another_members_account(lab_a: Member, lab_b: Member) -> None:
    assert get(basic("lab-b", token_for(lab_a, "read"))).status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer ",
        "Bearer isac_00000000_nope",
        "Basic !!!",
        "Basic " + base64.b64encode(b"x").decode(),
    ],
)
def test_it_refuses_bad_credentials(db: None, authorization: str) -> None:
    assert get(authorization).status_code == 401


def test_it_refuses_a_revoked_token(lab_a: Member) -> None:
    raw = token_for(lab_a, "read")
    token_revoke(token=token_row(raw))
    response = get(f"Bearer {raw}")
    assert response.status_code == 401
    assert "revoked" in response.json()["description"]


def test_it_refuses_an_expired_token(lab_a: Member) -> None:
    token, raw = token_issue(member=lab_a, scopes=["read"], expires_in=timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = get(f"Bearer {raw}")
    assert response.status_code == 401
    assert "expired" in response.json()["description"]


def test_it_records_the_last_use(lab_a: Member) -> None:
    raw = token_for(lab_a, "read")
    assert token_row(raw).last_used_at is None
    get(f"Bearer {raw}")
    assert token_row(raw).last_used_at is not None
