"""members/permissions.py: a token's scopes decide what a request may do, and the refusal
names the scope that was missing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from members.models import ApiToken, Member
from members.permissions import HasPublishScope, HasReadScope, ReadOrPublishByMethod
from members.services import token_issue

DEFAULT_MESSAGE = "This token lacks the required scope."
SAFE = ["GET", "HEAD", "OPTIONS"]
WRITES = ["POST", "PUT", "PATCH", "DELETE"]


def request_with(method: str, member: Member | None, auth: Any) -> Request:
    """A request as DRF hands it to a permission once authentication has run."""
    request = Request(APIRequestFactory().generic(method, "/api/v1/objects/"))
    # Token authentication makes the member the request's user.
    request.user = member  # type: ignore[assignment]
    request.auth = auth
    return request


def token(member: Member, *scopes: str) -> ApiToken:
    issued, _ = token_issue(member=member, scopes=list(scopes))
    return issued


def allows(permission: BasePermission, request: Request) -> bool:
    return permission.has_permission(request, view=APIView())


# --- HasReadScope, HasPublishScope -----------------------------------------------------------


def test_it_allows_a_token_holding_the_scope(lab_a: Member) -> None:
    assert allows(HasReadScope(), request_with("GET", lab_a, token(lab_a, "read")))
    assert allows(HasPublishScope(), request_with("POST", lab_a, token(lab_a, "publish")))


@pytest.mark.parametrize(
    ("permission_class", "held", "missing"),
    [(HasReadScope, "publish", "read"), (HasPublishScope, "read", "publish")],
)
def test_it_refuses_a_token_without_the_scope_and_names_it(
    lab_a: Member,
    permission_class: type[HasReadScope | HasPublishScope],
    held: str,
    missing: str,
) -> None:
    permission = permission_class()
    assert not allows(permission, request_with("GET", lab_a, token(lab_a, held)))
    assert permission.message == f"This token lacks the '{missing}' scope."
    # The message belongs to this refusal; the class keeps its default for the next request.
    assert permission_class.message == DEFAULT_MESSAGE


def test_it_lets_the_admin_scope_stand_for_read_and_publish(forum: Member) -> None:
    admin = token(forum, "admin")
    assert allows(HasReadScope(), request_with("GET", forum, admin))
    assert allows(HasPublishScope(), request_with("POST", forum, admin))


@pytest.mark.parametrize("auth", [None, "session", {"scopes": ["read"]}])
def test_it_refuses_a_request_authenticated_without_a_token(lab_a: Member, auth: Any) -> None:
    permission = HasReadScope()
    assert not allows(permission, request_with("GET", lab_a, auth))
    assert permission.message == DEFAULT_MESSAGE


def test_it_reads_the_scopes_of_the_token_not_those_the_member_may_hold(lab_a: Member) -> None:
    # A lab may hold publish; this token of the lab does not.
    assert not allows(HasPublishScope(), request_with("POST", lab_a, token(lab_a, "read")))


# --- ReadOrPublishByMethod -------------------------------------------------------------------


@pytest.mark.parametrize("method", SAFE)
def test_it_needs_read_for_safe_methods(lab_a: Member, method: str) -> None:
    assert allows(ReadOrPublishByMethod(), request_with(method, lab_a, token(lab_a, "read")))
    permission = ReadOrPublishByMethod()
    assert not allows(permission, request_with(method, lab_a, token(lab_a, "publish")))
    assert permission.message == "This token lacks the 'read' scope."


@pytest.mark.parametrize("method", WRITES)
def test_it_needs_publish_for_writes(lab_a: Member, method: str) -> None:
    assert allows(ReadOrPublishByMethod(), request_with(method, lab_a, token(lab_a, "publish")))
    permission = ReadOrPublishByMethod()
    assert not allows(permission, request_with(method, lab_a, token(lab_a, "read")))
    assert permission.message == "This token lacks the 'publish' scope."


def test_it_passes_on_the_default_message_without_a_token(lab_a: Member) -> None:
    permission = ReadOrPublishByMethod()
    assert not allows(permission, request_with("POST", lab_a, None))
    assert permission.message == DEFAULT_MESSAGE
