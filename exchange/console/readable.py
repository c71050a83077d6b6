"""What an analyst reads instead of raw STIX: pattern summaries, kinds and version diffs.

Pure functions over parsed JSON, no database access.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from signatures.sdk.constants import (
    ACCOUNT_CLUSTER_TYPE,
    PAYMENT_INSTRUMENT_TYPE,
    PROMPT_PATTERN_TYPE,
    SESSION_TIMING_TYPE,
)

#: The kinds of signature analysts filter by, and the observable types behind each.
KIND_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "prompt": (PROMPT_PATTERN_TYPE,),
    "network": (
        "ipv4-addr",
        "ipv6-addr",
        "autonomous-system",
        "domain-name",
        "url",
        "network-traffic",
    ),
    "payment": (PAYMENT_INSTRUMENT_TYPE,),
    "timing": (SESSION_TIMING_TYPE,),
    "account": (ACCOUNT_CLUSTER_TYPE, "user-account", "email-addr"),
}
KIND_LABELS: Final = {
    "prompt": "Prompt",
    "network": "Network",
    "payment": "Payment",
    "timing": "Timing",
    "account": "Account cluster",
    "other": "Other",
}
_KIND_OF_TYPE: Final = {t: kind for kind, types in KIND_TYPES.items() for t in types}


def kind_pattern_regex(kind: str) -> str:
    """Whether a pattern compares one of a kind's types: the type's name on its own (not
    the tail of another, like ``x-farm-url``), then ``:``. Plain enough to mean the same to
    Python's ``re`` and PostgreSQL's ``~``, so that the database filters and counts kinds
    by the very rule :func:`kind_of` reads them with."""
    return rf"(^|[^a-z0-9-])({'|'.join(KIND_TYPES[kind])}):"


_KIND_PATTERN: Final = {kind: re.compile(kind_pattern_regex(kind)) for kind in KIND_TYPES}

# One comparison expression of a STIX 2.1 pattern (section 9.3): object path, optional NOT,
# operator, and a constant (string with \' escapes, number, boolean, or a parenthesised set).
_COMPARISON: Final = re.compile(
    r"(?P<type>[a-z0-9][a-z0-9-]*):(?P<path>[A-Za-z0-9_.\[\]*'-]+)\s+"
    r"(?P<neg>NOT\s+)?"
    r"(?P<op>ISSUBSET|ISSUPERSET|MATCHES|LIKE|IN|<=|>=|!=|=|<|>)\s+"
    r"(?P<value>[thb]?'(?:[^'\\]|\\.)*'|\([^)]*\)|-?\d+(?:\.\d+)?|true|false)"
)
_PROPERTY_NAMES: Final = {
    "requests_per_hour": "requests/hour",
    "interval_cv": "interval CV",
    "interval_median_ms": "median interval (ms)",
    "tokens_per_request": "tokens/request",
    "release_window_share": "share in release window",
    "synchronized_accounts": "synchronised accounts",
}
_LONG_VALUE: Final = 12


def kind_of(obj: Mapping[str, Any]) -> str:
    """The signature kind of an observable, or of an indicator: the first kind, in
    KIND_TYPES' order, whose types its pattern compares."""
    if obj.get("type") != "indicator":
        return _KIND_OF_TYPE.get(str(obj.get("type", "")), "other")
    pattern = str(obj.get("pattern", ""))
    for kind, regex in _KIND_PATTERN.items():
        if regex.search(pattern):
            return kind
    return "other"


def _unquote(value: str) -> str:
    if value.endswith("'") and "'" in value[:-1]:
        body = value[value.index("'") + 1 : -1]
        return body.replace("\\'", "'").replace("\\\\", "\\")
    return value


def _shorten(text: str) -> str:
    return text if len(text) <= _LONG_VALUE + 1 else f"{text[:_LONG_VALUE]}…"


def _comparison_text(match: re.Match[str]) -> str:
    object_type, path, op = match["type"], match["path"], match["op"]
    value = _unquote(match["value"])
    negated = "not " if match["neg"] else ""
    if object_type in ("ipv4-addr", "ipv6-addr") and path == "value":
        family = "IPv4" if object_type == "ipv4-addr" else "IPv6"
        if op == "ISSUBSET":
            return f"{family} {negated}in {value}"
        return f"{family} {negated}{op} {value}"
    if object_type == PROMPT_PATTERN_TYPE:
        if path == "normalized_sha256":
            return f"prompt template sha256 {_shorten(value)}"
        if op == "MATCHES":
            return f"prompt text {negated}matches /{value}/"
    if object_type == PAYMENT_INSTRUMENT_TYPE and path == "fingerprint":
        return f"payment instrument {_shorten(value)}"
    if object_type == "autonomous-system" and path == "number":
        return f"AS{value}"
    if object_type in ("domain-name", "email-addr", "url") and path == "value":
        noun = {"domain-name": "domain", "email-addr": "email", "url": "URL"}[object_type]
        return f"{noun} {negated}{op} {value}"
    name = _PROPERTY_NAMES.get(path, path.replace("_", " "))
    if object_type == ACCOUNT_CLUSTER_TYPE:
        name = f"account cluster {name}"
    elif object_type != SESSION_TIMING_TYPE:
        name = f"{object_type} {name}"
    return f"{name} {negated}{op} {value}"


