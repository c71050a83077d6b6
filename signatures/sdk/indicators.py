"""Indicator conventions of the profile: STIX patterns over its observables, and the
indicator, attack-pattern, relationship and sighting objects that carry them.

Objects here are versioned SDOs/SROs (STIX 2.1 sections 4 and 5), so their ids are
random (UUIDv4) unless the caller passes ``id`` and ``created`` for a reproducible
object. Every timestamp they carry has exactly three fraction digits and ``Z``.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from signatures.sdk import normalize
from signatures.sdk.constants import (
    DISTILLATION_KILL_CHAIN,
    DISTILLATION_PHASES,
    PAYMENT_INSTRUMENT_TYPE,
    PROMPT_PATTERN_TYPE,
    SESSION_TIMING_TYPE,
    TLP2_BY_LEVEL,
)
from signatures.sdk.profile import pattern_errors, regex_error, stix_string_literal

StixObject = dict[str, Any]
When = datetime | float | int | str

_EXACT_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_COMPARISON_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})

#: MITRE ATLAS techniques that describe distillation, with their ATLAS names.
ATLAS_TECHNIQUES: Mapping[str, str] = {
    "AML.T0021": "Establish Accounts",
    "AML.T0024": "Exfiltration via AI Inference API",
    "AML.T0024.002": "Extract AI Model",
    "AML.T0040": "AI Model Inference API Access",
}


def timestamp(value: When | None = None) -> str:
    """A STIX timestamp with three fraction digits: now, or ``value``.

    A string must already be in that exact form, so that a caller's test vector is
    reproduced exactly.
    """
    if value is None:
        return normalize.stix_timestamp(datetime.now(UTC))
    if isinstance(value, str):
        if not _EXACT_TIMESTAMP.match(value):
            raise ValueError(f"timestamp {value!r} is not YYYY-MM-DDTHH:MM:SS.sssZ")
        return value
    return normalize.stix_timestamp(value)


def _literal(value: str | float | int) -> str:
    if isinstance(value, str):
        return stix_string_literal(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"a pattern operand is a string or a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError("a pattern operand must be a finite number")
    # Positional notation: the pattern grammar has no exponents (1e-05 -> 0.00001).
    return format(Decimal(repr(value)), "f")


def comparison(object_type: str, prop: str, operator: str, value: str | float | int) -> str:
    """One comparison expression, e.g. ``api-session-profile:interval_cv < 0.1``."""
    return f"{object_type}:{prop} {operator} {_literal(value)}"


def observation(*comparisons: str, joiner: str = "AND") -> str:
    """An observation expression joining comparisons of one observable with AND or OR."""
    if joiner not in ("AND", "OR"):
        raise ValueError("joiner is AND or OR")
    if not comparisons:
        raise ValueError("an observation needs at least one comparison")
    return "[" + f" {joiner} ".join(comparisons) + "]"


def ip_pattern(value: str) -> str:
    """``[ipv4-addr:value ISSUBSET '203.0.113.0/24']`` for a CIDR, ``=`` for one address."""
    object_type = "ipv6-addr" if ":" in value else "ipv4-addr"
    operator = "ISSUBSET" if "/" in value else "="
    return observation(comparison(object_type, "value", operator, value))


def prompt_hash_pattern(normalized_sha256: str) -> str:
    """Exact match of a normalised prompt."""
    return observation(comparison(PROMPT_PATTERN_TYPE, "normalized_sha256", "=", normalized_sha256))


def prompt_regex_pattern(regex: str) -> str:
    """``MATCHES`` over the normalised text; ``regex`` must be RE2 syntax and should be
    written against normalised text (lower case, ``<n>`` and ``<q>`` placeholders)."""
    if (reason := regex_error(regex)) is not None:
        raise ValueError(f"regular expression {regex!r} is not RE2 syntax: {reason}")
    return observation(comparison(PROMPT_PATTERN_TYPE, "normalized_text", "MATCHES", regex))


def payment_pattern(fingerprint: str) -> str:
    """Exact match of a payment-instrument fingerprint."""
    return observation(comparison(PAYMENT_INSTRUMENT_TYPE, "fingerprint", "=", fingerprint))


def timing_pattern(thresholds: Mapping[str, tuple[str, float | int]]) -> str:
    """Timing thresholds joined with AND, in the order given, e.g.
    ``{"requests_per_hour": (">", 900), "interval_cv": ("<", 0.1)}``."""
    parts = []
    for prop, (operator, value) in thresholds.items():
        if operator not in _COMPARISON_OPERATORS:
            raise ValueError(f"operator {operator!r} is not one of {sorted(_COMPARISON_OPERATORS)}")
        parts.append(comparison(SESSION_TIMING_TYPE, prop, operator, value))
    return observation(*parts)


def pattern_for(observable: Mapping[str, Any]) -> str:
    """The exact-match pattern of a built observable (by its identifying property)."""
    object_type = observable["type"]
    if object_type in ("ipv4-addr", "ipv6-addr"):
        return ip_pattern(observable["value"])
    if object_type == PROMPT_PATTERN_TYPE:
        return prompt_hash_pattern(observable["normalized_sha256"])
    if object_type == PAYMENT_INSTRUMENT_TYPE:
        return payment_pattern(observable["fingerprint"])
    if object_type == "autonomous-system":
        return observation(comparison(object_type, "number", "=", observable["number"]))
    if object_type in ("domain-name", "email-addr"):
        return observation(comparison(object_type, "value", "=", observable["value"]))
    raise ValueError(f"no exact-match convention for '{object_type}'; write a pattern")


def _envelope(
    object_type: str,
    *,
    created_by_ref: str,
    tlp: str,
    id: str | None,
    created: When | None,
) -> StixObject:
    if not created_by_ref.startswith("identity--"):
        raise ValueError("created_by_ref must be an identity id")
    try:
        marking = TLP2_BY_LEVEL[tlp.lower()]
    except KeyError:
        raise ValueError(f"unknown TLP level {tlp!r}; use one of {sorted(TLP2_BY_LEVEL)}") from None
    if id is not None and not id.startswith(f"{object_type}--"):
        raise ValueError(f"id {id!r} is not a {object_type} id")
    stamp = timestamp(created)
    return {
        "type": object_type,
        "spec_version": "2.1",
        "id": id or f"{object_type}--{uuid.uuid4()}",
        "created_by_ref": created_by_ref,
        "created": stamp,
        "modified": stamp,
        "object_marking_refs": [marking],
    }


def kill_chain(*phases: str) -> list[dict[str, str]]:
    """Kill-chain phases of the profile's ``ai-isac-distillation`` chain."""
    unknown = [p for p in phases if p not in DISTILLATION_PHASES]
    if unknown:
        raise ValueError(f"unknown phases {unknown}; the chain is {list(DISTILLATION_PHASES)}")
    return [{"kill_chain_name": DISTILLATION_KILL_CHAIN, "phase_name": p} for p in phases]


