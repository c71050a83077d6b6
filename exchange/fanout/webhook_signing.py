"""Webhook signatures for the fan-out: the SDK's signer and verifier (docs/fanout.md).

The scheme lives in ``signatures.sdk.webhook`` so that the exchange that signs and the lab
that verifies share one implementation.
"""

from __future__ import annotations

from signatures.sdk.webhook import (
    ATTEMPT_HEADER,
    DEFAULT_TOLERANCE,
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    SUBSCRIPTION_HEADER,
    SignatureInvalid,
    signature_compute,
    signature_header,
    signature_verify,
)

__all__ = [
    "ATTEMPT_HEADER",
    "DEFAULT_TOLERANCE",
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "SUBSCRIPTION_HEADER",
    "SignatureInvalid",
    "signature_compute",
    "signature_header",
    "signature_verify",
]
