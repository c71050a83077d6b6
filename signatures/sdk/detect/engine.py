"""The detector: pooled indicators compiled into an index, matched against a lab's events.

``Detector.load`` compiles an indicator's pattern (``compiler``) and files its anchors in
the index (``index``); ``observe`` takes one event, asks the index for the few indicators
it could match, confirms each against the whole pattern, and returns the matches the
event completes. Temporal patterns (``AND``/``OR``/``FOLLOWEDBY`` between observations,
``WITHIN``, ``REPEATS``, ``START ... STOP``) are evaluated over the account's window of
recent events; the window is evicted by time, so memory stays bounded.

A pattern outside the compiled subset is evaluated by stix2-matcher over observed-data
built from the account's window ("fallback", counted in ``stats``). Rules the engine
applies on top of the pattern:

* an indicator applies to events observed after it was loaded, and not at or after its
  ``valid_until``;
* a match that reads the account's ``api-session-profile`` (a state, not an event) is
  reported once per indicator, account and window, not on every later request;
* a compound pattern matches when some binding of its observations includes the new
  event; a compound fallback pattern reports the event that first makes it match.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stix2matcher.matcher import Pattern as ReferencePattern
from stix2patterns.exceptions import ParseException

from signatures.sdk import normalize
from signatures.sdk.constants import SESSION_TIMING_TYPE, TLP1_TO_TLP2, TLP2_LEVELS
from signatures.sdk.detect.compiler import (
    CompiledPattern,
    Unsupported,
    compile_pattern,
    find_binding,
    single_observation,
)
from signatures.sdk.detect.events import EventView, TelemetryEvent, parse_time_us
from signatures.sdk.detect.features import DEFAULT_DURATION_US, AccountWindow
from signatures.sdk.detect.index import Anchor, Index, expr_anchors, is_exact
from signatures.sdk.profile import pattern_bounds_error

#: The default window of an account's events, for temporal patterns and rolling features.
DEFAULT_WINDOW_S = 3600
#: At most this many events per account are kept in the window.
DEFAULT_MAX_EVENTS = 2000


@dataclass(frozen=True, slots=True)
class Match:
    """An indicator's whole pattern matched the account's traffic, completed by an event."""

    indicator_id: str
    publisher: str | None
    tlp: str
    account_id: str
    event_ids: tuple[str, ...]
    confidence: int | None
    time_us: int


@dataclass(frozen=True, slots=True)
class LoadResult:
    indicator_id: str
    status: Literal["compiled", "fallback", "skipped"]
    reason: str = ""


@dataclass(slots=True)
class _Indicator:
    id: str
    modified: str
    publisher: str | None
    tlp: str
    confidence: int | None
    valid_until_us: int | None
    compiled: CompiledPattern | None
    reference: ReferencePattern | None
    anchors: list[Anchor]
    exact: bool
    #: Reads the account's rolling profile: reported once per account and window.
    stateful: bool
    #: Fallback only: whether one observation expression decides (no temporal part).
    single: bool


class _Account(AccountWindow):
    __slots__ = ("reported",)

    def __init__(self) -> None:
        super().__init__()
        #: Indicator id -> time of its last stateful match for this account.
        self.reported: dict[str, int] = {}


def tlp_of(indicator: Mapping[str, Any]) -> str:
    """The TLP 2.0 level of an object's markings; unmarked counts as AMBER."""
    for ref in indicator.get("object_marking_refs") or []:
        level = TLP2_LEVELS.get(TLP1_TO_TLP2.get(ref, ref))
        if level is not None:
            return level
    return "amber"


def _reference_types(pattern: ReferencePattern) -> frozenset[str]:
    return frozenset(pattern.inspect().comparisons)


