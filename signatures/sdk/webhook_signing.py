"""Webhook signatures: HMAC-SHA256 over "<unix time>." + body (RFC 2104).

The one implementation, for both ends: the exchange's fan-out signs with it
(``exchange.fanout.channels``) and a lab's receiver, such as ``isac-detect``, verifies
with it. Pure Python, no Django: receivers may copy this module. The header is
``X-ISAC-Webhook-Signature: t=<unix seconds>,v1=<hex digest>``; the timestamp is inside
the MAC, so a captured request cannot be replayed outside the tolerance window.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from signatures.sdk.numbers import ascii_natural

SIGNATURE_HEADER = "X-ISAC-Webhook-Signature"
DELIVERY_HEADER = "X-ISAC-Delivery-Id"
SUBSCRIPTION_HEADER = "X-ISAC-Subscription-Id"
ATTEMPT_HEADER = "X-ISAC-Delivery-Attempt"
#: How old (or how far in the future) a signature timestamp may be, in seconds.
DEFAULT_TOLERANCE = 300


class SignatureInvalid(Exception):
    """The request was not signed with this secret, was altered, or is too old."""


def signature_compute(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature_compute(secret, timestamp, body)}"


def signature_verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check ``header`` against ``body``; return its timestamp or raise SignatureInvalid.

    Several ``v1=`` values may be present (e.g. while a secret is being rotated): one
    matching is enough.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and (seconds := ascii_natural(value)) is not None:
            timestamp = seconds
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureInvalid("Malformed signature header.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureInvalid("Signature timestamp outside the tolerance window.")
    expected = signature_compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureInvalid("Signature does not match the body.")
    return timestamp
