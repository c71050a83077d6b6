"""A consumer's verifier written from docs/signing.md alone (cryptography + rfc8785, no jss).

It stands for a partner who never saw the exchange's code: if the exchange and this module
disagree, one of them departs from the document.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNING_EXTENSION = "extension-definition--0e314a05-39b5-43ee-a0e0-1d56623028a0"
FORUM = "identity--3c31eef7-4eb5-40f5-9f6e-e8444646e282"


def b64url_decode(text: str) -> bytes:
    assert "=" not in text
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(x: str) -> str:
    """Section 5: SHA-256 of {"crv":"Ed25519","kty":"OKP","x":"<x>"}, base64url."""
    return b64url(hashlib.sha256(f'{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}'.encode()).digest())


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def entry_problem(obj: dict[str, Any], entry: dict[str, Any], keys: list[dict[str, Any]]) -> str:
    """Section 4 step 2 for one entry: "" if valid, else a short reason."""
    if set(entry) != {"algorithm", "hash_algorithm", "thumbprint", "signee", "created", "value"}:
        return "malformed"
    if entry["algorithm"] != "Ed25519" or entry["hash_algorithm"] != "sha-256":
        return "algorithm"
    listed = [key for key in keys if thumbprint(key["x"]) == entry["thumbprint"]]
    if not listed:
        return "unknown key"
    created = instant(entry["created"])
    for key in listed:
        if key.get("kid") != entry["thumbprint"] or key.get("signee") != entry["signee"]:
            return "signee"
        if "revoked" in key and instant(key["revoked"]) <= created:
            return "revoked"
        if "valid_until" in key and instant(key["valid_until"]) < created:
            return "retired"
        if "valid_from" in key and created < instant(key["valid_from"]):
            return "not yet valid"
    # docs/signing.md section 3: markings and language content may credit someone else.
    creditable = obj.get("type") in {"marking-definition", "language-content"}
    creator = None if creditable else obj.get("created_by_ref")
    if creator is not None and entry["signee"] not in (creator, FORUM):
        return "not the creator"
    unsigned = copy.deepcopy(obj)
    unsigned["extensions"][SIGNING_EXTENSION]["signatures"] = [
        {name: value for name, value in entry.items() if name != "value"}
    ]
    digest = hashlib.sha256(rfc8785.dumps(unsigned)).digest()
    public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(listed[0]["x"]))
    try:
        public_key.verify(b64url_decode(entry["value"]), digest)
    except InvalidSignature:
        return "bad signature"
    return ""


def verify(obj: dict[str, Any], jwks: dict[str, Any]) -> tuple[str, list[str]]:
    """Section 4: ("valid" | "invalid" | "unsigned", the signees of the valid entries)."""
    entries = obj.get("extensions", {}).get(SIGNING_EXTENSION, {}).get("signatures", [])
    if not entries:
        return "unsigned", []
    problems = [entry_problem(obj, entry, jwks["keys"]) for entry in entries]
    if any(problems):
        return "invalid", []
    return "valid", [entry["signee"] for entry in entries]


def verify_detached_jws(body: bytes, header_value: str, jwks: dict[str, Any]) -> str:
    """Section 6: check the transport signature over the raw body; returns the kid."""
    protected, payload, signature = header_value.split(".")
    assert payload == ""
    header = json.loads(b64url_decode(protected))
    assert header["alg"] == "EdDSA" and "crit" not in header
    (key,) = [key for key in jwks["keys"] if thumbprint(key["x"]) == header["kid"]]
    public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(key["x"]))
    public_key.verify(b64url_decode(signature), f"{protected}.{b64url(body)}".encode())
    return str(header["kid"])
