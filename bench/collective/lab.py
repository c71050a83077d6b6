"""One lab: its own local detection and thresholds, the signatures it builds with the SDK,
the SDK ``Detector`` over its traffic, and what it blocks and why.

Local detection counts, per value (prepaid card, /24 source range, normalised prompt), the
distinct *suspicious* accounts that used it in the lab's window: accounts younger than the
lab's age limit, not verified by the lab (its contracted customers), and machine-regular
(enough requests, intervals with a low coefficient of variation). A value that reaches the
lab's threshold flags every suspicious account that used it, and the lab turns what those
accounts sent into indicators: their cards, ranges, prompt hashes and sketches and cadence.
In pooled mode it also shares "watch" indicators on values part of the way there, so that a
value each lab sees under its own threshold adds up across labs.
"""

from __future__ import annotations

import itertools
import json
import math
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from signatures.sdk import builder, indicators, sketches
from signatures.sdk.constants import PROMPT_PATTERN_TYPE
from signatures.sdk.detect.compiler import NEAR_MAX_HAMMING, NEAR_MIN_JACCARD, NEAR_MIN_WORDS
from signatures.sdk.detect.engine import Detector, Match
from signatures.sdk.detect.events import TelemetryEvent

from .scenario import LabSpec, Scenario
from .traffic import DAY_US, HOUR_US, Account, Request

StixObject = dict[str, Any]
#: Kinds a lab counts locally (the cadence is a property of each account, not a shared value).
COUNTED = ("card", "range", "prompt")
#: Requests of an account kept for its regularity and its timing profile.
TIMES_KEPT = 50


@dataclass(frozen=True)
class Signal:
    """What an indicator is about, as the lab that receives it reads it from its pattern."""

    kind: str
    value: str
    watch: bool
    publisher: str


@dataclass
class Suspect:
    """The lab's own records of a suspicious account, kept for signature building."""

    times: deque[int] = field(default_factory=lambda: deque(maxlen=TIMES_KEPT))
    ips: set[str] = field(default_factory=set)
    cards: set[str] = field(default_factory=set)
    prompts: dict[str, str] = field(default_factory=dict)

    def regular(self, since_us: int, min_requests: int, max_cv: float) -> bool:
        times = [t for t in self.times if t >= since_us]
        if len(times) < min_requests:
            return False
        gaps = [b - a for a, b in itertools.pairwise(times)]
        mean = sum(gaps) / len(gaps)
        if mean <= 0:
            return True
        spread = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))
        return spread / mean < max_cv