def indicator(
    pattern: str,
    *,
    created_by_ref: str,
    name: str,
    phases: Sequence[str],
    confidence: int,
    indicator_types: Sequence[str] = ("malicious-activity",),
    valid_from: When | None = None,
    valid_until: When | None = None,
    tlp: str = "amber",
    description: str | None = None,
    id: str | None = None,
    created: When | None = None,
) -> StixObject:
    """An ``indicator`` (STIX 2.1 section 4.7) with a checked STIX 2.1 pattern.

    ``valid_from`` defaults to ``created``. The pattern is refused (``ValueError``) when
    the exchange would refuse it: bad syntax, a non-RE2 regex, an unknown property.
    """
    if errors := pattern_errors(pattern):
        raise ValueError("; ".join(errors))
    if not 0 <= confidence <= 100:
        raise ValueError("confidence is 0 to 100 (STIX 2.1 appendix A)")
    obj = _envelope("indicator", created_by_ref=created_by_ref, tlp=tlp, id=id, created=created)
    obj["name"] = name
    if description is not None:
        obj["description"] = description
    obj["indicator_types"] = list(indicator_types)
    obj["pattern"] = pattern
    obj["pattern_type"] = "stix"
    obj["pattern_version"] = "2.1"
    obj["valid_from"] = timestamp(valid_from) if valid_from is not None else obj["created"]
    if valid_until is not None:
        obj["valid_until"] = timestamp(valid_until)
        if obj["valid_until"] <= obj["valid_from"]:
            raise ValueError("valid_until must be later than valid_from")
    obj["kill_chain_phases"] = kill_chain(*phases)
    obj["confidence"] = confidence
    return obj


