"""Member signatures on STIX 2.1 objects and detached JWS over TAXII responses.

The scheme follows ITU-T X.590 (10/2023), the JSON Signature Scheme (JSS): a list of signature
objects travels inside the signed JSON object itself, here in the Forum-owned STIX property
extension ``SIGNING_EXTENSION_ID`` so that consumers unaware of it still parse the object. Each
entry is an Ed25519 signature over the SHA-256 digest of the RFC 8785 (JCS) canonical form of the
object, taken with that entry (minus ``value``) as the only member of the list. ``docs/signing.md``
specifies the procedure completely; this module is its reference implementation.

Keys are published as RFC 7517 JWK Sets of Ed25519 keys (RFC 8037), named by their RFC 7638
thumbprint and extended with members for the key's life (``signee``, ``valid_from``,
``valid_until``, ``revoked``, ``revocation_reason``).

Everything here is pure Python over parsed JSON (``json.loads`` output). Verify the JSON exactly
as received: a STIX library round trip (for example ``stix2.parse(...).serialize()``) adds
defaults and rewrites timestamps, which breaks every signature.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Final, Literal, NotRequired, TypeAlias, TypedDict

import orjson
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from signatures.sdk.constants import (
    CREDITABLE_TYPES,
    FORUM_IDENTITY_ID,
    MAX_SAFE_INTEGER,
    SIGNING_EXTENSION_ID,
)

__all__ = [
    "Attestation",
    "EntryResult",
    "InvalidJWKError",
    "JWSError",
    "KeySource",
    "PublicJWK",
    "PublishedKey",
    "SignatureEntry",
    "Signer",
    "VerificationReport",
    "Verifier",
    "attestations_of",
    "canonical_bytes",
    "definition_attestation",
    "definition_digest",
    "format_timestamp",
    "is_official",
    "jwk_thumbprint",
    "jws_detached_sign",
    "jws_detached_verify",
    "load_public_key",
    "official_objects",
    "public_jwk",
    "sign_object",
    "signing_input",
    "stable_uuid4",
    "verify_object",
]

ALGORITHM: Final = "Ed25519"
HASH_ALGORITHM: Final = "sha-256"
ENTRY_MEMBERS: Final = ("algorithm", "hash_algorithm", "thumbprint", "signee", "created", "value")
#: How far in the future of the verifier's clock a signature's ``created`` may lie.
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)

# STIX 2.1 section 3.2 timestamps. Signature entries are always written by this scheme, so they
# must use exactly millisecond precision; key-life timestamps may carry 0 to 9 fraction digits.
_TIMESTAMP_RE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z", re.ASCII
)
_MILLIS_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", re.ASCII)
# The STIX 2.1 JSON schema's identifier pattern, restricted to identities.
_IDENTITY_RE: Final = re.compile(
    r"identity--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}"
    r"-[0-9a-fA-F]{12}",
    re.ASCII,
)
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class SignatureEntry(TypedDict):
    """One X.590 signature object as it appears in the extension's ``signatures`` list."""

    algorithm: str
    hash_algorithm: str
    thumbprint: str
    signee: str
    created: str
    value: NotRequired[str]


class PublicJWK(TypedDict):
    """An Ed25519 public JWK (RFC 8037 section 2) with this profile's key-life members."""

    kty: str
    crv: str
    x: str
    kid: str
    use: str
    alg: str
    signee: NotRequired[str]
    valid_from: NotRequired[str]
    valid_until: NotRequired[str]
    revoked: NotRequired[str]
    revocation_reason: NotRequired[str]


class InvalidJWKError(ValueError):
    """A JWK that is not a usable Ed25519 public key of this profile."""


class JWSError(ValueError):
    """A detached JWS that does not verify; the message says why."""


# --- encodings -------------------------------------------------------------------------------


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """Return the RFC 8785 (JSON Canonicalization Scheme) serialization of ``obj``.

    JCS sorts member names by their UTF-16 code units, writes numbers the ECMAScript way and
    emits no whitespace (RFC 8785 section 3.2), so two parties holding the same parsed JSON get
    the same bytes whatever the sender's formatting. Raises ``rfc8785.CanonicalizationError``
    for values outside I-JSON (RFC 7493), such as integers beyond 2**53 or NaN.

    Signed STIX objects rarely hold a float or a member name beyond U+DFFF, and without
    them orjson's sorted output is already the canonical form: the same string escapes
    (RFC 8785 section 3.2.2.2 is ECMAScript's), integers written alike, names in the same
    order (UTF-16 and code point order differ only from U+E000 up). That is written in C, a
    tenth of the time; everything else, and every error, is rfc8785's.
    tests/signatures/sdk/test_jss.py compares the two on generated JSON.
    """
    if _integers_and_text_only(obj):
        try:
            text = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass  # not JSON at all (a lone surrogate, a non-string name): rfc8785 says why
        else:
            if not _FROM_U_E000.search(text):
                return text
    return rfc8785.dumps(obj)


