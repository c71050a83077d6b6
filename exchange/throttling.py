"""Per-member rate and concurrency limits (docs/api.md and docs/taxii.md, "Limits").

One member must not be able to take the exchange from the others: each may make at most
RATE_LIMIT_PER_MINUTE requests a minute and have CONCURRENCY_LIMIT in progress at once (a
member's own ``rate_limit_per_minute`` / ``concurrency_limit`` win; 0 is no limit). Above
either, the answer is 429 with ``Retry-After`` in the error envelope of the endpoint (the
TAXII media type on TAXII paths), before the view does any work.

The limits key on the member that authenticated, after DRF authentication: a request with
no or wrong credentials is answered 401 and counts against nobody, so guessing at a
member's account name cannot use up its budget. Counters live in the ``limits`` cache
(Redis when configured, shared by every worker process; otherwise per process). On Redis a
request costs three round trips: the rate window's creation and count in one transaction,
its concurrency slot, and the slot's release (a compare-and-delete script, so a slot that
expired and went to another request is never freed by the first).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponseBase
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from members.models import Member

logger = logging.getLogger(__name__)

#: The HttpRequest attribute that holds the concurrency slot a request took.
_SLOT = "_member_concurrency_slot"
_WINDOW_SECONDS = 60


#: Deletes KEYS[1] if it still holds ARGV[1], in one atomic step.
_DELETE_IF = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class _Store:
    """The ``limits`` cache, with each check in one round trip when it is Redis.

    Django's Redis cache makes ``incr`` two commands (EXISTS, INCR) and builds a client per
    call; here one client serves a request's checks and each check is one round trip. Keys
    and values are the cache's own (``make_and_validate_key``, its serializer), so
    :func:`requests_in_progress` reads them through the cache API. Any other backend (the
    local memory of a laptop) goes through the cache API.
    """

    def __init__(self) -> None:
        self.cache = caches["limits"]
        self.redis: Any = None
        if isinstance(self.cache, RedisCache):
            self.redis = self.cache._cache.get_client(write=True)
            self.serializer = self.cache._cache._serializer  # type: ignore[attr-defined]

    def count(self, key: str, *, timeout: int) -> int:
        """Start ``key`` at 0 if absent (expiring after ``timeout``), add 1, and answer it."""
        if self.redis is None:
            # add() starts it once; incr() is atomic under the local-memory cache's lock.
            self.cache.add(key, 0, timeout=timeout)
            return int(self.cache.incr(key))
        name = self.cache.make_and_validate_key(key)
        transaction = self.redis.pipeline(transaction=True)
        transaction.set(name, 0, nx=True, ex=timeout)
        transaction.incr(name)
        return int(transaction.execute()[1])

    def add(self, key: str, value: str, *, timeout: int) -> bool:
        if self.redis is None:
            return bool(self.cache.add(key, value, timeout=timeout))
        name = self.cache.make_and_validate_key(key)
        return bool(self.redis.set(name, self.serializer.dumps(value), nx=True, ex=timeout))

    def delete_if(self, key: str, value: str) -> None:
        """Delete ``key`` only while it holds ``value``."""
        if self.redis is None:
            if self.cache.get(key) == value:
                self.cache.delete(key)
            return
        name = self.cache.make_and_validate_key(key)
        self.redis.eval(_DELETE_IF, 1, name, self.serializer.dumps(value))


def _member_key(member: Member) -> str:
    # The creation time as well as the pk: SQLite reuses the pk of a deleted row, and a new
    # member must not inherit a deleted one's counters.
    return f"member:{member.pk}:{member.created_at.timestamp():.6f}"


def _limit(override: int | None, default: int) -> int:
    return default if override is None else override


class MemberThrottle(BaseThrottle):
    """DRF's throttle hook, run after authentication and permissions on every API view."""

    def allow_request(self, request: Request, view: Any) -> bool:
        member = request.user
        if not isinstance(member, Member):
            return True
        key = _member_key(member)
        try:
            store = _Store()
            self._rate_check(store, member, key)
            self._slot_take(store, request, member, key)
        except (RedisError, OSError) as exc:
            # The limits protect availability; losing their store must not take it away.
            logger.warning("limits: counters unavailable, request let through: %s", exc)
        return True

    @staticmethod
    def _rate_check(store: _Store, member: Member, key: str) -> None:
        limit = _limit(member.rate_limit_per_minute, settings.RATE_LIMIT_PER_MINUTE)
        if not limit:
            return
        now = time.time()
        window = f"{key}:rate:{int(now // _WINDOW_SECONDS)}"
        if store.count(window, timeout=_WINDOW_SECONDS + 5) > limit:
            logger.info("limits: %s is over %d requests a minute", member.name, limit)
            raise exceptions.Throttled(
                wait=_WINDOW_SECONDS - now % _WINDOW_SECONDS,
                detail=f"This member may make {limit} requests a minute.",
            )

    @staticmethod
    def _slot_take(store: _Store, request: Request, member: Member, key: str) -> None:
        limit = _limit(member.concurrency_limit, settings.CONCURRENCY_LIMIT)
        if not limit:
            return
        holder = secrets.token_hex(8)
        # Numbered slots taken with add() (set if absent): a slot that its worker never
        # released (killed mid-request) expires after CONCURRENCY_SLOT_SECONDS, where a
        # shared counter would stay too high for good.
        for number in range(limit):
            slot = f"{key}:slot:{number}"
            if store.add(slot, holder, timeout=settings.CONCURRENCY_SLOT_SECONDS):
                setattr(request._request, _SLOT, (slot, holder))
                return
        logger.info("limits: %s has %d requests in progress", member.name, limit)
        raise exceptions.Throttled(
            wait=1, detail=f"This member may have {limit} requests in progress at once."
        )


def requests_in_progress(member: Member) -> int:
    """How many of the member's concurrency slots are taken now (its requests in progress)."""
    limit = _limit(member.concurrency_limit, settings.CONCURRENCY_LIMIT)
    key, cache = _member_key(member), caches["limits"]
    return sum(cache.get(f"{key}:slot:{number}") is not None for number in range(limit))


def _slot_release(request: HttpRequest) -> None:
    taken: tuple[str, str] | None = getattr(request, _SLOT, None)
    if taken is None:
        return
    slot, holder = taken
    try:
        # Only our own: past CONCURRENCY_SLOT_SECONDS the slot may belong to another request.
        _Store().delete_if(slot, holder)
    except (RedisError, OSError) as exc:
        logger.warning("limits: slot %s not released, it expires on its own: %s", slot, exc)


class ConcurrencyReleaseMiddleware:
    """Gives back the concurrency slot MemberThrottle took, once the response is rendered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return self.get_response(request)
        finally:
            _slot_release(request)