@dataclass
class Lab:
    spec: LabSpec
    index: int
    scenario: Scenario
    identity: str
    sharing_key: bytes
    #: Sends indicators to the other labs (pooled mode); None when isolated.
    share: Callable[[Lab, list[StixObject], int], None] | None = None
    detector: Detector = field(default_factory=Detector)
    #: Indicator id -> what it is about, for every indicator this lab holds.
    signals: dict[str, Signal] = field(default_factory=dict)
    #: Indicator id -> simulated time from which it applies at this lab.
    effective_us: dict[str, int] = field(default_factory=dict)
    #: (kind, value) -> time another lab's indicator on it arrived here.
    corroborated: dict[tuple[str, str], int] = field(default_factory=dict)
    blocked: dict[str, list[str]] = field(default_factory=dict)
    evidence: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    suspects: dict[str, Suspect] = field(default_factory=dict)
    #: (kind, value) -> account -> last time it used the value (suspects only).
    seen: dict[tuple[str, str], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    #: Values this lab has published a blocking indicator on, and a watch indicator on.
    blocking: set[tuple[str, str]] = field(default_factory=set)
    watched: set[tuple[str, str]] = field(default_factory=set)
    bytes_out: int = 0
    bytes_in: int = 0
    first_detection_us: int | None = None
    observe: Callable[[TelemetryEvent], list[Match]] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    # --- the request path ----------------------------------------------------------------

    def handle(self, account: Account, request: Request, event: TelemetryEvent) -> bool:
        """Whether the request is answered: refuse a blocked account; else match the
        request, block on enough evidence, and record an answered one for local detection."""
        if account.account_id in self.blocked:
            return False
        observe = self.observe or self.detector.observe
        for match in observe(event):
            if self._weigh(account, match):
                return False
        self._record(account, request, event)
        return True

    def _weigh(self, account: Account, match: Match) -> bool:
        """Add a match to the account's evidence; True once the account is blocked."""
        signal = self.signals.get(match.indicator_id)
        applies_from = self.effective_us.get(match.indicator_id)
        if signal is None or signal.watch or applies_from is None or match.time_us < applies_from:
            return False  # not here yet (still in transit), or a watch: it only corroborates
        evidence = self.evidence[account.account_id]
        evidence.setdefault(
            signal.kind, f"{signal.kind} {match.indicator_id} from {signal.publisher}"
        )
        weights = self.scenario.pooling.weights
        if sum(weights.get(kind, 0.0) for kind in evidence) < 1.0:
            return False
        self._block(account, sorted(evidence.values()), match.time_us)
        return True

    def _block(self, account: Account, reasons: list[str], now_us: int) -> None:
        self.blocked[account.account_id] = reasons
        if account.kind == "campaign" and self.first_detection_us is None:
            self.first_detection_us = now_us

    def _record(self, account: Account, request: Request, event: TelemetryEvent) -> None:
        limits = self.spec.thresholds
        if (
            account.verified
            or event.time_us - account.created_us > limits.max_account_age_days * DAY_US
        ):
            return  # the lab's local rules look at new, unverified accounts only
        suspect = self.suspects.setdefault(account.account_id, Suspect())
        suspect.times.append(event.time_us)
        suspect.ips.add(request.source_ip)
        values = [("range", request.source_ip.rsplit(".", 1)[0] + ".0/24")]
        if event.prompt_sha256 is not None:
            suspect.prompts.setdefault(event.prompt_sha256, request.prompt)
            values.append(("prompt", event.prompt_sha256))
        if request.card is not None and event.payment_fingerprint is not None:
            suspect.cards.add(request.card)
            values.append(("card", event.payment_fingerprint))
        for key in values:
            self.seen[key][account.account_id] = event.time_us

    # --- local detection -------------------------------------------------------------------

    def check(self, now_us: int, accounts: dict[str, Account]) -> None:
        """Run the lab's local rules over its window; flag, build and share signatures."""
        limits = self.spec.thresholds
        since = now_us - round(limits.window_hours * HOUR_US)
        regular: dict[str, bool] = {}

        def suspicious(account_id: str) -> bool:
            if account_id not in regular:
                regular[account_id] = account_id not in self.blocked and self.suspects[
                    account_id
                ].regular(since, limits.min_requests, limits.max_interval_cv)
            return regular[account_id]

        flagged: dict[str, str] = {}
        watch: list[tuple[str, str, int]] = []
        pooling = self.scenario.pooling
        for key in list(self.seen):
            users = self.seen[key]
            for account_id in [a for a, t in users.items() if t < since]:
                del users[account_id]
            if not users:
                del self.seen[key]
                continue
            kind, value = key
            threshold = limits.for_kind(kind)
            arrived = self.corroborated.get(key)
            if arrived is not None and arrived <= now_us:
                threshold = max(2, math.ceil(threshold * pooling.corroborated_factor))
            regular_users = [a for a in users if suspicious(a)]
            if len(regular_users) >= threshold:
                reason = (
                    f"local: {kind} {value[:16]} used by {len(regular_users)} new regular "
                    f"accounts in {limits.window_hours:g} h (threshold {threshold})"
                )
                for account_id in regular_users:
                    flagged.setdefault(account_id, reason)
            elif (
                self.share is not None
                and key not in self.watched
                and key not in self.blocking
                and len(regular_users) >= math.ceil(pooling.watch_at * limits.for_kind(kind))
            ):
                watch.append((kind, value, len(regular_users)))
        for account_id, reason in flagged.items():
            self._block(accounts[account_id], [reason], now_us)
        objects = self._signatures([self.suspects[a] for a in flagged])
        objects += [self._watch(kind, value, count) for kind, value, count in watch]
        if objects:
            self.load_own(objects, now_us)
            if self.share is not None:
                self.share(self, objects, now_us)

    # --- building indicators -----------------------------------------------------------------

    def _indicator(self, pattern: str, kind: str, value: str, *, watch: bool = False) -> StixObject:
        (self.watched if watch else self.blocking).add((kind, value))
        name = f"{self.name}: {'watch' if watch else 'distillation farm'} {kind} {value[:16]}"
        return indicators.indicator(
            pattern,
            created_by_ref=self.identity,
            name=name,
            phases=["account-acquisition" if kind == "card" else "bulk-extraction"],
            confidence=30 if watch else 85,
            indicator_types=["anomalous-activity"] if watch else ["malicious-activity"],
            tlp="green" if kind in ("range", "timing") else "amber",
            id=f"indicator--{uuid.uuid4()}",
        )

    def _watch(self, kind: str, value: str, count: int) -> StixObject:
        if kind == "card":
            pattern = indicators.payment_pattern(value)
        elif kind == "range":
            pattern = indicators.ip_pattern(value)
        else:
            pattern = indicators.prompt_hash_pattern(value)
        obj = self._indicator(pattern, kind, value, watch=True)
        obj["description"] = f"{count} new machine-regular accounts, under this lab's threshold"
        return obj

    def _signatures(self, flagged: list[Suspect]) -> list[StixObject]:
        """Indicators of what the flagged accounts sent, built with the SDK builder."""
        if not flagged:
            return []
        objects: list[StixObject] = []
        for card in sorted({c for s in flagged for c in s.cards}):
            observable = builder.payment_instrument(card, self.sharing_key)
            if self._fresh("card", observable["fingerprint"]):
                objects.append(
                    self._indicator(
                        indicators.pattern_for(observable), "card", observable["fingerprint"]
                    )
                )
        addresses = sorted({ip for s in flagged for ip in s.ips})
        for observable in builder.ip_observables(addresses, ipv4_min_hosts=2):
            if self._fresh("range", observable["value"]):
                objects.append(
                    self._indicator(
                        indicators.pattern_for(observable), "range", observable["value"]
                    )
                )
        sketched: list[StixObject] = []
        for digest, prompt in sorted({d: p for s in flagged for d, p in s.prompts.items()}.items()):
            observable = builder.prompt_pattern(prompt, technique="other")
            if self._fresh("prompt", digest):
                objects.append(
                    self._indicator(indicators.pattern_for(observable), "prompt", digest)
                )
            if observable["word_count"] >= NEAR_MIN_WORDS and not any(
                _near(observable, o) for o in sketched
            ):
                sketched.append(observable)
        for observable in sketched:
            key = f"sketch:{observable['simhash64']}"
            if self._fresh("prompt", key):
                pattern = indicators.observation(
                    indicators.comparison(
                        PROMPT_PATTERN_TYPE, "simhash64", "=", observable["simhash64"]
                    ),
                    indicators.comparison(
                        PROMPT_PATTERN_TYPE, "minhash", "=", observable["minhash"]
                    ),
                )
                objects.append(self._indicator(pattern, "prompt", key))
        profiles = [
            builder.api_session_profile([t / 1e6 for t in s.times])
            for s in flagged
            if len(s.times) >= 3
        ]
        if profiles:
            rate = min(p["requests_per_hour"] for p in profiles)
            spread = max(p["interval_cv"] for p in profiles)
            thresholds = {
                "request_count": (">=", self.spec.thresholds.min_requests),
                "requests_per_hour": (">", round(rate * 0.8, 1)),
                "interval_cv": (
                    "<",
                    round(min(spread * 2, self.spec.thresholds.max_interval_cv), 3),
                ),
            }
            key = f"{thresholds['requests_per_hour'][1]}/{thresholds['interval_cv'][1]}"
            if self._fresh("timing", key):
                objects.append(
                    self._indicator(indicators.timing_pattern(thresholds), "timing", key)
                )
        return objects

    def _fresh(self, kind: str, value: str) -> bool:
        return (kind, value) not in self.blocking

    # --- indicators in --------------------------------------------------------------------

    def load_own(self, objects: list[StixObject], now_us: int) -> None:
        """This lab's own indicators apply here at once, with or without an exchange."""
        for obj in objects:
            self.signals[obj["id"]] = signal_of(obj, self.name)
            self.effective_us[obj["id"]] = now_us
            self.detector.load(obj)

    def arrived(self, obj: StixObject, publisher: str, at_us: int) -> None:
        """Another lab's indicator reached this lab's feed at simulated time ``at_us``."""
        signal = signal_of(obj, publisher)
        self.signals[obj["id"]] = signal
        self.effective_us[obj["id"]] = at_us
        if signal.kind in COUNTED:
            self.corroborated.setdefault((signal.kind, signal.value), at_us)
        self.bytes_in += len(stix_bytes(obj))


def _near(a: StixObject, b: StixObject) -> bool:
    return (
        sketches.hamming_distance(a["simhash64"], b["simhash64"]) <= NEAR_MAX_HAMMING
        and sketches.jaccard_estimate(a["minhash"], b["minhash"]) >= NEAR_MIN_JACCARD
    )


def stix_bytes(obj: StixObject) -> bytes:
    """An object as it travels: compact JSON."""
    return json.dumps(obj, separators=(",", ":")).encode()


def signal_of(obj: StixObject, publisher: str) -> Signal:
    """The kind and value an indicator from this simulation is about, read from its pattern."""
    pattern = obj["pattern"]
    watch = "anomalous-activity" in obj.get("indicator_types", [])
    value = pattern.split("'")[1] if "'" in pattern else pattern
    if pattern.startswith("[payment-instrument:"):
        kind = "card"
    elif pattern.startswith("[ipv4-addr:"):
        kind = "range"
    elif pattern.startswith("[prompt-pattern:simhash64"):
        kind, value = "prompt", f"sketch:{value}"
    elif pattern.startswith("[prompt-pattern:"):
        kind = "prompt"
    else:
        kind = "timing"
    return Signal(kind=kind, value=value, watch=watch, publisher=publisher)
