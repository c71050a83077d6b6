"""exchange/fanout/sealing.py: subscription secrets encrypted at rest under a key derived
from MASTER_KEY for this purpose alone."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken

from exchange.fanout.sealing import SealBroken, seal, unseal

SECRET = "whsec-Ünïcode-секрет-0123456789"


def other_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def test_it_opens_what_it_sealed() -> None:
    assert unseal(seal(SECRET)) == SECRET


def test_it_never_stores_the_secret_in_clear_nor_the_same_text_twice() -> None:
    first, second = seal(SECRET), seal(SECRET)
    assert SECRET not in first and SECRET.encode() not in base64.urlsafe_b64decode(first)
    assert first != second  # a fresh IV each time: equal secrets are not recognisable


def test_it_refuses_a_secret_sealed_under_another_master_key(settings: Any) -> None:
    sealed = seal(SECRET)
    settings.MASTER_KEY = other_master_key()
    with pytest.raises(SealBroken, match="another MASTER_KEY"):
        unseal(sealed)


def test_it_refuses_an_altered_seal() -> None:
    sealed = bytearray(base64.urlsafe_b64decode(seal(SECRET)))
    sealed[-40] ^= 1
    with pytest.raises(SealBroken):
        unseal(base64.urlsafe_b64encode(bytes(sealed)).decode())


def test_it_does_not_seal_with_the_master_key_itself(settings: Any) -> None:
    # The master key also seals custodial signing keys (members/keystore.py); this module
    # derives a key of its own, so one use never opens the other's secrets.
    master = settings.MASTER_KEY + "=" * (-len(settings.MASTER_KEY) % 4)
    with pytest.raises(InvalidToken):
        Fernet(master.encode()).decrypt(seal(SECRET).encode())
