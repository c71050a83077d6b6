"""Sending one delivery over its channel: a signed webhook POST or a TAXII 2.1 Add Objects.

Stored objects are embedded as the exact text they were accepted as (orjson.Fragment), so
the member signatures inside them verify at the receiver byte for byte.
"""

from __future__ import annotations

import email.utils
import functools
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from taxii2client.common import _HTTPConnection
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import MEDIA_TYPE_TAXII_V21, Collection

from exchange.api.renderers import stored_json
from signatures.models import STIX_MEDIA_TYPE
from signatures.sdk import webhook_signing
from signatures.sdk.numbers import ascii_natural

USER_AGENT = "ai-isac-exchange-fanout/1"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one attempt came to; ``retry_after`` is the receiver's wish in seconds."""

    ok: bool
    retryable: bool
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None


def bundle_body(delivery_id: str, raws: list[str]) -> bytes:
    """A STIX 2.1 bundle (section 8) named after the delivery, objects embedded verbatim."""
    bundle: dict[str, Any] = {
        "type": "bundle",
        "id": f"bundle--{delivery_id}",
        "objects": [stored_json(raw) for raw in raws],
    }
    return orjson.dumps(bundle)


def envelope_body(raws: list[str]) -> bytes:
    """A TAXII 2.1 envelope (section 3.7), objects embedded verbatim."""
    return orjson.dumps({"more": False, "objects": [stored_json(raw) for raw in raws]})


def retry_after_parse(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if (seconds := ascii_natural(value)) is not None:
        return float(seconds)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def result_of_status(status_code: int, retry_after: str | None, detail: str = "") -> SendResult:
    """2xx succeeds; 429 and 5xx are retried; every other status is final."""
    if 200 <= status_code < 300:
        return SendResult(ok=True, retryable=False, status_code=status_code)
    retryable = status_code == 429 or status_code >= 500
    return SendResult(
        ok=False,
        retryable=retryable,
        status_code=status_code,
        error=detail or f"HTTP {status_code}",
        retry_after=retry_after_parse(retry_after) if retryable else None,
    )


def _timeout() -> tuple[float, float]:
    return (settings.FANOUT_CONNECT_TIMEOUT_MS / 1000, settings.FANOUT_READ_TIMEOUT_MS / 1000)


_pools: dict[int, urllib3.PoolManager] = {}
_pools_lock = threading.Lock()


def _webhook_pool() -> urllib3.PoolManager:
    """One connection pool per process, shared by the pump's threads: requests to a
    receiver reuse its open connections (no TCP and TLS handshake per delivery), and
    urllib3 alone costs less than half the CPU of a ``requests`` call. It keeps no cookies,
    so nothing a receiver sets can travel to another subscriber. Keyed by process id, as
    Celery's prefork pool forks after import.
    """
    pid = os.getpid()
    with _pools_lock:
        pool = _pools.get(pid)
        if pool is None:
            _pools.clear()
            # As many connections to one receiver host as a pump run sends at once.
            pool = _pools[pid] = urllib3.PoolManager(num_pools=64, maxsize=16, retries=False)
        return pool


@functools.cache
def _proxied(scheme: str, netloc: str) -> bool:
    """Whether the environment routes this origin through a proxy (HTTPS_PROXY and the
    like): those requests go through ``requests``, which honours them."""
    return bool(requests.utils.get_environ_proxies(f"{scheme}://{netloc}/"))


def webhook_send(
    *, url: str, secret: str, subscription_id: str, delivery_id: str, attempt: int, body: bytes
) -> SendResult:
    headers = {
        "Content-Type": STIX_MEDIA_TYPE,
        "User-Agent": USER_AGENT,
        webhook_signing.SIGNATURE_HEADER: webhook_signing.signature_header(secret, body),
        webhook_signing.DELIVERY_HEADER: delivery_id,
        webhook_signing.SUBSCRIPTION_HEADER: subscription_id,
        webhook_signing.ATTEMPT_HEADER: str(attempt),
    }
    connect, read = _timeout()
    parts = urlsplit(url)
    if _proxied(parts.scheme, parts.netloc):
        return _webhook_send_proxied(url, headers, body)
    try:
        # No redirects: a redirect would send signed threat data to a URL nobody vetted.
        response = _webhook_pool().request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=connect, read=read),
            redirect=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        return SendResult(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")
    return result_of_status(
        response.status,
        response.headers.get("Retry-After"),
        response.data[:500].decode(errors="replace"),
    )


def _webhook_send_proxied(url: str, headers: dict[str, str], body: bytes) -> SendResult:
    try:
        response = requests.post(
            url, data=body, headers=headers, timeout=_timeout(), allow_redirects=False
        )
    except requests.RequestException as exc:
        return SendResult(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")
    with response:
        return result_of_status(
            response.status_code, response.headers.get("Retry-After"), response.text[:500]
        )


class _TimeoutAdapter(HTTPAdapter):
    """taxii2-client takes no timeout: give every request of its session ours."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream, timeout or _timeout(), verify, cert, proxies)


def taxii_push(*, url: str, user: str, password: str, body: bytes) -> SendResult:
    """TAXII 2.1 Add Objects (section 5.5) to the remote collection at ``url``.

    The status resource decides: any failure it lists is final (the remote refused those
    objects and would refuse them again); "pending" is accepted, the server owns it now.
    """
    conn = _HTTPConnection(user=user or None, password=password or None, version="2.1")
    conn.session.headers["User-Agent"] = USER_AGENT
    conn.session.max_redirects = 0
    for prefix in ("http://", "https://"):
        conn.session.mount(prefix, _TimeoutAdapter())
    try:
        collection = Collection(url, conn=conn)
        status = collection.add_objects(
            body,
            wait_for_completion=False,
            accept=MEDIA_TYPE_TAXII_V21,
            content_type=MEDIA_TYPE_TAXII_V21,
        )
    except requests.HTTPError as exc:
        response = exc.response
        if response is None:
            return SendResult(ok=False, retryable=True, error=str(exc))
        return result_of_status(
            response.status_code, response.headers.get("Retry-After"), response.text[:500]
        )
    except requests.RequestException as exc:
        return SendResult(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")
    except (TAXIIServiceException, ValueError) as exc:
        # A server that is not (or not yet) a TAXII 2.1 server, or a read-only collection.
        return SendResult(ok=False, retryable=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
    if status.failure_count:
        failures = "; ".join(
            f"{item.get('id')}: {item.get('message', '')}" for item in (status.failures or [])
        )
        return SendResult(ok=False, retryable=False, status_code=202, error=failures[:2000])
    return SendResult(ok=True, retryable=False, status_code=202)
