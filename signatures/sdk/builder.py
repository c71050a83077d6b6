"""Builds the profile's observables (and the standard SCOs it uses) from raw telemetry.

Every function returns a plain, JSON-ready dict that is a valid STIX 2.1 cyber-
observable (section 6) with a deterministic id (section 2.9): the same input gives
the same object, byte for byte once serialised, on every machine, so two labs that
see the same prompt, card or farm publish the same id. Nothing raw leaves unless the
caller asks: prompts travel as hashes and sketches, cards as keyed fingerprints.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from signatures.sdk import normalize, sketches
from signatures.sdk.constants import (
    ACCOUNT_CLUSTER_TYPE,
    PAYMENT_INSTRUMENT_TYPE,
    PROMPT_PATTERN_TYPE,
    SESSION_TIMING_TYPE,
    TLP2_BY_LEVEL,
)
from signatures.sdk.profile import deterministic_id, load_profile, sco_id

Timestamp = datetime | float | int
StixObject = dict[str, Any]

_JA4 = re.compile(r"^[tqd][0-9a-z]{2}[di][0-9]{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$")
_BIN = re.compile(r"^[0-9]{6,8}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
INSTRUMENT_KINDS = frozenset({"credit", "debit", "prepaid", "virtual", "other"})
#: Suggested values of prompt-pattern ``technique`` (an open vocabulary).
TECHNIQUES = (
    "cot-extraction",
    "autograding",
    "critique-loop",
    "capability-sweep",
    "tool-use-harvest",
    "other",
)
#: Measured numbers are rounded to this many decimals, so that float noise in the last
#: bits (which differs with summation order) cannot change an id.
DECIMALS = 3
#: An account is synchronized when at least this share of its requests has a request of
#: another account within the tolerance.
SYNC_MIN_SHARE = 0.5


class AccountRecord(TypedDict):
    """One account of a suspected farm, as a lab's own records describe it."""

    created_at: Timestamp
    email: NotRequired[str]
    phone: NotRequired[str]
    ja4: NotRequired[str]
    payment_bin: NotRequired[str]


def _finish(object_type: str, properties: dict[str, Any], tlp: str | None) -> StixObject:
    """Add the SCO envelope: type, spec_version, deterministic id, marking, extension."""
    obj: StixObject = {"type": object_type, "spec_version": "2.1"}
    profile = load_profile()
    if object_type in profile.types:
        obj["id"] = sco_id(object_type, properties)
    else:
        obj["id"] = deterministic_id(object_type, properties, _STANDARD_ID_PROPERTIES[object_type])
    obj.update(properties)
    if tlp is not None:
        obj["object_marking_refs"] = [_tlp_marking(tlp)]
    if object_type in profile.types:
        obj["extensions"] = {profile.extension_ids[object_type]: {"extension_type": "new-sco"}}
    return obj


def _tlp_marking(level: str) -> str:
    try:
        return TLP2_BY_LEVEL[level.lower()]
    except KeyError:
        raise ValueError(
            f"unknown TLP level {level!r}; use one of {sorted(TLP2_BY_LEVEL)}"
        ) from None


# STIX 2.1 section 6: the id-contributing properties of the standard SCOs used here.
_STANDARD_ID_PROPERTIES = {
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "autonomous-system": ("number",),
    "domain-name": ("value",),
    "email-addr": ("value",),
}


def prompt_pattern(
    prompt: str,
    *,
    technique: str,
    language: str | None = None,
    include_normalized_text: bool = False,
    include_raw_text: bool = False,
    tlp: str | None = None,
) -> StixObject:
    """A ``prompt-pattern`` of ``prompt``: hash and sketches of its v1 normalisation.

    The text itself is left out unless asked for: the normalised text with
    ``include_normalized_text``, the raw prompt with ``include_raw_text`` (share that
    only under TLP:RED).
    """
    normalized = normalize.normalize_prompt(prompt)
    if not normalized:
        raise ValueError("the prompt is empty once normalised")
    properties: dict[str, Any] = {
        "normalization": normalize.PROMPT_NORMALIZATION,
        "normalized_sha256": hashlib.sha256(normalized.encode("utf-8")).hexdigest(),
        "simhash64": sketches.simhash64(normalized),
        "minhash": sketches.encode_minhash(sketches.minhash(normalized)),
        "word_count": len(normalized.split(" ")),
        "technique": technique,
    }
    if language is not None:
        properties["language"] = language
    if include_normalized_text:
        properties["normalized_text"] = normalized
    if include_raw_text:
        properties["text"] = prompt
    return _finish(PROMPT_PATTERN_TYPE, properties, tlp)


