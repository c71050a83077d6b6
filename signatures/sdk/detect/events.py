"""Telemetry events: one API request as a lab records it, fingerprinted at the lab's edge.

A lab writes one JSON object per request (``event_from_raw`` documents the fields). Raw
card numbers and prompt text are turned here, in memory, into the profile's HMAC
fingerprints, hash and sketches with the profile's own normalisation
(``signatures.sdk.normalize``, ``builder``, ``sketches``); the raw values are dropped and
never leave the lab. STIX 2.1 ``observed-data`` is accepted as input too.

The matcher sees an event as a set of STIX cyber-observables (``EventView``): the same
objects a pattern names, so ``[ipv4-addr:value = '203.0.113.7']`` or
``[prompt-pattern:normalized_sha256 = '...']`` read the event as they would read
observed-data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signatures.sdk import builder, normalize, sketches
from signatures.sdk.constants import (
    ACCOUNT_CLUSTER_TYPE,
    PAYMENT_INSTRUMENT_TYPE,
    PROMPT_PATTERN_TYPE,
    SESSION_TIMING_TYPE,
)

StixObject = dict[str, Any]

#: The phone prefix an account cluster lists (docs/profile.md section 6): "+" and 5 digits.
PHONE_PREFIX_DIGITS = 5
#: A card's BIN as the builder records it by default.
BIN_DIGITS = 6


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One API request as a lab records it, already fingerprinted (nothing raw inside)."""

    event_id: str
    time_us: int
    account_id: str
    source_ip: str | None = None
    asn: int | None = None
    #: HMAC-SHA256 of the card number under the Forum sharing key (builder.payment_fingerprint).
    payment_fingerprint: str | None = None
    #: SHA-256 of the v1-normalised prompt (prompt-pattern normalized_sha256).
    prompt_sha256: str | None = None
    prompt_simhash: str | None = None
    prompt_minhash: str | None = None
    prompt_words: int = 0
    #: The normalised prompt, kept in the lab's memory only, for MATCHES regexes.
    prompt_normalized: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    model: str | None = None
    ja4: str | None = None
    email_domain: str | None = None
    phone_prefix: str | None = None
    account_created_us: int | None = None
    payment_bin: str | None = None
    #: How long the request was open, for the concurrency feature (1000 ms when unknown).
    duration_ms: int | None = None

    @property
    def tokens(self) -> int | None:
        """Tokens of the request (in + out), None when the lab recorded neither."""
        if self.tokens_in is None and self.tokens_out is None:
            return None
        return (self.tokens_in or 0) + (self.tokens_out or 0)


def parse_time_us(value: Any, field: str) -> int:
    """Epoch seconds (number) or a STIX/ISO 8601 timestamp with a timezone."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"'{field}': {value!r} is not an ISO 8601 timestamp") from None
        return normalize.to_epoch_us(moment)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'{field}' is epoch seconds or an ISO 8601 timestamp")
    return normalize.to_epoch_us(value)


def _text(raw: Mapping[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"'{field}' must be a non-empty string")
    return value


def _count(raw: Mapping[str, Any], field: str) -> int | None:
    value = raw.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"'{field}' must be a non-negative integer")
    return value


def prompt_fields(prompt: str) -> dict[str, Any]:
    """The prompt's v1 normalisation, hash and sketches, as TelemetryEvent fields."""
    normalized = normalize.normalize_prompt(prompt)
    if not normalized:
        return {}
    return {
        "prompt_sha256": hashlib.sha256(normalized.encode("utf-8")).hexdigest(),
        "prompt_simhash": sketches.simhash64(normalized),
        "prompt_minhash": sketches.encode_minhash(sketches.minhash(normalized)),
        "prompt_words": len(normalized.split(" ")),
        "prompt_normalized": normalized,
    }


