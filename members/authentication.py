"""API authentication: ``Authorization: Bearer <token>`` or HTTP Basic (account, token).

TAXII clients (taxii2-client, OpenCTI, Sentinel) only speak Basic, so the member's account
name and a token work as user name and password.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from members.models import ApiToken, Member
from members.statements import Statement

REALM = "AI-ISAC Exchange"


def _token_by_hash(*, token_hash: str) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(token_hash=token_hash).order_by()[:1]


def _member_by_pk(*, pk: int) -> QuerySet[Member]:
    return Member.objects.filter(pk=pk).order_by()[:1]


#: Every API and TAXII request authenticates: the two lookups are compiled once.
TOKEN_BY_HASH: Final = Statement(ApiToken, _token_by_hash)
MEMBER_BY_PK: Final = Statement(Member, _member_by_pk)


def token_authenticate(raw_token: str, *, account: str | None = None) -> ApiToken:
    """The usable token for ``raw_token``, or AuthenticationFailed saying why not."""
    found = TOKEN_BY_HASH.run((), token_hash=ApiToken.hash(raw_token))
    token = found[0] if found else None
    if token is not None:
        token.member = MEMBER_BY_PK.run((), pk=token.member_id)[0]
    if token is None or (account is not None and token.member.name != account):
        raise exceptions.AuthenticationFailed("Invalid credentials.")
    if token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("This token has been revoked.")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise exceptions.AuthenticationFailed("This token has expired.")
    token.touch()
    return token


class TokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Member, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        match scheme.lower():
            case "bearer":
                if not credentials:
                    raise exceptions.AuthenticationFailed("Empty bearer token.")
                token = token_authenticate(credentials)
            case "basic":
                account, password = self._decode_basic(credentials)
                token = token_authenticate(password, account=account)
            case _:
                return None
        return token.member, token

    @staticmethod
    def _decode_basic(credentials: str) -> tuple[str, str]:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.") from exc
        account, sep, password = decoded.partition(":")
        if not sep or not account or not password:
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.")
        return account, password

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{REALM}", Bearer realm="{REALM}"'


def request_token(request: Request) -> ApiToken | None:
    auth: Any = request.auth
    return auth if isinstance(auth, ApiToken) else None