def payment_fingerprint(card_number: str, sharing_key: bytes) -> str:
    """HMAC-SHA256 (hex) of the card number's ASCII digits under the Forum sharing key.

    Members hold the key, so they can match each other's cards; partners and anyone
    else cannot test a guessed card number against a fingerprint.
    """
    if len(sharing_key) < 16:
        raise ValueError("the sharing key must be at least 16 bytes")
    digits = normalize.normalize_pan(card_number)
    return hmac.new(sharing_key, digits.encode("ascii"), hashlib.sha256).hexdigest()


def payment_instrument(
    card_number: str,
    sharing_key: bytes,
    *,
    bin_length: int = 6,
    issuing_country: str | None = None,
    instrument_kind: str | None = None,
    key_id: str | None = None,
    tlp: str | None = None,
) -> StixObject:
    """A ``payment-instrument``: keyed fingerprint, BIN, country and kind of a card.

    The card number is used only in memory. No last four digits are emitted: with the
    BIN they narrow a card number to a range small enough to brute-force.
    """
    if bin_length not in (6, 8):
        raise ValueError("bin_length is 6 or 8")
    properties: dict[str, Any] = {"fingerprint": payment_fingerprint(card_number, sharing_key)}
    if key_id is not None:
        properties["fingerprint_key_id"] = key_id
    properties["bin"] = normalize.normalize_pan(card_number)[:bin_length]
    if issuing_country is not None:
        if not _COUNTRY.match(issuing_country.upper()):
            raise ValueError(f"issuing_country {issuing_country!r} is not ISO 3166-1 alpha-2")
        properties["issuing_country"] = issuing_country.upper()
    if instrument_kind is not None:
        if instrument_kind not in INSTRUMENT_KINDS:
            raise ValueError(f"instrument_kind must be one of {sorted(INSTRUMENT_KINDS)}")
        properties["instrument_kind"] = instrument_kind
    return _finish(PAYMENT_INSTRUMENT_TYPE, properties, tlp)


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (Hyndman and Fan type 7)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def peak_in_flight(starts_us: Sequence[int], durations_us: Sequence[int]) -> int:
    """Most requests open at one instant, each open over [start, start + duration)."""
    events = sorted(
        [(start + duration, -1) for start, duration in zip(starts_us, durations_us, strict=True)]
        + [(start, 1) for start in starts_us]
    )
    peak = current = 0
    for _, step in events:  # at equal times, -1 sorts first: half-open intervals
        current += step
        peak = max(peak, current)
    return peak


def _synchronized(times_us: Sequence[int], accounts: Sequence[str], tolerance_us: int) -> int:
    """Accounts with at least SYNC_MIN_SHARE of their requests within ``tolerance_us`` of
    a request by another account. ``times_us`` is sorted."""
    count = len(times_us)
    # Nearest index on each side whose account differs, in one pass each way.
    previous: list[int | None] = [None] * count
    following: list[int | None] = [None] * count
    for i in range(1, count):
        previous[i] = i - 1 if accounts[i - 1] != accounts[i] else previous[i - 1]
    for i in range(count - 2, -1, -1):
        following[i] = i + 1 if accounts[i + 1] != accounts[i] else following[i + 1]
    in_sync: Counter[str] = Counter()
    for i, time in enumerate(times_us):
        near = (j for j in (previous[i], following[i]) if j is not None)
        if any(abs(times_us[j] - time) <= tolerance_us for j in near):
            in_sync[accounts[i]] += 1
    totals = Counter(accounts)
    return sum(1 for a, n in totals.items() if in_sync[a] >= SYNC_MIN_SHARE * n)