def event_from_raw(raw: Mapping[str, Any], *, sharing_key: bytes | None) -> TelemetryEvent:
    """A TelemetryEvent from the JSON event a lab records for one request.

    Fields (only ``event_id``, ``time`` and ``account_id`` are required):

    * ``event_id`` (string), ``time`` (epoch seconds or ISO 8601), ``account_id`` (string);
    * ``source_ip``, ``asn`` (integer), ``model``, ``ja4``;
    * ``card_number``: the raw card number, turned into its HMAC fingerprint under
      ``sharing_key`` and its 6-digit BIN; ``payment_bin`` may be given instead of a card;
    * ``prompt``: the raw prompt text, turned into its normalised hash and sketches;
    * ``tokens_in``, ``tokens_out``, ``duration_ms`` (integers);
    * ``email`` (an address or a domain; only the domain is kept), ``phone`` (international
      form; only ``+`` and the first 5 digits are kept), ``account_created`` (a time).

    A malformed field raises ``ValueError`` naming it. A card number without a sharing key
    is refused: an unkeyed fingerprint would match nobody's.
    """
    event_id = _text(raw, "event_id")
    account_id = _text(raw, "account_id")
    if event_id is None or account_id is None or raw.get("time") is None:
        raise ValueError("an event needs 'event_id', 'time' and 'account_id'")
    fields: dict[str, Any] = {
        "event_id": event_id,
        "time_us": parse_time_us(raw["time"], "time"),
        "account_id": account_id,
        "source_ip": _text(raw, "source_ip"),
        "asn": _count(raw, "asn"),
        "model": _text(raw, "model"),
        "ja4": (ja4.lower() if (ja4 := _text(raw, "ja4")) else None),
        "tokens_in": _count(raw, "tokens_in"),
        "tokens_out": _count(raw, "tokens_out"),
        "duration_ms": _count(raw, "duration_ms"),
        "payment_bin": _text(raw, "payment_bin"),
    }
    if (card := _text(raw, "card_number")) is not None:
        if sharing_key is None:
            raise ValueError("'card_number' needs the Forum sharing key to be fingerprinted")
        fields["payment_fingerprint"] = builder.payment_fingerprint(card, sharing_key)
        fields["payment_bin"] = normalize.normalize_pan(card)[:BIN_DIGITS]
    if (prompt := _text(raw, "prompt")) is not None:
        fields.update(prompt_fields(prompt))
    if (email := _text(raw, "email")) is not None:
        fields["email_domain"] = normalize.normalize_domain(email)
    if (phone := _text(raw, "phone")) is not None:
        fields["phone_prefix"] = normalize.normalize_phone_prefix(phone, PHONE_PREFIX_DIGITS)
    if raw.get("account_created") is not None:
        fields["account_created_us"] = parse_time_us(raw["account_created"], "account_created")
    return TelemetryEvent(**fields)


def _observed_objects(obj: Mapping[str, Any], bundle: Mapping[str, Any] | None) -> list[StixObject]:
    """The SCOs an observed-data object holds: its ``object_refs`` resolved in the bundle,
    or the deprecated inline ``objects`` dictionary."""
    if isinstance(obj.get("objects"), Mapping):
        return [dict(o) for o in obj["objects"].values() if isinstance(o, Mapping)]
    by_id = {o.get("id"): o for o in (bundle or {}).get("objects", []) if isinstance(o, Mapping)}
    return [dict(by_id[ref]) for ref in obj.get("object_refs", []) if ref in by_id]


def _event_from_objects(
    event_id: str, account_id: str, time_us: int, objects: Sequence[Mapping[str, Any]]
) -> TelemetryEvent:
    fields: dict[str, Any] = {"event_id": event_id, "time_us": time_us, "account_id": account_id}
    for sco in objects:
        kind = sco.get("type")
        if kind in ("ipv4-addr", "ipv6-addr"):
            fields["source_ip"] = sco.get("value")
        elif kind == "autonomous-system":
            fields["asn"] = sco.get("number")
        elif kind == "user-account":
            fields["account_id"] = str(sco.get("user_id") or sco.get("account_login") or account_id)
            if isinstance(created := sco.get("account_created"), str):
                fields["account_created_us"] = parse_time_us(created, "account_created")
        elif kind == "domain-name":
            fields["email_domain"] = sco.get("value")
        elif kind == "email-addr" and isinstance(sco.get("value"), str):
            fields["email_domain"] = normalize.normalize_domain(sco["value"])
        elif kind == PAYMENT_INSTRUMENT_TYPE:
            fields["payment_fingerprint"] = sco.get("fingerprint")
            fields["payment_bin"] = sco.get("bin")
        elif kind == PROMPT_PATTERN_TYPE:
            fields["prompt_sha256"] = sco.get("normalized_sha256")
            fields["prompt_simhash"] = sco.get("simhash64")
            fields["prompt_minhash"] = sco.get("minhash")
            fields["prompt_words"] = sco.get("word_count") or 0
            fields["prompt_normalized"] = sco.get("normalized_text")
    return TelemetryEvent(**fields)


def events_from_observed_data(obj: Mapping[str, Any]) -> list[TelemetryEvent]:
    """TelemetryEvents from STIX 2.1 observed-data: one observed-data object (with inline
    ``objects``), or a bundle holding observed-data and the SCOs its ``object_refs`` name.

    Each observed-data gives ``number_observed`` events at ``first_observed``; the account
    is the ``user-account`` it references (its ``user_id``), else the observed-data id.
    """
    if obj.get("type") == "bundle":
        bundle: Mapping[str, Any] | None = obj
        observed = [o for o in obj.get("objects", []) if o.get("type") == "observed-data"]
    elif obj.get("type") == "observed-data":
        bundle, observed = None, [obj]
    else:
        raise ValueError("expected an observed-data object or a bundle holding them")
    events = []
    for data in observed:
        time_us = parse_time_us(data.get("first_observed"), "first_observed")
        objects = _observed_objects(data, bundle)
        count = data.get("number_observed", 1)
        # The instances of one observed-data share its account, so that a REPEATS over
        # number_observed binds them as stix2-matcher does.
        account_id = str(data.get("id"))
        for n in range(count if isinstance(count, int) and count > 0 else 1):
            suffix = f"#{n}" if count != 1 else ""
            events.append(
                _event_from_objects(f"{account_id}{suffix}", account_id, time_us, objects)
            )
    return events


