"""The Django admin, for the Forum's staff only, signing in through the console's rules.

Django's own admin lets in any active staff user, and its login form has no lockout. Here
both the login form and every admin page apply ``exchange.console.auth``: the user must be
staff of the Forum member (a lab's or a partner's staff user, or a superuser with no Forum
membership, is refused), and failed sign-ins count towards the one lockout the console
uses too (docs/console.md, "Sessions and sign-in").
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from exchange.console.auth import AdminLoginForm, is_console_user


class ForumAdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        return is_console_user(request.user)