def api_session_profile(
    timestamps: Sequence[Timestamp],
    *,
    token_counts: Sequence[int] | None = None,
    durations_ms: Sequence[float] | None = None,
    account_ids: Sequence[str] | None = None,
    release_at: Timestamp | None = None,
    release_window_hours: float = 24.0,
    sync_tolerance_ms: int = 1000,
    tlp: str | None = None,
) -> StixObject:
    """An ``api-session-profile`` of the requests started at ``timestamps``.

    Optional sequences run parallel to ``timestamps``: tokens per request, request
    durations (default 1000 ms each, for the concurrency estimate), and the account of
    each request (for ``account_count`` and ``synchronized_accounts``). With
    ``release_at`` the share of requests in the ``release_window_hours`` after it is
    measured. The order of the input does not matter.
    """
    count = len(timestamps)
    if count < 2:
        raise ValueError("a timing profile needs at least two requests")
    for name, parallel in (
        ("token_counts", token_counts),
        ("durations_ms", durations_ms),
        ("account_ids", account_ids),
    ):
        if parallel is not None and len(parallel) != count:
            raise ValueError(f"{name} has {len(parallel)} items for {count} timestamps")
    times = [normalize.to_epoch_us(t) for t in timestamps]
    order = sorted(range(count), key=times.__getitem__)
    times = [times[i] for i in order]
    intervals = sorted((b - a) / 1000 for a, b in itertools.pairwise(times))
    mean = sum(intervals) / len(intervals)
    spread = math.sqrt(sum((x - mean) ** 2 for x in intervals) / len(intervals))
    durations = [round(d * 1000) for d in durations_ms] if durations_ms else [1_000_000] * count
    if durations_ms:
        durations = [durations[i] for i in order]

    properties: dict[str, Any] = {
        "window_start": normalize.format_epoch_us(times[0]),
        "window_end": normalize.format_epoch_us(times[-1]),
        "request_count": count,
        "requests_per_hour": round(3_600_000 / mean, DECIMALS) if mean else 0,
        "interval_median_ms": round(quantile(intervals, 0.5), DECIMALS),
        "interval_p10_ms": round(quantile(intervals, 0.1), DECIMALS),
        "interval_p90_ms": round(quantile(intervals, 0.9), DECIMALS),
        "interval_cv": round(spread / mean, DECIMALS) if mean else 0,
        "concurrency": peak_in_flight(times, durations),
    }
    if token_counts is not None:
        properties["tokens_per_request"] = round(sum(token_counts) / count, DECIMALS)
    if account_ids is not None:
        accounts = [account_ids[i] for i in order]
        properties["account_count"] = len(set(accounts))
        properties["synchronized_accounts"] = _synchronized(
            times, accounts, sync_tolerance_ms * 1000
        )
    if release_at is not None:
        start = normalize.to_epoch_us(release_at)
        end = start + round(release_window_hours * 3_600_000_000)
        inside = sum(1 for t in times if start <= t < end)
        properties["release_at"] = normalize.stix_timestamp(release_at)
        properties["release_window_hours"] = release_window_hours
        properties["release_window_share"] = round(inside / count, DECIMALS)
    return _finish(SESSION_TIMING_TYPE, properties, tlp)


def _trait(value: str, check: re.Pattern[str], what: str) -> str:
    if not check.match(value):
        raise ValueError(f"{what} {value!r} is malformed")
    return value