# UTF-8 lead bytes of U+E000 and above, where UTF-16 order leaves code point order.
_FROM_U_E000: Final = re.compile(rb"[\xee-\xf4]")
_PLAIN_LEAVES: Final = (str, bool, type(None))


def _integers_and_text_only(value: Any) -> bool:
    """No float anywhere, and every integer within I-JSON's range."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif kind not in _PLAIN_LEAVES:
            return False
    return True


def _b64encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2, "Base64url Encoding")."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict inverse of ``_b64encode``: rejects padding, other alphabets and any encoding
    that is not the canonical one, so one signature has exactly one textual form."""
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url without padding") from exc
    if _b64encode(data) != text:
        raise ValueError("non-canonical base64url (stray trailing bits)")
    return data


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as a STIX timestamp with exactly 3 fraction digits and ``Z``.

    Milliseconds are truncated, never rounded, so the text never lies in the future of
    ``moment``.
    """
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _timestamp_ns(text: str) -> int:
    """Nanoseconds since the Unix epoch of a STIX timestamp (0 to 9 fraction digits).

    Integers rather than ``datetime`` keep nanosecond precision and compare exactly, as
    cti-stix-validator PR #198 learned the hard way for mixed-precision strings.
    """
    match = _TIMESTAMP_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z)")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    seconds = datetime(year, month, day, hour, minute, second, tzinfo=UTC) - _EPOCH
    fraction = (match.group(7) or "").ljust(9, "0")
    return seconds // timedelta(seconds=1) * 1_000_000_000 + int(fraction)


def _datetime_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("'now' must be timezone-aware")
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000


# --- keys ------------------------------------------------------------------------------------


def load_public_key(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """Load the Ed25519 public key of an OKP JWK (RFC 8037 section 2).

    A JWK that carries the private member ``d`` is refused: a published key set must never hold
    a private key, and refusing loudly is the only useful reaction.
    """
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise InvalidJWKError("not an Ed25519 key (expected kty 'OKP' and crv 'Ed25519')")
    if "d" in jwk:
        raise InvalidJWKError("the JWK contains the private key member 'd'; never publish it")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise InvalidJWKError("missing 'x'")
    try:
        raw = _b64decode(x)
    except ValueError as exc:
        raise InvalidJWKError(f"'x' is {exc}") from exc
    if len(raw) != 32:
        raise InvalidJWKError("'x' must encode 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def jwk_thumbprint(public_key_or_jwk: Ed25519PublicKey | Mapping[str, Any]) -> str:
    """Return the RFC 7638 JWK thumbprint (SHA-256, base64url without padding).

    RFC 7638 section 3.2 hashes the JSON object of the required members only, names sorted and
    no whitespace; for an OKP key those are ``crv``, ``kty`` and ``x`` (RFC 8037 section 2), and
    the JCS form of that object is exactly the required serialization.
    """
    if isinstance(public_key_or_jwk, Ed25519PublicKey):
        x = _b64encode(public_key_or_jwk.public_bytes_raw())
    else:
        load_public_key(public_key_or_jwk)  # validates kty, crv and x
        x = public_key_or_jwk["x"]
    required = {"crv": "Ed25519", "kty": "OKP", "x": x}
    return _b64encode(hashlib.sha256(canonical_bytes(required)).digest())


def public_jwk(
    public_key: Ed25519PublicKey,
    *,
    signee: str | None = None,
    valid_from: str | None = None,
    valid_until: str | None = None,
    revoked: str | None = None,
    revocation_reason: str | None = None,
) -> PublicJWK:
    """Build the published JWK of ``public_key``; ``kid`` is its RFC 7638 thumbprint.

    ``signee`` is the STIX identity the key speaks for; ``valid_from``/``valid_until`` bound
    the creation times of signatures it may make; ``revoked`` is when it stopped being trusted.
    """
    jwk: PublicJWK = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64encode(public_key.public_bytes_raw()),
        "kid": jwk_thumbprint(public_key),
        "use": "sig",
        "alg": "EdDSA",
    }
    if signee is not None:
        _check_identity(signee, "signee")
        jwk["signee"] = signee
    # Parsing validates each timestamp before it is published.
    if valid_from is not None:
        _timestamp_ns(valid_from)
        jwk["valid_from"] = valid_from
    if valid_until is not None:
        _timestamp_ns(valid_until)
        jwk["valid_until"] = valid_until
    if revoked is not None:
        _timestamp_ns(revoked)
        jwk["revoked"] = revoked
    if revocation_reason is not None:
        if revoked is None:
            raise ValueError("revocation_reason needs revoked")
        jwk["revocation_reason"] = revocation_reason
    return jwk


def _check_identity(value: object, what: str) -> None:
    if not isinstance(value, str) or not _IDENTITY_RE.fullmatch(value):
        raise ValueError(f"{what} must be a STIX identity id (identity--<uuid>), got {value!r}")


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """One JWK of a key set, loaded once: the key and the limits of its life.

    The ``*_ns`` fields are the life timestamps in nanoseconds since the epoch.
    """

    thumbprint: str
    public_key: Ed25519PublicKey
    signee: str | None
    valid_from: str | None
    valid_until: str | None
    revoked: str | None
    revocation_reason: str | None
    valid_from_ns: int | None
    valid_until_ns: int | None
    revoked_ns: int | None

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> PublishedKey:
        """Validate and load one JWK; raises ``InvalidJWKError`` saying what is wrong with it."""
        public_key = load_public_key(jwk)
        thumbprint = jwk_thumbprint(public_key)
        # The profile defines kid as the thumbprint. A different kid could make a signature
        # name one key while the set resolves it to another, so such a JWK is not used.
        if jwk.get("kid", thumbprint) != thumbprint:
            raise InvalidJWKError(
                f"'kid' {jwk['kid']!r} is not its RFC 7638 thumbprint {thumbprint!r}"
            )
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "EdDSA") != "EdDSA":
            raise InvalidJWKError("'use' must be 'sig' and 'alg' must be 'EdDSA'")
        signee = jwk.get("signee")
        life: dict[str, int | None] = {}
        try:
            if signee is not None:
                _check_identity(signee, "'signee'")
            for name in ("valid_from", "valid_until", "revoked"):
                value = jwk.get(name)
                if value is not None and not isinstance(value, str):
                    raise ValueError(f"'{name}' must be a string")
                life[name] = None if value is None else _timestamp_ns(value)
        except ValueError as exc:
            raise InvalidJWKError(f"key {thumbprint!r}: {exc}") from exc
        reason = jwk.get("revocation_reason")
        return cls(
            thumbprint=thumbprint,
            public_key=public_key,
            signee=signee,
            valid_from=jwk.get("valid_from"),
            valid_until=jwk.get("valid_until"),
            revoked=jwk.get("revoked"),
            revocation_reason=reason if isinstance(reason, str) else None,
            valid_from_ns=life["valid_from"],
            valid_until_ns=life["valid_until"],
            revoked_ns=life["revoked"],
        )

    def life_problem(self, at_ns: int, subject: str) -> str | None:
        """Why this key may not sign at ``at_ns``, if so; ``subject`` names that moment.

        ``valid_from`` and ``valid_until`` are inclusive; from the ``revoked`` instant on,
        nothing the key signs counts.
        """
        key = f"key {self.thumbprint!r}"
        if self.revoked_ns is not None and at_ns >= self.revoked_ns:
            why = f" ({self.revocation_reason})" if self.revocation_reason else ""
            return f"{key} was revoked at {self.revoked}{why}, at or before {subject}"
        if self.valid_until_ns is not None and at_ns > self.valid_until_ns:
            return f"{key} was retired at {self.valid_until} (valid_until), before {subject}"
        if self.valid_from_ns is not None and at_ns < self.valid_from_ns:
            return f"{key} is valid only from {self.valid_from}, after {subject}"
        return None


# --- signing ---------------------------------------------------------------------------------


def signing_input(obj: Mapping[str, Any], entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry's signature covers, for signing and verifying alike (X.590 steps).

    That is the JCS form of ``obj`` in which the signing extension's ``signatures`` list is
    replaced by ``[entry]`` with ``value`` removed. Every other member of the object and of the
    extension body stays as it is, so the other signatures on the object are not covered. An
    object without ``extensions`` or without the signing extension gets them, the body being
    ``{"extension_type": "property-extension"}``, which is how ``Signer.sign`` publishes it.
    """
    extensions = obj.get("extensions", {})
    if not isinstance(extensions, Mapping):
        raise ValueError("'extensions' is not a JSON object")
    body = extensions.get(SIGNING_EXTENSION_ID, {"extension_type": "property-extension"})
    if not isinstance(body, Mapping):
        raise ValueError("the signing extension is not a JSON object")
    only_entry = {name: value for name, value in entry.items() if name != "value"}
    new_body = {name: value for name, value in body.items() if name != "signatures"}
    new_body["signatures"] = [only_entry]
    return canonical_bytes({**obj, "extensions": {**extensions, SIGNING_EXTENSION_ID: new_body}})