class EventView:
    """An observation for the matcher: the STIX objects of one event, by type, built lazily.

    ``extra`` adds objects whose value depends on more than the event itself (the account's
    rolling ``api-session-profile``), made only if a pattern asks for their type.
    """

    __slots__ = ("_cache", "_extra", "event", "time_us")

    def __init__(
        self,
        event: TelemetryEvent,
        extra: Mapping[str, Callable[[], list[Mapping[str, Any]]]] | None = None,
    ) -> None:
        self.event = event
        self.time_us = event.time_us
        self._extra = extra or {}
        self._cache: dict[str, list[Mapping[str, Any]]] = {}

    def objects(self, object_type: str) -> list[Mapping[str, Any]]:
        cached = self._cache.get(object_type)
        if cached is None:
            if (extra := self._extra.get(object_type)) is not None:
                cached = extra()
            elif (make := _BUILDERS.get(object_type)) is not None:
                cached = make(self.event)
            else:
                cached = []
            self._cache[object_type] = cached
        return cached

    def types(self) -> Iterator[str]:
        """The object types this event has (those with at least one object)."""
        e = self.event
        if e.source_ip is not None:
            yield "ipv6-addr" if ":" in e.source_ip else "ipv4-addr"
        if e.asn is not None:
            yield "autonomous-system"
        if e.email_domain is not None:
            yield "domain-name"
        if e.prompt_sha256 is not None:
            yield PROMPT_PATTERN_TYPE
        if e.payment_fingerprint is not None or e.payment_bin is not None:
            yield PAYMENT_INSTRUMENT_TYPE
        yield "user-account"
        yield ACCOUNT_CLUSTER_TYPE
        yield from self._extra


def _ip(kind: str) -> Callable[[TelemetryEvent], list[Mapping[str, Any]]]:
    def make(e: TelemetryEvent) -> list[Mapping[str, Any]]:
        if e.source_ip is None or ("ipv6-addr" if ":" in e.source_ip else "ipv4-addr") != kind:
            return []
        return [{"type": kind, "value": e.source_ip}]

    return make


def _prompt(e: TelemetryEvent) -> list[Mapping[str, Any]]:
    if e.prompt_sha256 is None:
        return []
    obj: StixObject = {
        "type": PROMPT_PATTERN_TYPE,
        "normalization": normalize.PROMPT_NORMALIZATION,
        "normalized_sha256": e.prompt_sha256,
        "word_count": e.prompt_words,
    }
    if e.prompt_simhash is not None:
        obj["simhash64"] = e.prompt_simhash
    if e.prompt_minhash is not None:
        obj["minhash"] = e.prompt_minhash
    if e.prompt_normalized is not None:
        obj["normalized_text"] = e.prompt_normalized
    return [obj]


def _payment(e: TelemetryEvent) -> list[Mapping[str, Any]]:
    obj: StixObject = {"type": PAYMENT_INSTRUMENT_TYPE}
    if e.payment_fingerprint is not None:
        obj["fingerprint"] = e.payment_fingerprint
    if e.payment_bin is not None:
        obj["bin"] = e.payment_bin
    return [obj] if len(obj) > 1 else []


def _user_account(e: TelemetryEvent) -> list[Mapping[str, Any]]:
    obj: StixObject = {"type": "user-account", "user_id": e.account_id}
    if e.account_created_us is not None:
        obj["account_created"] = normalize.format_epoch_us(e.account_created_us)
    return [obj]


def _cluster(e: TelemetryEvent) -> list[Mapping[str, Any]]:
    """The account as a cluster of one: its traits, each as a one-item list, so that a
    pattern over ``account-cluster:email_domains[*]`` (or ``ja4[*]``, ``phone_prefixes[*]``,
    ``payment_bins[*]``) finds the accounts that share a cluster's traits."""
    obj: StixObject = {"type": ACCOUNT_CLUSTER_TYPE, "account_count": 1}
    if e.account_created_us is not None:
        obj["created_first"] = obj["created_last"] = normalize.format_epoch_us(e.account_created_us)
    for name, value in (
        ("email_domains", e.email_domain),
        ("phone_prefixes", e.phone_prefix),
        ("ja4", e.ja4),
        ("payment_bins", e.payment_bin),
    ):
        if value is not None:
            obj[name] = [value]
    return [obj]


_BUILDERS: dict[str, Callable[[TelemetryEvent], list[Mapping[str, Any]]]] = {
    "ipv4-addr": _ip("ipv4-addr"),
    "ipv6-addr": _ip("ipv6-addr"),
    "autonomous-system": lambda e: (
        [] if e.asn is None else [{"type": "autonomous-system", "number": e.asn}]
    ),
    "domain-name": lambda e: (
        [] if e.email_domain is None else [{"type": "domain-name", "value": e.email_domain}]
    ),
    PROMPT_PATTERN_TYPE: _prompt,
    PAYMENT_INSTRUMENT_TYPE: _payment,
    "user-account": _user_account,
    ACCOUNT_CLUSTER_TYPE: _cluster,
}  # fmt: skip

#: Types whose objects depend on the account's history, not on the event alone.
ACCOUNT_STATE_TYPES = frozenset({SESSION_TIMING_TYPE})