def pattern_summary(pattern: str) -> str:
    """A STIX 2.1 pattern as a person reads it.

    ``[ipv4-addr:value ISSUBSET '203.0.113.0/24']`` -> ``IPv4 in 203.0.113.0/24``;
    several observations keep their operators and qualifiers, in parentheses.
    """
    text = _COMPARISON.sub(_comparison_text, pattern)
    if text.count("[") == 1 and text.startswith("[") and text.endswith("]"):
        return text[1:-1].strip()
    return text.replace("[", "(").replace("]", ")")


def _number(value: Any) -> str:
    """A measured rate or ratio, rounded to what a reader needs (1000, 0.00912 -> 0.0091)."""
    if not isinstance(value, float):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2g}"


def observable_summary(obj: Mapping[str, Any]) -> str:
    """A one-line description of an observable (SCO) by its identifying properties."""
    object_type = obj.get("type")
    if object_type in ("ipv4-addr", "ipv6-addr"):
        family = "IPv4" if object_type == "ipv4-addr" else "IPv6"
        return f"{family} {obj.get('value')}"
    if object_type == PROMPT_PATTERN_TYPE:
        technique = f" ({obj['technique']})" if obj.get("technique") else ""
        return f"prompt template sha256 {_shorten(str(obj.get('normalized_sha256')))}{technique}"
    if object_type == PAYMENT_INSTRUMENT_TYPE:
        where = f", {obj['issuing_country']}" if obj.get("issuing_country") else ""
        kind = obj.get("instrument_kind", "instrument")
        return f"payment {kind} {_shorten(str(obj.get('fingerprint')))}{where}"
    if object_type == SESSION_TIMING_TYPE:
        return (
            f"{_number(obj.get('requests_per_hour'))} requests/hour, interval CV "
            f"{_number(obj.get('interval_cv'))} over {obj.get('account_count')} accounts"
        )
    if object_type == ACCOUNT_CLUSTER_TYPE:
        domains = ", ".join(obj.get("email_domains") or []) or "no shared domain"
        return f"{obj.get('account_count')} accounts ({domains})"
    if object_type == "autonomous-system":
        name = f" {obj['name']}" if obj.get("name") else ""
        return f"AS{obj.get('number')}{name}"
    if "value" in obj:
        return f"{object_type} {obj['value']}"
    return str(object_type)


def object_summary(obj: Mapping[str, Any], *, sighted: str = "") -> str:
    """The human summary of any object in the triage queue.

    ``sighted`` is the summary of the sighted object, for sightings.
    """
    object_type = obj.get("type")
    if object_type == "indicator":
        if obj.get("pattern_type", "stix") != "stix":
            return f"{obj.get('pattern_type')} pattern: {_shorten(str(obj.get('pattern')))}"
        return pattern_summary(str(obj.get("pattern", "")))
    if object_type == "sighting":
        count = obj.get("count")
        times = f", {count} times" if count is not None else ""
        return f"sighting of {sighted or obj.get('sighting_of_ref')}{times}"
    if "name" in obj:
        return str(obj["name"])
    return observable_summary(obj)


DiffChange = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class PropertyDiff:
    """One top-level property that differs between two versions of an object."""

    name: str
    change: DiffChange
    before: str
    after: str


def _display(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)


def version_diff(older: Mapping[str, Any], newer: Mapping[str, Any]) -> list[PropertyDiff]:
    """The property-level difference of two versions (STIX 2.1 section 3.6 versioning).

    Properties are compared as JSON values; nested values are shown whole, pretty-printed.
    """
    diffs: list[PropertyDiff] = []
    for name in sorted(set(older) | set(newer)):
        if name not in newer:
            diffs.append(PropertyDiff(name, "removed", _display(older[name]), ""))
        elif name not in older:
            diffs.append(PropertyDiff(name, "added", "", _display(newer[name])))
        elif older[name] != newer[name]:
            diffs.append(
                PropertyDiff(name, "changed", _display(older[name]), _display(newer[name]))
            )
    return diffs
