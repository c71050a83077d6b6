"""Custodial private keys at rest: sealed with the master key, opened only to sign.

A custodial key's 32-byte Ed25519 seed is encrypted with AES-256-GCM (NIST SP 800-38D) under
``settings.MASTER_KEY``; the key's kid is the associated data, so a sealed seed copied onto
another key's row does not open. The database alone therefore never yields a private key.

Nothing in this module logs, and exceptions never carry key material.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from functools import cache
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from members.choices import MemberKind
from members.models import KeyState, Member, SigningKey
from members.statements import Statement
from signatures.sdk import jss

#: Format byte in front of every sealed seed, so the scheme can change without guessing.
_FORMAT_V1 = b"\x01"
_NONCE_BYTES = 12


class KeyUnsealError(Exception):
    """A sealed seed did not open (wrong master key or tampered row)."""


@cache
def _cipher(master_key: str) -> AESGCM:
    try:
        raw = base64.urlsafe_b64decode(master_key + "=" * (-len(master_key) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("MASTER_KEY is not base64url") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured("MASTER_KEY must encode 32 bytes (AES-256)")
    return AESGCM(raw)


def _master() -> AESGCM:
    return _cipher(settings.MASTER_KEY)


def seal(private_key: Ed25519PrivateKey, *, kid: str) -> bytes:
    """Encrypt the key's seed for storage: format byte, 96-bit random nonce, ciphertext+tag."""
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    nonce = os.urandom(_NONCE_BYTES)
    return _FORMAT_V1 + nonce + _master().encrypt(nonce, seed, kid.encode("ascii"))


def unseal(sealed: bytes | memoryview, *, kid: str) -> Ed25519PrivateKey:
    """Open a sealed seed of the key ``kid``; raises KeyUnsealError if it does not open."""
    sealed = bytes(sealed)
    if sealed[:1] != _FORMAT_V1 or len(sealed) < 1 + _NONCE_BYTES + 16:
        raise KeyUnsealError(f"key {kid}: unknown sealed-key format")
    nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        seed = _master().decrypt(nonce, ciphertext, kid.encode("ascii"))
    except InvalidTag:
        raise KeyUnsealError(
            f"key {kid}: does not open with this MASTER_KEY (changed key or altered row)"
        ) from None
    return Ed25519PrivateKey.from_private_bytes(seed)


def custodial_key(member: Member) -> SigningKey | None:
    """The key the exchange signs ``member``'s objects with: its newest active custodial
    key, or None if it has none."""
    return (
        SigningKey.objects.filter(
            member=member,
            custodial=True,
            state=KeyState.ACTIVE,
            encrypted_private_key__isnull=False,
        )
        .order_by("-valid_from", "-pk")
        .first()
    )


def custodial_signer(member: Member) -> jss.Signer | None:
    """A signer with the member's custodial key (custodial_key), or None if it has none.

    Decrypts once: callers keep the signer for a whole publish request.
    """
    key = custodial_key(member)
    if key is None or key.encrypted_private_key is None:
        return None
    return jss.Signer(unseal(key.encrypted_private_key, kid=key.kid), signee=member.identity_id)


def _forum_active_key() -> QuerySet[SigningKey]:
    return (
        SigningKey.objects.filter(
            member__kind=MemberKind.FORUM,
            custodial=True,
            state=KeyState.ACTIVE,
            encrypted_private_key__isnull=False,
        )
        .order_by("-valid_from", "-pk")
        .only("pk", "kid")[:1]
    )


#: Checked on every signed response: compiled once.
FORUM_ACTIVE_KEY: Final = Statement(SigningKey, _forum_active_key)

_forum_signer: jss.Signer | None = None
_forum_lock = threading.Lock()


def forum_signer() -> jss.Signer | None:
    """The Forum's signer for transport signatures and Forum-published objects.

    The private key is decrypted once per process and kept; each call costs one indexed
    query checking that it is still the Forum's active custodial key, so a rotation or a
    revocation made by any process takes effect on the next response.
    """
    global _forum_signer
    current = next((key.kid for key in FORUM_ACTIVE_KEY.run(())), None)
    with _forum_lock:
        if current is None:
            _forum_signer = None
        elif _forum_signer is None or _forum_signer.thumbprint != current:
            _forum_signer = custodial_signer(Member.objects.forum())
        return _forum_signer
