"""Scope checks. A token's scopes bound what it may do; the member's kind bounds the scopes."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from members.authentication import request_token
from members.choices import TokenScope


class _ScopePermission(BasePermission):
    scope: TokenScope
    message = "This token lacks the required scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request_token(request)
        if token is None:
            return False
        if not token.has_scope(self.scope):
            self.message = f"This token lacks the '{self.scope}' scope."
            return False
        return True


class HasReadScope(_ScopePermission):
    scope = TokenScope.READ


class HasPublishScope(_ScopePermission):
    scope = TokenScope.PUBLISH


class ReadOrPublishByMethod(BasePermission):
    """Safe methods need ``read``; writes need ``publish``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        permission: _ScopePermission = (
            HasReadScope() if request.method in {"GET", "HEAD", "OPTIONS"} else HasPublishScope()
        )
        allowed = permission.has_permission(request, view)
        self.message = permission.message
        return allowed
