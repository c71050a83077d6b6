"""Ways to look for a custodial signing key's secret where it must not be."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from members import keystore
from members.models import SigningKey


def seed_of(key: SigningKey) -> bytes:
    assert key.encrypted_private_key is not None
    private_key = keystore.unseal(key.encrypted_private_key, kid=key.kid)
    return private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def secret_forms(seed: bytes) -> list[str]:
    """The ways a leaked 32-byte seed could be written down."""
    return [
        seed.hex(),
        seed.hex().upper(),
        base64.b64encode(seed).decode(),
        base64.b64encode(seed).decode().rstrip("="),
        base64.urlsafe_b64encode(seed).decode().rstrip("="),
    ]