def attack_pattern(
    technique_id: str,
    *,
    created_by_ref: str,
    name: str | None = None,
    tlp: str = "clear",
    id: str | None = None,
    created: When | None = None,
) -> StixObject:
    """An ``attack-pattern`` (STIX 2.1 section 4.1) citing a MITRE ATLAS technique.

    ``name`` defaults to the ATLAS name for the techniques in ``ATLAS_TECHNIQUES``.
    """
    name = name or ATLAS_TECHNIQUES.get(technique_id)
    if name is None:
        raise ValueError(f"no known name for {technique_id}; pass name=")
    obj = _envelope(
        "attack-pattern", created_by_ref=created_by_ref, tlp=tlp, id=id, created=created
    )
    obj["name"] = name
    obj["external_references"] = [
        {
            "source_name": "mitre-atlas",
            "external_id": technique_id,
            "url": f"https://atlas.mitre.org/techniques/{technique_id}",
        }
    ]
    return obj


def relationship(
    source_ref: str,
    relationship_type: str,
    target_ref: str,
    *,
    created_by_ref: str,
    tlp: str = "amber",
    id: str | None = None,
    created: When | None = None,
) -> StixObject:
    """A ``relationship`` (STIX 2.1 section 5.1), e.g. indicator ``indicates`` attack-pattern."""
    obj = _envelope("relationship", created_by_ref=created_by_ref, tlp=tlp, id=id, created=created)
    obj["relationship_type"] = relationship_type
    obj["source_ref"] = source_ref
    obj["target_ref"] = target_ref
    return obj


def sighting(
    sighting_of_ref: str,
    *,
    created_by_ref: str,
    count: int,
    first_seen: When,
    last_seen: When,
    where_sighted_refs: Iterable[str] = (),
    observed_data_refs: Iterable[str] = (),
    tlp: str = "amber",
    id: str | None = None,
    created: When | None = None,
) -> StixObject:
    """A ``sighting`` (STIX 2.1 section 5.2): another lab saw the indicator's traffic.

    Reporting a sighting instead of a duplicate indicator lets the exchange count how
    many members saw the same signature. ``where_sighted_refs`` defaults to the creator.
    """
    if count < 0:
        raise ValueError("count cannot be negative")
    obj = _envelope("sighting", created_by_ref=created_by_ref, tlp=tlp, id=id, created=created)
    obj["sighting_of_ref"] = sighting_of_ref
    obj["count"] = count
    obj["first_seen"] = timestamp(first_seen)
    obj["last_seen"] = timestamp(last_seen)
    if obj["last_seen"] < obj["first_seen"]:
        raise ValueError("last_seen is earlier than first_seen")
    obj["where_sighted_refs"] = list(where_sighted_refs) or [created_by_ref]
    if observed := list(observed_data_refs):
        obj["observed_data_refs"] = observed
    return obj


def bundle(objects: Iterable[Mapping[str, Any]]) -> StixObject:
    """A STIX 2.1 bundle (section 8); bundles carry no ``spec_version`` in 2.1."""
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}
