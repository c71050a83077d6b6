"""Who may use the console and the admin, login throttling and the idle timeout
(docs/console.md).

The console and the Django admin are for the Forum's people only: active staff users linked
by a Membership to the Forum member. What each may do is a Django permission of the
``console`` app, granted through the "analyst" and "admin" groups (and, in the admin, the
models' own permissions). Every sign-in, whichever page it comes through, goes through
``LockoutModelBackend``, so one failed-attempt count and one lockout cover them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from exchange.console.models import LoginFailure
from members.choices import MemberKind
from members.models import Membership

_LAST_SEEN = "console_last_seen"
View = Callable[..., HttpResponseBase]


def is_console_user(user: AbstractBaseUser | AnonymousUser) -> bool:
    """An active staff user of the Forum member."""
    if not (user.is_authenticated and user.is_active and getattr(user, "is_staff", False)):
        return False
    return Membership.objects.filter(user_id=user.pk, member__kind=MemberKind.FORUM).exists()


def console_view(permission: str = "view_console") -> Callable[[View], View]:
    """Guard a view: log in first, Forum staff only, with ``console.<permission>``.

    Strangers are sent to the login page; signed-in users who are not Forum staff, or lack
    the permission, get 403. A session idle longer than CONSOLE_IDLE_TIMEOUT is ended.
    Pages are never cached: they show data under TLP.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        @never_cache
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            login_url = reverse("console:login")
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url)
            now = int(time.time())
            last_seen = request.session.get(_LAST_SEEN)
            if last_seen is not None and now - int(last_seen) > settings.CONSOLE_IDLE_TIMEOUT:
                logout(request)
                messages.info(request, "Your session was idle too long; sign in again.")
                return redirect_to_login(request.get_full_path(), login_url)
            if not is_console_user(request.user) or not request.user.has_perm(
                f"console.{permission}"
            ):
                raise PermissionDenied("This page is for Forum analysts with the right role.")
            request.session[_LAST_SEEN] = now
            return view(request, *args, **kwargs)

        return guarded

    return decorate


# --- login throttling -----------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy
    # rewrites it, and a forged one would let an attacker reset the counter at will.
    return str(request.META.get("REMOTE_ADDR") or "0.0.0.0")


def _recent_failures(username: str, ip: str) -> int:
    since = timezone.now() - timedelta(seconds=settings.CONSOLE_LOGIN_LOCKOUT)
    return LoginFailure.objects.filter(username=username, ip=ip, failed_at__gte=since).count()


def login_locked(username: str, ip: str) -> bool:
    return _recent_failures(username, ip) >= settings.CONSOLE_LOGIN_MAX_FAILURES


def login_failure_record(username: str, ip: str) -> None:
    LoginFailure.objects.create(username=username[:150], ip=ip)
    # Old rows only matter while they count; keep the table small.
    horizon = timezone.now() - timedelta(seconds=settings.CONSOLE_LOGIN_LOCKOUT)
    LoginFailure.objects.filter(failed_at__lt=horizon).delete()


def login_failures_clear(username: str, ip: str) -> None:
    LoginFailure.objects.filter(username=username, ip=ip).delete()


class LockoutModelBackend(ModelBackend):
    """Django's password check, refusing a locked-out user name and counting failures.

    The one authentication backend (settings.AUTHENTICATION_BACKENDS), so the console's
    login, the admin's login and any other caller of ``authenticate()`` share the count:
    after CONSOLE_LOGIN_MAX_FAILURES failures for one user name from one address within
    CONSOLE_LOGIN_LOCKOUT seconds, every attempt is refused (even with the right password)
    until the window has passed.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        name = str(username or kwargs.get(User.USERNAME_FIELD) or "")
        ip = client_ip(request) if request is not None else "0.0.0.0"
        if login_locked(name, ip):
            # PermissionDenied, not None: it stops authenticate() from asking another
            # backend, so a lockout cannot be walked around.
            raise PermissionDenied("Too many failed sign-ins.")
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            login_failure_record(name, ip)
        else:
            login_failures_clear(name, ip)
        return user

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        # ModelBackend's async variant checks the password on its own; route it here so
        # an async sign-in path cannot skip the lockout.
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)


FORUM_LOGIN_ERRORS = {
    "locked": "Too many failed sign-ins. Try again in %(minutes)d minutes.",
    "not_console": "This account cannot use the analyst console.",
}


class ForumLoginFormMixin:
    """What the console's and the admin's login forms add to Django's: the lockout named
    as such, and a refusal for anyone but the Forum's staff.

    Put it before the Django form in the bases; the counting itself is the backend's.
    """

    error_messages: dict[str, Any]
    cleaned_data: dict[str, Any]
    request: HttpRequest | None

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        ip = client_ip(self.request) if self.request else "0.0.0.0"
        # Checked before the password so that a locked-out caller learns nothing about it.
        if login_locked(username, ip):
            raise ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={"minutes": max(1, settings.CONSOLE_LOGIN_LOCKOUT // 60)},
            )
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        return cleaned

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)  # type: ignore[misc]
        if not is_console_user(user):
            raise ValidationError(self.error_messages["not_console"], code="not_console")


class ConsoleAuthenticationForm(ForumLoginFormMixin, AuthenticationForm):
    """The console's sign-in form."""

    error_messages = {**AuthenticationForm.error_messages, **FORUM_LOGIN_ERRORS}


class AdminLoginForm(ForumLoginFormMixin, AdminAuthenticationForm):
    """The admin's sign-in form (exchange.admin_site): the console's rules, plus Django's
    own staff check."""

    error_messages = {**AdminAuthenticationForm.error_messages, **FORUM_LOGIN_ERRORS}
