"""Factories for the exchange's models; members are made through the service, as in production."""

from __future__ import annotations

from typing import Any

import factory

from members.models import ApiToken, Member
from members.services import token_issue
from signatures.services import member_create


class MemberFactory(factory.Factory[Member]):
    class Meta:
        model = Member

    name = factory.Sequence(lambda n: f"lab-{n}")
    kind = "lab"
    display_name = factory.LazyAttribute(lambda o: o.name.replace("-", " ").title())
    identity_id = None

    @classmethod
    def _create(cls, model_class: type[Member], *args: Any, **kwargs: Any) -> Member:
        return member_create(**kwargs)


def token_for(member: Member, *scopes: str) -> str:
    """A raw token for ``member`` (all the scopes its kind may hold if none are named)."""
    from members.services import ALLOWED_SCOPES

    _, raw = token_issue(member=member, scopes=list(scopes or ALLOWED_SCOPES[member.kind]))
    return raw


def token_row(raw: str) -> ApiToken:
    return ApiToken.objects.get(token_hash=ApiToken.hash(raw))
