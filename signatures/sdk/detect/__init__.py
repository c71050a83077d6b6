"""Detection at the lab's edge: pooled STIX indicators matched against a lab's own traffic.

``events`` turns a lab's request records into fingerprinted ``TelemetryEvent``s,
``compiler`` compiles STIX patterns, ``index`` finds the candidate indicators of an event,
``features`` keeps each account's rolling timing profile, and ``engine.Detector`` ties them
together. Everything here is plain Python: no Django, no database.
"""

from __future__ import annotations

from signatures.sdk.detect.engine import Detector, LoadResult, Match
from signatures.sdk.detect.events import TelemetryEvent, event_from_raw, events_from_observed_data

__all__ = [
    "Detector",
    "LoadResult",
    "Match",
    "TelemetryEvent",
    "event_from_raw",
    "events_from_observed_data",
]