def account_cluster(
    accounts: Iterable[AccountRecord],
    *,
    min_accounts_per_trait: int = 2,
    phone_prefix_digits: int = 5,
    tlp: str | None = None,
) -> StixObject:
    """An ``account-cluster`` of the given accounts (one record per account).

    A trait value (e-mail domain, phone prefix, JA4, payment BIN) is listed only when
    at least ``min_accounts_per_trait`` accounts share it: the cluster is described by
    what ties it together, and a value unique to one account is more identifying than
    useful. Lists are sorted, since their order takes part in the id.
    """
    created: list[str] = []
    traits: dict[str, Counter[str]] = defaultdict(Counter)
    for record in accounts:
        created.append(normalize.stix_timestamp(record["created_at"]))
        values = {
            "email_domains": normalize.normalize_domain(record["email"])
            if "email" in record
            else None,
            "phone_prefixes": normalize.normalize_phone_prefix(record["phone"], phone_prefix_digits)
            if "phone" in record
            else None,
            "ja4": _trait(record["ja4"].lower(), _JA4, "JA4") if "ja4" in record else None,
            "payment_bins": _trait(record["payment_bin"], _BIN, "payment BIN")
            if "payment_bin" in record
            else None,
        }
        for name, value in values.items():
            if value is not None:
                traits[name][value] += 1
    if not created:
        raise ValueError("an account cluster needs at least one account")
    properties: dict[str, Any] = {
        "account_count": len(created),
        "created_first": min(created),
        "created_last": max(created),
    }
    for name in ("email_domains", "phone_prefixes", "ja4", "payment_bins"):
        shared = sorted(v for v, n in traits[name].items() if n >= min_accounts_per_trait)
        if shared:
            properties[name] = shared
    return _finish(ACCOUNT_CLUSTER_TYPE, properties, tlp)


def ip_observables(
    addresses: Iterable[str],
    *,
    ipv4_prefix: int = 24,
    ipv4_min_hosts: int = 4,
    ipv6_prefix: int = 64,
    ipv6_min_hosts: int = 1,
    tlp: str | None = None,
) -> list[StixObject]:
    """``ipv4-addr`` / ``ipv6-addr`` SCOs for a farm's addresses, aggregated into CIDRs.

    Addresses are grouped by their ``/ipv4_prefix`` (``/ipv6_prefix``) network; a network
    holding at least ``ipv4_min_hosts`` (``ipv6_min_hosts``) distinct addresses is
    published whole, others address by address. Adjacent results are then merged. An
    IPv6 farm usually rotates through its /64, hence the default of one host.
    """
    groups: dict[ipaddress.IPv4Network | ipaddress.IPv6Network, set[Any]] = defaultdict(set)
    for text in addresses:
        address = ipaddress.ip_address(text.strip())
        prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
        groups[ipaddress.ip_network(f"{address}/{prefix}", strict=False)].add(address)
    networks: list[Any] = []
    for network, members in groups.items():
        threshold = ipv4_min_hosts if network.version == 4 else ipv6_min_hosts
        if len(members) >= threshold:
            networks.append(network)
        else:
            networks.extend(ipaddress.ip_network(m) for m in members)
    objects = []
    for version in (4, 6):
        for net in ipaddress.collapse_addresses(n for n in networks if n.version == version):
            single = net.num_addresses == 1
            value = str(net.network_address) if single else str(net)
            objects.append(_finish(f"ipv{version}-addr", {"value": value}, tlp))
    return objects


def autonomous_system(
    number: int, *, name: str | None = None, tlp: str | None = None
) -> StixObject:
    """An ``autonomous-system`` SCO (id from ``number`` only, as STIX 2.1 section 6.2)."""
    properties: dict[str, Any] = {"number": number}
    if name is not None:
        properties["name"] = name
    return _finish("autonomous-system", properties, tlp)


def domain_name(value: str, *, tlp: str | None = None) -> StixObject:
    """A ``domain-name`` SCO, lower-cased and without a final dot."""
    return _finish("domain-name", {"value": normalize.normalize_domain(value)}, tlp)


def email_address(value: str, *, tlp: str | None = None) -> StixObject:
    """An ``email-addr`` SCO; the domain part is lower-cased, the local part kept as is."""
    local, _, domain = value.strip().rpartition("@")
    if not local:
        raise ValueError(f"{value!r} is not an e-mail address")
    return _finish("email-addr", {"value": f"{local}@{normalize.normalize_domain(domain)}"}, tlp)