def _attributed_creator(obj: Mapping[str, Any]) -> Any:
    """The identity that must sign ``obj`` (or the Forum countersign it): its creator, except
    for the meta objects that may credit someone else (CREDITABLE_TYPES), which any
    publisher signs as itself. None when the object does not constrain the signee."""
    if obj.get("type") in CREDITABLE_TYPES:
        return None
    return obj.get("created_by_ref")


class Signer:
    """Signs objects for one identity with one Ed25519 key.

    Build it once per key: the thumbprint is computed here rather than for every object.
    """

    def __init__(self, private_key: Ed25519PrivateKey, *, signee: str) -> None:
        _check_identity(signee, "signee")
        self.private_key: Final = private_key
        self.signee: Final = signee
        self.thumbprint: Final = jwk_thumbprint(private_key.public_key())

    def sign(self, obj: Mapping[str, Any], *, created: str | None = None) -> dict[str, Any]:
        """Return a signed deep copy of ``obj``; the input is never modified.

        Signatures already on the object stay in the list, before the new one, and are left out
        of the new signature's input (X.590 step 1, "remove any existing signatures"), so each
        entry verifies alone. ``created`` defaults to now, with exactly 3 fraction digits.
        The signature value is Ed25519 over the raw 32-byte SHA-256 digest of the signing input.
        """
        if created is None:
            created = format_timestamp(datetime.now(UTC))
        elif not _MILLIS_RE.fullmatch(created):
            raise ValueError(f"created must be YYYY-MM-DDTHH:MM:SS.sssZ, got {created!r}")
        creator = _attributed_creator(obj)
        if creator is not None and self.signee not in (creator, FORUM_IDENTITY_ID):
            # Verifiers reject this combination; refusing here keeps it from being published.
            raise ValueError(
                f"signee {self.signee!r} is neither the object's created_by_ref {creator!r} "
                "nor the Forum identity"
            )
        signed = _json_copy(obj)
        extensions = signed.get("extensions", {})
        if not isinstance(extensions, Mapping):
            raise ValueError("'extensions' is not a JSON object")
        body = extensions.get(SIGNING_EXTENSION_ID, {})
        if not isinstance(body, Mapping):
            raise ValueError("the signing extension is not a JSON object")
        existing = body.get("signatures", [])
        if not isinstance(existing, list):
            raise ValueError("the signing extension's 'signatures' is not a list")
        entry: SignatureEntry = {
            "algorithm": ALGORITHM,
            "hash_algorithm": HASH_ALGORITHM,
            "thumbprint": self.thumbprint,
            "signee": self.signee,
            "created": created,
        }
        signed["extensions"] = {
            **extensions,
            SIGNING_EXTENSION_ID: {
                **body,
                "extension_type": "property-extension",
                "signatures": [*existing, entry],
            },
        }
        digest = hashlib.sha256(signing_input(signed, entry)).digest()
        # ``entry`` is the dict inside the new list, so this completes the published entry.
        entry["value"] = _b64encode(self.private_key.sign(digest))
        return signed


