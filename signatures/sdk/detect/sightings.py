"""Report matches back to the exchange as STIX 2.1 sightings (section 5.2).

Matches are counted per indicator and time window. Each window is one sighting, with a
fixed id derived from the lab, the indicator and the window, so the lab re-reports it as a
new version of the same object (same id and ``created``, later ``modified``, higher
``count``, wider ``first_seen``/``last_seen``) rather than as a flood of new sightings; a
restarted detector continues the same sighting. Rules (docs/detection.md, "Sightings"):

- a match on a TLP:RED indicator is never reported: it stays in the lab;
- a sighting is marked with the lab's chosen TLP level, or the indicator's if that is more
  restrictive, so it never travels further than what it sighted;
- it is signed with the lab's key when one is given, else the exchange signs it with the
  lab's custodial key (docs/signing.md section 11);
- it goes through the publish API (``isac-publish``'s client), and only windows whose count
  grew since their last report are sent again.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TextIO

from signatures.sdk import indicators, jss
from signatures.sdk.constants import TLP2_LEVELS
from signatures.sdk.detect.engine import Match
from signatures.sdk.normalize import format_epoch_us
from signatures.sdk.publish_client import Client, InputObject, ObjectResult, PublishError

__all__ = ["DEFAULT_WINDOW_S", "SightingReporter", "exchange_publisher"]

#: One sighting covers this many seconds of matches on one indicator.
DEFAULT_WINDOW_S: Final = 3600
_RANK: Final = {level: rank for rank, level in enumerate(TLP2_LEVELS.values())}

#: Sends objects to the exchange; answers one result per object, in order.
Publish = Callable[[Sequence[Mapping[str, Any]]], list[ObjectResult]]


def exchange_publisher(url: str, token: str) -> Publish:
    """``Publish`` through ``POST <url>/api/v1/objects/``, retrying as ``isac-publish`` does."""
    client = Client(url, token, retries=3, backoff=0.5, timeout=30.0)

    def publish(objects: Sequence[Mapping[str, Any]]) -> list[ObjectResult]:
        return client.post(
            [
                InputObject(text=_compact(obj), object_id=obj["id"], where="sighting")
                for obj in objects
            ]
        )

    return publish


def _compact(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class _Window:
    """The matches on one indicator in one window, and what was last reported of them."""

    sighting_id: str
    indicator_id: str
    tlp: str
    count: int = 0
    first_us: int = 0
    last_us: int = 0
    reported_count: int = 0
    created: str | None = None
    modified: str | None = None


@dataclass
class SightingReporter:
    """Aggregates matches into sightings by ``identity`` (the lab) and publishes them.

    ``add`` is cheap and thread-safe; ``flush`` publishes what grew (call it every few
    seconds, and once at the end).
    """

    identity: str
    publish: Publish
    tlp: str = "green"
    window_s: int = DEFAULT_WINDOW_S
    signer: jss.Signer | None = None
    log: TextIO = field(default_factory=lambda: sys.stderr)
    _windows: dict[tuple[str, int], _Window] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.tlp not in _RANK or self.tlp == "red":
            raise ValueError(f"a sighting's TLP is one of {sorted(set(_RANK) - {'red'})}")
        if self.window_s < 1:
            raise ValueError("the sighting window is at least one second")

    def add(self, match: Match) -> bool:
        """Count ``match``; False (and nothing counted) for a TLP:RED indicator."""
        if match.tlp == "red":
            return False
        start = match.time_us // (self.window_s * 1_000_000) * self.window_s * 1_000_000
        key = (match.indicator_id, start)
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                seed = f"{self.identity}|{match.indicator_id}|{start}"
                window = self._windows[key] = _Window(
                    sighting_id=f"sighting--{jss.stable_uuid4(seed)}",
                    indicator_id=match.indicator_id,
                    tlp=max(self.tlp, match.tlp or "amber", key=lambda level: _RANK[level]),
                    first_us=match.time_us,
                    last_us=match.time_us,
                )
            window.count += 1
            window.first_us = min(window.first_us, match.time_us)
            window.last_us = max(window.last_us, match.time_us)
        return True

    def pending(self) -> list[dict[str, Any]]:
        """The next version of every sighting whose count grew since it was last reported."""
        now = jss.format_timestamp(datetime.now(UTC))
        objects = []
        with self._lock:
            for window in self._windows.values():
                if window.count == window.reported_count:
                    continue
                # Versions must be strictly later than the last (STIX 2.1 section 3.6), even
                # within one millisecond.
                modified = now
                if window.modified is not None and modified <= window.modified:
                    modified = format_epoch_us(_epoch_us(window.modified) + 1000)
                obj = indicators.sighting(
                    window.indicator_id,
                    created_by_ref=self.identity,
                    count=window.count,
                    first_seen=format_epoch_us(window.first_us),
                    last_seen=format_epoch_us(window.last_us),
                    tlp=window.tlp,
                    id=window.sighting_id,
                    created=window.created or modified,
                )
                obj["modified"] = modified
                objects.append(self.signer.sign(obj) if self.signer else obj)
        return objects

    def flush(self) -> int:
        """Publish :meth:`pending`; return how many sightings the exchange took.

        A sighting the exchange refuses is logged and not sent again until its count grows;
        a transport failure leaves everything pending for the next flush.
        """
        objects = self.pending()
        if not objects:
            return 0
        try:
            results = self.publish(objects)
        except PublishError as exc:
            self.log.write(f"isac-detect: sightings not published, will retry: {exc}\n")
            return 0
        taken = 0
        with self._lock:
            by_id = {w.sighting_id: w for w in self._windows.values()}
            for obj, result in zip(objects, results, strict=True):
                window = by_id[obj["id"]]
                window.reported_count = obj["count"]
                if result.get("status") == "refused":
                    self.log.write(f"isac-detect: sighting refused: {result.get('reason')}\n")
                    continue
                window.created, window.modified = obj["created"], obj["modified"]
                taken += 1
        return taken


def _epoch_us(stamp: str) -> int:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
