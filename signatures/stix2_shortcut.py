"""Indicators stix2 is known to accept, decided without building a stix2 object.

``stix2.parse`` builds a full object to check one: for an indicator that is about 0.7 ms
before its pattern is parsed, more than the rest of the publish path together. Most
signatures are indicators of one plain shape, and for that shape stix2's checks are few
and known (stix2/v21/sdo.py ``Indicator`` and the property classes it names): identifiers
with RFC 4122 UUIDs and the right type, at least millisecond ``created``/``modified``,
``valid_until`` after ``valid_from``, kill-chain phases with both names, and a pattern
its grammar accepts.

:func:`stix2_accepts` only vouches. It answers True for an object stix2 accepts, and
False for everything else, including objects stix2 would also accept: the caller then
asks stix2, whose verdict and message stand. It relies on what ``object_prepare`` has
checked before it (every property of its JSON type, timestamps well formed, the creator)
and is called only after those checks; on any other input it answers False.
tests/signatures/test_stix2_shortcut.py runs ``object_prepare`` with and without it over
generated and mutated objects and requires the same verdicts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from signatures.sdk.flat_patterns import flat_comparisons

# The Indicator properties of STIX 2.1 whose stix2 checks are reproduced below, less
# external_references and extensions (their classes check more: left to stix2). Any other
# property, custom ones included, leaves the object to stix2.
_COVERED: Final = frozenset(
    {
        "type", "spec_version", "id", "created_by_ref", "created", "modified", "name",
        "description", "indicator_types", "pattern", "pattern_type", "pattern_version",
        "valid_from", "valid_until", "kill_chain_phases", "revoked", "labels", "confidence",
        "lang", "object_marking_refs", "granular_markings",
    }
)  # fmt: skip
_KILL_CHAIN_PHASE: Final = frozenset({"kill_chain_name", "phase_name"})


def stix2_accepts(obj: Mapping[str, Any]) -> bool:
    """True only if ``stix2.parse(obj, allow_custom=True)`` is known to accept ``obj``."""
    if obj.get("type") != "indicator" or not obj.keys() <= _COVERED:
        return False
    if "pattern" not in obj or "pattern_type" not in obj:
        return False
    if not _is_reference(obj.get("id"), "indicator"):
        return False
    if "created_by_ref" in obj and not _is_reference(obj["created_by_ref"], "identity"):
        return False
    markings = obj.get("object_marking_refs", [])
    if not isinstance(markings, list) or not all(
        _is_reference(ref, "marking-definition") for ref in markings
    ):
        return False
    # stix2 wants at least millisecond precision on these two (TimestampProperty
    # precision="millisecond", precision_constraint="min").
    if not all(_fraction_digits(obj.get(name)) >= 3 for name in ("created", "modified")):
        return False
    if "valid_until" in obj:
        # stix2 compares the two at microsecond precision, and defaults a missing
        # valid_from to the present.
        until, since = obj["valid_until"], obj.get("valid_from")
        if not (isinstance(until, str) and isinstance(since, str)):
            return False
        if _microsecond_text(until) <= _microsecond_text(since):
            return False
    phases = obj.get("kill_chain_phases", [])
    if not isinstance(phases, list) or not all(
        isinstance(phase, dict) and phase.keys() == _KILL_CHAIN_PHASE for phase in phases
    ):
        return False
    if not isinstance(obj["pattern"], str) or not isinstance(obj["pattern_type"], str):
        return False
    if obj["pattern_type"] == "stix":
        # stix2 parses the pattern with the grammar of pattern_version (2.1 if absent).
        if obj.get("pattern_version", "2.1") != "2.1":
            return False
        return flat_comparisons(obj["pattern"]) is not None
    return True


def _is_reference(value: Any, object_type: str) -> bool:
    """``type--UUID`` with an RFC 4122 variant UUID (stix2's ``_validate_id``)."""
    prefix = f"{object_type}--"
    if not isinstance(value, str) or not value.startswith(prefix):
        return False
    try:
        return uuid.UUID(value[len(prefix) :]).variant == uuid.RFC_4122
    except ValueError:
        return False


def _fraction_digits(timestamp: Any) -> int:
    if not isinstance(timestamp, str) or "." not in timestamp:
        return 0
    return len(timestamp.rsplit(".", 1)[1].rstrip("Z"))


def _microsecond_text(timestamp: str) -> str:
    """A timestamp already checked to be RFC 3339 UTC, cut to microseconds and padded so
    that text order is time order."""
    seconds, _, fraction = timestamp.rstrip("Z").partition(".")
    return f"{seconds}.{fraction[:6]:0<6}"