def _json_copy(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``obj``: orjson's round trip, one C call, when it is exact (text,
    booleans, null and safe integers only: orjson would write NaN as null); otherwise
    ``copy.deepcopy``."""
    if type(obj) is dict and _integers_and_text_only(obj):
        try:
            copied: dict[str, Any] = orjson.loads(orjson.dumps(obj))
        except TypeError:
            pass  # a lone surrogate or a non-string name
        else:
            return copied
    return copy.deepcopy(dict(obj))


def sign_object(
    obj: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    *,
    signee: str,
    created: str | None = None,
) -> dict[str, Any]:
    """Sign ``obj`` as ``signee``; see ``Signer.sign``. Use a ``Signer`` for many objects."""
    return Signer(private_key, signee=signee).sign(obj, created=created)


def jws_detached_sign(payload: bytes, private_key: Ed25519PrivateKey, kid: str) -> str:
    """Sign ``payload`` as a detached JWS: ``<header>..<signature>`` (RFC 7515 Appendix F).

    The protected header is ``{"alg":"EdDSA","kid":kid}``; ``b64`` keeps its default (true), so
    the JWS signing input is ``BASE64URL(header) "." BASE64URL(payload)`` (RFC 7515 section
    5.1), signed directly with Ed25519 as RFC 8037 section 3.1 prescribes (no pre-hash).
    ``kid`` must be the key's RFC 7638 thumbprint, as in the published key set.
    """
    thumbprint = jwk_thumbprint(private_key.public_key())
    if kid != thumbprint:
        raise ValueError(f"kid {kid!r} is not the key's RFC 7638 thumbprint {thumbprint!r}")
    header = _b64encode(canonical_bytes({"alg": "EdDSA", "kid": kid}))
    # Kept as bytes: a page's payload is about a megabyte, and a round trip through text
    # would copy it twice more.
    encoded_payload = base64.urlsafe_b64encode(payload).rstrip(b"=")
    jws_input = b"%s.%s" % (header.encode("ascii"), encoded_payload)
    return f"{header}..{_b64encode(private_key.sign(jws_input))}"


# --- extension definitions and official content -----------------------------------------------

#: The signing extension body member of a signature note that names what the note vouches for.
RELATED_OBJECTS: Final = "related_objects"
RELATED_MEMBERS: Final = ("related_to", "related_version", "hash_algorithm", "hash")


def stable_uuid4(seed: str) -> uuid.UUID:
    """A version 4 UUID (RFC 9562 section 5.4) drawn from ``seed`` instead of at random.

    STIX 2.1 section 2.9 asks for UUIDv4 in SDO and SRO ids; taking the 122 random bits from
    SHA-256 of the seed keeps the id valid while the same seed always gives the same id.
    """
    return uuid.UUID(bytes=hashlib.sha256(seed.encode("utf-8")).digest()[:16], version=4)


def definition_digest(definition: Mapping[str, Any]) -> str:
    """base64url SHA-256 of the RFC 8785 canonical form of ``definition``, exactly as sent."""
    return _b64encode(hashlib.sha256(canonical_bytes(definition)).digest())


def definition_attestation(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The unsigned signature note of an extension-definition (docs/signing.md section 12).

    STIX 2.1 section 7.3 does not let an extension-definition carry ``extensions``, so its
    creator's signature travels in this ``note``: the note names the definition in
    ``object_refs`` and, in the signing extension body, its version and digest; signing the
    note (``Signer.sign``, or the exchange's custodial key) signs the definition. The note's id
    is derived from the creator, the definition and its version, so building it twice gives
    the same object, and it carries the definition's markings, so it reaches the same readers.
    """
    stix_id, creator = definition.get("id"), definition.get("created_by_ref")
    version = definition.get("modified", definition.get("created"))
    if definition.get("type") != "extension-definition":
        raise ValueError("only extension-definitions are signed through a note")
    if not isinstance(stix_id, str) or not isinstance(version, str):
        raise ValueError("the extension-definition needs an 'id' and a 'modified' string")
    _check_identity(creator, "the extension-definition's created_by_ref")
    note: dict[str, Any] = {
        "type": "note",
        "spec_version": "2.1",
        "id": f"note--{stable_uuid4(f'signature-note|{creator}|{stix_id}|{version}')}",
        "created_by_ref": creator,
        "created": version,
        "modified": version,
        "abstract": f"Signature of {stix_id}",
        "content": (
            f"{creator} signs version {version} of {stix_id}. An extension-definition cannot "
            "carry extensions (STIX 2.1 section 7.3), so the signature travels in this note."
        ),
        "object_refs": [stix_id],
        "extensions": {
            SIGNING_EXTENSION_ID: {
                "extension_type": "property-extension",
                RELATED_OBJECTS: [
                    {
                        "related_to": stix_id,
                        "related_version": version,
                        "hash_algorithm": HASH_ALGORITHM,
                        "hash": definition_digest(definition),
                    }
                ],
            }
        },
    }
    if "object_marking_refs" in definition:
        note["object_marking_refs"] = copy.deepcopy(definition["object_marking_refs"])
    return note


