"""Encryption at rest of the secrets a subscription must use again (webhook HMAC keys,
TAXII passwords): unlike API tokens they cannot be stored as hashes.

The key is derived from SECRET_KEY with HKDF-SHA256 (RFC 5869) under a purpose label, so
it is never the SECRET_KEY itself and other features can derive their own keys from it.
Rotating SECRET_KEY makes sealed secrets unreadable: rotate subscription secrets with it.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PURPOSE = b"ai-isac-exchange/fanout/sealed-secrets/v1"


class SealBroken(Exception):
    """A sealed secret that cannot be opened (SECRET_KEY changed, or the text was altered)."""


@cache
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plaintext: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(plaintext.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet(settings.SECRET_KEY).decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise SealBroken("This secret was sealed under another SECRET_KEY.") from exc