class Detector:
    """Matches pooled STIX indicators against a lab's events; see the module docstring."""

    def __init__(
        self,
        *,
        window_s: float = DEFAULT_WINDOW_S,
        max_events_per_account: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        self._window_us = round(window_s * 1_000_000)
        self._max_events = max_events_per_account
        self._index = Index()
        self._indicators: dict[str, _Indicator] = {}
        self._compound: set[str] = set()
        self._fallback: dict[str, frozenset[str]] = {}
        self._accounts: OrderedDict[str, _Account] = OrderedDict()
        self._types: frozenset[str] = frozenset()
        self._skipped = 0
        self._ids = itertools.count()

    # --- indicators -------------------------------------------------------------------

    def load(
        self, indicator: Mapping[str, Any], *, publisher: str | None = None, tlp: str = ""
    ) -> LoadResult:
        """Compile and index an indicator, replacing an older version of the same id.

        Never raises: a revoked or expired indicator (dropped if loaded), a wrong
        ``pattern_type``, a missing field or an unparseable pattern is "skipped" with the
        reason; a valid pattern outside the compiled subset is evaluated by stix2-matcher
        ("fallback").
        """
        indicator_id = indicator.get("id") if isinstance(indicator, Mapping) else None
        if not isinstance(indicator_id, str):
            return self._skip("", "the indicator has no id")
        try:
            return self._load(indicator_id, indicator, publisher, tlp)
        except Exception as exc:  # a feed object must never stop the detector
            return self._skip(indicator_id, f"cannot be loaded: {exc}")

    def _skip(self, indicator_id: str, reason: str) -> LoadResult:
        self._skipped += 1
        return LoadResult(indicator_id, "skipped", reason)

    def _load(
        self, indicator_id: str, obj: Mapping[str, Any], publisher: str | None, tlp: str
    ) -> LoadResult:
        if obj.get("type") != "indicator":
            return self._skip(indicator_id, f"type {obj.get('type')!r} is not an indicator")
        if obj.get("pattern_type") != "stix":
            return self._skip(indicator_id, f"pattern_type {obj.get('pattern_type')!r} is not stix")
        pattern, modified = obj.get("pattern"), obj.get("modified", "")
        if not isinstance(pattern, str) or not pattern:
            return self._skip(indicator_id, "the indicator has no pattern")
        current = self._indicators.get(indicator_id)
        if current is not None and isinstance(modified, str) and modified < current.modified:
            return self._skip(
                indicator_id, f"version {modified} is older than the loaded {current.modified}"
            )
        if obj.get("revoked") is True:
            self.drop(indicator_id)
            return self._skip(indicator_id, "revoked")
        valid_until = (
            parse_time_us(obj["valid_until"], "valid_until") if "valid_until" in obj else None
        )
        if valid_until is not None and valid_until <= time.time() * 1_000_000:
            self.drop(indicator_id)
            return self._skip(indicator_id, f"expired at {obj['valid_until']}")
        if (bound := pattern_bounds_error(pattern)) is not None:
            return self._skip(indicator_id, f"pattern refused: {bound}")
        confidence = obj.get("confidence")
        entry = _Indicator(
            id=indicator_id,
            modified=modified if isinstance(modified, str) else "",
            publisher=publisher or obj.get("created_by_ref"),
            tlp=tlp or tlp_of(obj),
            confidence=confidence if type(confidence) is int else None,
            valid_until_us=valid_until,
            compiled=None,
            reference=None,
            anchors=[],
            exact=False,
            stateful=SESSION_TIMING_TYPE in pattern,
            single=True,
        )
        try:
            entry.compiled = compile_pattern(pattern)
        except ParseException as exc:
            return self._skip(indicator_id, f"invalid STIX 2.1 pattern: {exc}")
        except Unsupported as exc:
            try:
                entry.reference = ReferencePattern(pattern, "2.1")
            except Exception as ref_exc:  # stix2-matcher refuses it too
                return self._skip(indicator_id, f"cannot be evaluated: {exc}; {ref_exc}")
            entry.single = single_observation(pattern)
            reason = f"outside the compiled subset ({exc}); evaluated by stix2-matcher"
        else:
            leaves = entry.compiled.leaves
            entry.anchors = [a for leaf in leaves for a in expr_anchors(leaf.expr)]
            entry.exact = entry.compiled.single and is_exact(leaves[0].expr)
            reason = ""
        self.drop(indicator_id)
        self._indicators[indicator_id] = entry
        if entry.compiled is not None:
            self._index.add(indicator_id, entry.anchors)
            if not entry.compiled.single:
                self._compound.add(indicator_id)
            status: Literal["compiled", "fallback"] = "compiled"
        else:
            assert entry.reference is not None
            self._fallback[indicator_id] = _reference_types(entry.reference)
            status = "fallback"
        self._types = frozenset(self._index.types()).union(*self._fallback.values())
        return LoadResult(indicator_id, status, reason)

    def drop(self, indicator_id: str) -> None:
        """Forget an indicator (revoked, expired, or no longer in the feed)."""
        entry = self._indicators.pop(indicator_id, None)
        if entry is None:
            return
        self._index.remove(indicator_id, entry.anchors)
        self._compound.discard(indicator_id)
        self._fallback.pop(indicator_id, None)
        self._types = frozenset(self._index.types()).union(*self._fallback.values())

    def stats(self) -> dict[str, int]:
        fallback = len(self._fallback)
        return {
            "indicators": len(self._indicators),
            "compiled": len(self._indicators) - fallback,
            "fallback": fallback,
            "skipped": self._skipped,
            "accounts": len(self._accounts),
        }

    # --- events -----------------------------------------------------------------------

    def _account(self, event: TelemetryEvent) -> _Account:
        accounts = self._accounts
        account = accounts.get(event.account_id)
        if account is None:
            account = accounts[event.account_id] = _Account()
        else:
            accounts.move_to_end(event.account_id)
        # Accounts idle for a whole window hold nothing a pattern could still use.
        horizon = event.time_us - self._window_us
        while accounts:
            oldest_id, oldest = next(iter(accounts.items()))
            if oldest is account or (oldest.times and oldest.times[-1] >= horizon):
                break
            del accounts[oldest_id]
        account.evict(horizon, self._max_events - 1)
        return account

    def observe(self, event: TelemetryEvent) -> list[Match]:
        """The matches this event completes (at most one per indicator)."""
        account = self._account(event)
        keep = bool(self._compound or self._fallback)
        kept: dict[str, Any] | None = {"event": event} if keep else None
        account.add(
            event.time_us,
            (event.duration_ms or 0) * 1000 or DEFAULT_DURATION_US,
            event.tokens,
            kept,
        )

        def session() -> list[Mapping[str, Any]]:
            profile = account.profile()
            return [profile] if profile is not None else []

        view = EventView(event, {SESSION_TIMING_TYPE: session})
        types = [t for t in view.types() if t in self._types]
        if not types:
            return []
        matches: list[Match] = []
        candidates = self._index.candidates(view, types)
        if account.reported:
            # A timing indicator that matched this account keeps matching every request;
            # skipping it in one set operation keeps a farm's requests cheap.
            candidates.difference_update(self._recently_reported(account, event.time_us))
        for indicator_id in candidates:
            entry = self._indicators[indicator_id]
            if entry.valid_until_us is not None and event.time_us >= entry.valid_until_us:
                continue
            compiled = entry.compiled
            assert compiled is not None
            if entry.exact or (compiled.single and compiled.leaves[0].matches(view)):
                event_ids: tuple[str, ...] | None = (event.event_id,)
            elif compiled.single:
                continue
            else:
                event_ids = self._compound_match(entry, compiled, view, account, kept)
            if event_ids is not None and self._report(entry, account, event):
                matches.append(self._match(entry, event, event_ids))
        if self._fallback:
            matches.extend(self._fallback_matches(view, account, set(types)))
        return matches

    def _recently_reported(self, account: _Account, now_us: int) -> dict[str, int]:
        """The stateful indicators reported for this account within the window."""
        horizon = now_us - self._window_us
        if min(account.reported.values()) <= horizon:
            account.reported = {k: t for k, t in account.reported.items() if t > horizon}
        return account.reported

    def _report(self, entry: _Indicator, account: _Account, event: TelemetryEvent) -> bool:
        """Whether to report a match; a stateful one is reported once per window."""
        if not entry.stateful:
            return True
        last = account.reported.get(entry.id)
        if last is not None and event.time_us - last < self._window_us:
            return False
        account.reported[entry.id] = event.time_us
        return True

    def _match(self, entry: _Indicator, event: TelemetryEvent, event_ids: tuple[str, ...]) -> Match:
        return Match(
            indicator_id=entry.id,
            publisher=entry.publisher,
            tlp=entry.tlp,
            account_id=event.account_id,
            event_ids=event_ids,
            confidence=entry.confidence,
            time_us=event.time_us,
        )

    def _compound_match(
        self,
        entry: _Indicator,
        compiled: CompiledPattern,
        view: EventView,
        account: _Account,
        kept: dict[str, Any] | None,
    ) -> tuple[str, ...] | None:
        """Bind the pattern's observations to the account's window, using this event.

        Each event's satisfied observations are recorded when it arrives (the rolling
        profile as it was then), so earlier events are not evaluated again."""
        satisfied_now = [leaf.matches(view) for leaf in compiled.leaves]
        if kept is None or not any(satisfied_now):
            return None
        kept[entry.id] = satisfied_now
        satisfied: list[list[tuple[int, int]]] = [[] for _ in compiled.leaves]
        events: list[TelemetryEvent] = []
        for record, time_us in zip(account.events, account.times, strict=True):
            bits = record.get(entry.id) if record is not None else None
            if bits is None:
                continue
            for n, hit in enumerate(bits):
                if hit:
                    satisfied[n].append((len(events), time_us))
            events.append(record["event"])
        binding = find_binding(compiled, satisfied, must_include=len(events) - 1)
        if binding is None:
            return None
        return tuple(events[n].event_id for n in sorted(binding))

    def _fallback_matches(self, view: EventView, account: _Account, types: set[str]) -> list[Match]:
        matches = []
        current = observed_data(view, next(self._ids))
        for indicator_id, needed in self._fallback.items():
            if not needed & types:
                continue
            entry = self._indicators[indicator_id]
            event = view.event
            if entry.valid_until_us is not None and event.time_us >= entry.valid_until_us:
                continue
            assert entry.reference is not None
            if entry.single:
                hit = _reference_match(entry.reference, [current])
            else:
                earlier = [
                    observed_data(EventView(r["event"]), next(self._ids))
                    for r in list(account.events)[:-1]
                    if r is not None
                ]
                hit = _reference_match(entry.reference, [*earlier, current]) and not (
                    earlier and _reference_match(entry.reference, earlier)
                )
            if hit and self._report(entry, account, event):
                matches.append(self._match(entry, event, (event.event_id,)))
        return matches


def _reference_match(pattern: ReferencePattern, bundles: list[dict[str, Any]]) -> bool:
    try:
        return bool(pattern.match(bundles))
    except Exception:  # stix2-matcher raises on values it cannot compare: no match
        return False


#: The observable types an event can hold, for the observed-data built from it.
_VIEW_TYPES = (
    "ipv4-addr",
    "ipv6-addr",
    "autonomous-system",
    "domain-name",
    "user-account",
    "prompt-pattern",
    "payment-instrument",
    "account-cluster",
    SESSION_TIMING_TYPE,
)


def observed_data(view: EventView, serial: int) -> dict[str, Any]:
    """A STIX 2.1 bundle holding one observed-data for the event and its objects, as
    stix2-matcher takes its input."""
    stamp = normalize.format_epoch_us(view.time_us)
    objects = []
    for object_type in _VIEW_TYPES:
        for n, obj in enumerate(view.objects(object_type)):
            sco = dict(obj)
            sco["id"] = f"{object_type}--00000000-0000-4000-8000-{serial:08x}{n:04x}"
            objects.append(sco)
    observed = {
        "type": "observed-data",
        "id": f"observed-data--00000000-0000-4000-8000-{serial:012x}",
        "first_observed": stamp,
        "last_observed": stamp,
        "number_observed": 1,
        "object_refs": [o["id"] for o in objects],
    }
    return {"type": "bundle", "objects": [observed, *objects]}