@functools.cache
def _official() -> dict[str, dict[str, Any]]:
    text = resources.files("signatures").joinpath("profile/markings/tlp-2.0.json").read_text()
    return {obj["id"]: obj for obj in json.loads(text)}


def official_objects() -> Mapping[str, Mapping[str, Any]]:
    """The OASIS objects the exchange serves exactly as OASIS publishes them, by id.

    These are the TLP 2.0 extension-definition and its five marking-definitions
    (oasis-open/cti-stix-common-objects). Their integrity is their content: a copy is
    genuine when it equals the official object as a JSON value; nobody signs them.
    """
    return _official()


def is_official(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is, by value, one of the official OASIS objects."""
    official = _official().get(obj.get("id"))  # type: ignore[arg-type]
    return official is not None and dict(obj) == official


@dataclass(frozen=True, slots=True)
class Attestation:
    """One object a valid signature note vouches for, and who signed the note."""

    note_id: str
    signee: str
    related_to: str
    related_version: str
    digest: str


def attestations_of(note: Mapping[str, Any], report: VerificationReport) -> list[Attestation]:
    """What a note whose signatures verified vouches for; malformed entries vouch for nothing."""
    if report.status != "valid" or note.get("type") != "note":
        return []
    body = note["extensions"][SIGNING_EXTENSION_ID]
    related = body.get(RELATED_OBJECTS, [])
    attestations = []
    for entry in related if isinstance(related, list) else ():
        if (
            not isinstance(entry, Mapping)
            or set(entry) != set(RELATED_MEMBERS)
            or not all(isinstance(entry[name], str) for name in RELATED_MEMBERS)
            or entry["hash_algorithm"] != HASH_ALGORITHM
            or entry["related_to"] not in note.get("object_refs", ())
        ):
            continue
        attestations += [
            Attestation(
                report.object_id or "",
                signee,
                entry["related_to"],
                entry["related_version"],
                entry["hash"],
            )
            for signee in report.signees
        ]
    return attestations


# --- verification ----------------------------------------------------------------------------

#: A JWK Set (``{"keys": [...]}``), a single JWK, or a sequence of either; or a ready Verifier.
KeySource: TypeAlias = "Mapping[str, Any] | Sequence[Mapping[str, Any]] | Verifier"

Status: TypeAlias = Literal["valid", "invalid", "unsigned", "official"]


@dataclass(frozen=True, slots=True)
class EntryResult:
    """The verdict on one entry of the ``signatures`` list (``index`` counts from 1)."""

    index: int
    valid: bool
    reason: str
    signee: str | None = None
    thumbprint: str | None = None


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The verdict on one object.

    ``status`` is ``unsigned`` without signature entries, ``valid`` when every entry verifies
    and ``invalid`` otherwise; ``reason`` says why in one line.
    """

    object_id: str | None
    status: Status
    reason: str
    entries: tuple[EntryResult, ...] = ()

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def signees(self) -> tuple[str, ...]:
        """The identities whose signatures verified."""
        return tuple(entry.signee for entry in self.entries if entry.valid and entry.signee)


def _iter_jwks(source: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Iterator[Any]:
    """Yield each JWK of a JWK Set, a single JWK, or a sequence of sets and JWKs."""
    items = [source] if isinstance(source, Mapping) else source
    for item in items:
        if not isinstance(item, Mapping):
            raise ValueError("a key source must hold JWK Sets or JWKs (JSON objects)")
        if "keys" in item:
            keys = item["keys"]
            if not isinstance(keys, list):
                raise ValueError("a JWK Set's 'keys' must be a list")
            yield from keys
        else:
            yield item


class Verifier:
    """Verifies signed objects and detached JWS against a fixed collection of keys.

    The keys are parsed once here. Following RFC 7517 section 5, JWKs that are not usable
    Ed25519 keys of this profile are skipped; ``ignored`` says why for each. A thumbprint listed
    more than once (say, a current and a stale copy of a member's set) must satisfy every
    listing, so a revocation cannot be undone by an older copy that lacks it.
    """

    def __init__(self, jwks: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        self._keys: dict[str, list[PublishedKey]] = {}
        self.ignored: list[str] = []
        for jwk in _iter_jwks(jwks):
            if not isinstance(jwk, Mapping):
                self.ignored.append("ignored a JWK that is not a JSON object")
                continue
            try:
                key = PublishedKey.from_jwk(jwk)
            except InvalidJWKError as exc:
                self.ignored.append(f"ignored JWK {jwk.get('kid', '(no kid)')!r}: {exc}")
                continue
            self._keys.setdefault(key.thumbprint, []).append(key)

    @property
    def thumbprints(self) -> frozenset[str]:
        return frozenset(self._keys)

    def verify(self, obj: Any, *, now: datetime | None = None) -> VerificationReport:
        """Verify every signature entry of ``obj``, parsed JSON exactly as received.

        An official OASIS object (``official_objects``) is ``official`` when it equals the
        official content and ``invalid`` when it differs unsigned. An extension-definition
        is ``unsigned`` here: its signature is in a separate note, which ``verify_all``
        matches to it.
        """
        if not isinstance(obj, Mapping):
            return VerificationReport(None, "invalid", "not a JSON object")
        object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
        if is_official(obj):
            return VerificationReport(
                object_id, "official", "official OASIS content, checked by value"
            )
        report = self._verify_signatures(obj, object_id, now)
        if report.status == "unsigned" and object_id in _official():
            return VerificationReport(
                object_id, "invalid", "differs from the official OASIS object of this id"
            )
        return report

    def verify_all(
        self, objects: Sequence[Any], *, now: datetime | None = None
    ) -> list[VerificationReport]:
        """Verify ``objects`` together, in order: an extension-definition among them is
        verified through the signature notes among them (docs/signing.md section 12)."""
        reports = [self.verify(obj, now=now) for obj in objects]
        attestations = [
            attestation
            for obj, report in zip(objects, reports, strict=True)
            for attestation in attestations_of(obj, report)
        ]
        return [
            self.verify_definition(obj, attestations)
            if report.status == "unsigned" and obj.get("type") == "extension-definition"
            else report
            for obj, report in zip(objects, reports, strict=True)
        ]

    def verify_definition(
        self, definition: Mapping[str, Any], attestations: Sequence[Attestation]
    ) -> VerificationReport:
        """Verify an extension-definition through signature notes that verified.

        A note counts when it names this id and version and is signed by the definition's
        creator (or the Forum); it makes the definition ``valid`` when its digest is the
        definition's, and ``invalid`` when not, since then the definition was changed.
        """
        object_id = definition.get("id")
        creator = definition.get("created_by_ref")
        version = definition.get("modified", definition.get("created"))
        notes = [
            a
            for a in attestations
            if a.related_to == object_id
            and a.related_version == version
            and a.signee in (creator, FORUM_IDENTITY_ID)
        ]
        if not notes:
            return VerificationReport(object_id, "unsigned", "no signature note")
        try:
            digest = definition_digest(definition)
        except rfc8785.CanonicalizationError as exc:
            reason = f"the object cannot be canonicalized (RFC 8785): {exc}"
            return VerificationReport(object_id, "invalid", reason)
        matching = [a for a in notes if a.digest == digest]
        if not matching:
            reason = (
                f"does not match the definition signed in {notes[0].note_id}: the object was "
                "changed after signing"
            )
            return VerificationReport(object_id, "invalid", reason)
        entries = tuple(
            EntryResult(n, True, f"signed by {a.signee} in {a.note_id}", a.signee)
            for n, a in enumerate(matching, start=1)
        )
        reason = "; ".join(entry.reason for entry in entries)
        return VerificationReport(object_id, "valid", reason, entries)

    def _verify_signatures(
        self, obj: Mapping[str, Any], object_id: str | None, now: datetime | None
    ) -> VerificationReport:
        now_ns = _datetime_ns(now or datetime.now(UTC))
        extensions = obj.get("extensions")
        if extensions is None:
            return VerificationReport(object_id, "unsigned", "no signatures")
        if not isinstance(extensions, Mapping):
            return VerificationReport(object_id, "invalid", "'extensions' is not a JSON object")
        body = extensions.get(SIGNING_EXTENSION_ID)
        if body is None:
            return VerificationReport(object_id, "unsigned", "no signatures")
        if not isinstance(body, Mapping):
            return VerificationReport(
                object_id, "invalid", "the signing extension is not a JSON object"
            )
        entries = body.get("signatures", [])
        if not isinstance(entries, list):
            return VerificationReport(
                object_id, "invalid", "the signing extension's 'signatures' is not a list"
            )
        if not entries:
            return VerificationReport(object_id, "unsigned", "no signatures")
        results = tuple(
            self._verify_entry(obj, index, entry, now_ns)
            for index, entry in enumerate(entries, start=1)
        )
        failures = [f"signature {r.index}: {r.reason}" for r in results if not r.valid]
        if failures:
            return VerificationReport(object_id, "invalid", "; ".join(failures), results)
        reason = "; ".join(r.reason for r in results)
        return VerificationReport(object_id, "valid", reason, results)

    def _verify_entry(
        self, obj: Mapping[str, Any], index: int, entry: Any, now_ns: int
    ) -> EntryResult:
        problem = _entry_shape_problem(entry)
        if problem is not None:
            return EntryResult(index, False, f"malformed signature entry: {problem}")
        signee, thumbprint, created = entry["signee"], entry["thumbprint"], entry["created"]

        def invalid(reason: str) -> EntryResult:
            return EntryResult(index, False, reason, signee, thumbprint)

        keys = self._keys.get(thumbprint)
        if keys is None:
            return invalid(f"unknown key thumbprint {thumbprint!r}")
        created_ns = _timestamp_ns(created)
        for key in keys:
            if key.signee != signee:
                owner = f"belongs to {key.signee!r}" if key.signee else "names no signee"
                return invalid(f"signee {signee!r} does not own key {thumbprint!r} (it {owner})")
            problem = key.life_problem(created_ns, f"the signature's creation time {created}")
            if problem is not None:
                return invalid(problem)
        creator = _attributed_creator(obj)
        if creator is not None and signee not in (creator, FORUM_IDENTITY_ID):
            return invalid(f"signee {signee!r} is not the object's created_by_ref {creator!r}")
        if created_ns > now_ns + MAX_CLOCK_SKEW // timedelta(microseconds=1) * 1_000:
            return invalid(f"signature created at {created} lies more than 5 minutes in the future")
        try:
            message = hashlib.sha256(signing_input(obj, entry)).digest()
        except rfc8785.CanonicalizationError as exc:
            return invalid(f"the object cannot be canonicalized (RFC 8785): {exc}")
        try:
            keys[0].public_key.verify(_b64decode(entry["value"]), message)
        except InvalidSignature:
            return invalid("signature value does not match: the object was changed after signing")
        return EntryResult(
            index,
            True,
            f"signed by {signee} with key {thumbprint} at {created}",
            signee,
            thumbprint,
        )

    def verify_jws(self, payload: bytes, jws: str, *, now: datetime | None = None) -> str:
        """Verify a detached JWS (RFC 7515 Appendix F) over ``payload``; return its ``kid``.

        The key must be in its life at ``now``. Raises ``JWSError`` with the reason otherwise.
        """
        parts = jws.strip().split(".")
        if len(parts) != 3:
            raise JWSError("not a JWS compact serialization (expected three '.'-separated parts)")
        header_part, payload_part, signature_part = parts
        if payload_part:
            raise JWSError("not a detached JWS: the payload part must be empty")
        try:
            header = json.loads(_b64decode(header_part))
        except ValueError as exc:
            raise JWSError(f"the protected header is not base64url JSON: {exc}") from exc
        if not isinstance(header, dict):
            raise JWSError("the protected header is not a JSON object")
        if header.get("alg") != "EdDSA":
            raise JWSError(f"unsupported alg {header.get('alg')!r} (only 'EdDSA')")
        # RFC 7515 section 4.1.11: critical extensions we do not implement (such as RFC 7797
        # "b64": false) must make the JWS invalid.
        if "crit" in header:
            raise JWSError(f"unsupported critical header parameters {header['crit']!r}")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise JWSError("the protected header has no 'kid'")
        keys = self._keys.get(kid)
        if keys is None:
            raise JWSError(f"unknown key {kid!r}")
        moment = now or datetime.now(UTC)
        for key in keys:
            problem = key.life_problem(_datetime_ns(moment), f"now ({format_timestamp(moment)})")
            if problem is not None:
                raise JWSError(problem)
        try:
            signature = _b64decode(signature_part)
        except ValueError as exc:
            raise JWSError(f"the signature part is {exc}") from exc
        jws_input = f"{header_part}.{_b64encode(payload)}".encode("ascii")
        try:
            keys[0].public_key.verify(signature, jws_input)
        except InvalidSignature:
            raise JWSError("signature does not match: the payload was changed") from None
        return kid


def _entry_shape_problem(entry: Any) -> str | None:
    """What makes ``entry`` not a well-formed signature entry of this profile, if anything."""
    if not isinstance(entry, Mapping):
        return "not a JSON object"
    for name in ENTRY_MEMBERS:
        if name not in entry:
            return f"missing {name!r}"
        if not isinstance(entry[name], str):
            return f"{name!r} is not a string"
    for name in entry:
        if name not in ENTRY_MEMBERS:
            return f"unexpected member {name!r}"
    if entry["algorithm"] != ALGORITHM:
        return f"unsupported algorithm {entry['algorithm']!r} (only {ALGORITHM!r})"
    if entry["hash_algorithm"] != HASH_ALGORITHM:
        return f"unsupported hash_algorithm {entry['hash_algorithm']!r} (only {HASH_ALGORITHM!r})"
    if not _IDENTITY_RE.fullmatch(entry["signee"]):
        return "'signee' is not a STIX identity id"
    if not _MILLIS_RE.fullmatch(entry["created"]):
        return "'created' is not a timestamp with exactly 3 fraction digits (…T…:…:….sssZ)"
    try:
        _timestamp_ns(entry["created"])
    except ValueError as exc:
        return f"'created' is not a valid time: {exc}"
    try:
        value = _b64decode(entry["value"])
    except ValueError as exc:
        return f"'value' is {exc}"
    if len(value) != 64:
        return "'value' is not a 64-byte Ed25519 signature"
    return None


def _as_verifier(jwks: KeySource) -> Verifier:
    return jwks if isinstance(jwks, Verifier) else Verifier(jwks)


def verify_object(
    obj: Mapping[str, Any], jwks: KeySource, *, now: datetime | None = None
) -> VerificationReport:
    """Verify ``obj`` against ``jwks``; build one ``Verifier`` instead for many objects."""
    return _as_verifier(jwks).verify(obj, now=now)


def jws_detached_verify(
    payload: bytes, jws: str, jwks: KeySource, *, now: datetime | None = None
) -> str:
    """Verify a detached JWS over ``payload``; return the ``kid`` or raise ``JWSError``."""
    return _as_verifier(jwks).verify_jws(payload, jws, now=now)
