"""Encryption at rest of the secrets a subscription must use again (webhook HMAC keys,
TAXII passwords): unlike API tokens they cannot be stored as hashes.

The key is derived from ``settings.MASTER_KEY`` (the key that also seals custodial signing
keys, members/keystore.py) with HKDF-SHA256 (RFC 5869) under a purpose label of its own, so
the two uses never share a key and the database alone never yields a secret. Replacing
MASTER_KEY makes sealed secrets unreadable: rotate subscription secrets with it.
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
    """A sealed secret that cannot be opened (MASTER_KEY changed, or the text was altered)."""


@cache
def _fernet(master_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        master_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plaintext: str) -> str:
    return _fernet(settings.MASTER_KEY).encrypt(plaintext.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet(settings.MASTER_KEY).decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise SealBroken("This secret was sealed under another MASTER_KEY.") from exc
