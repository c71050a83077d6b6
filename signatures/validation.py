"""Validation of one incoming STIX 2.1 object, before anything is written.

Each check raises :class:`ObjectRefused` with a reason that names the object and the
property at fault, so a lab can fix its producer from the message alone. Nothing here
touches the database: the caller passes in what it needs to know (the publisher, the
extension definitions the exchange holds).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stix2
import stix2.exceptions

from signatures.sdk import profile
from signatures.sdk.constants import (
    DISTRIBUTION_EXTENSION_ID,
    TLP1_TO_TLP2,
    TLP2_LEVELS,
)
from signatures.stix_types import StixKind, kind_of

# STIX 2.1 section 3.2: RFC 3339 in UTC with a literal Z; fractions of any length. We accept
# up to nanoseconds (9 digits) and keep the text as sent.
_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?Z$"
)
# STIX 2.1 section 2.9: type--UUID, with a lowercase type of 3-250 characters.
_IDENTIFIER = re.compile(
    r"^(?P<type>[a-z0-9][a-z0-9-]{1,248}[a-z0-9])--"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
_TLP_ORDER = {level: rank for rank, level in enumerate(TLP2_LEVELS.values())}


class ObjectRefused(Exception):
    """The object cannot be accepted; ``str()`` is the reason shown to the publisher."""


@dataclass(frozen=True, slots=True)
class StixTimestamp:
    """A STIX timestamp as sent, with a sortable form that keeps every digit."""

    text: str
    value: datetime
    #: Fraction padded to 9 digits: equal instants compare equal whatever precision was
    #: sent, and nanosecond versions stay distinct (datetime only holds microseconds).
    sortable: str


def timestamp_parse(
    value: Any, *, object_id: str, prop: str, min_fraction: int = 0
) -> StixTimestamp:
    if not isinstance(value, str):
        raise ObjectRefused(f"{object_id}: property '{prop}' must be a timestamp string")
    match = _TIMESTAMP.match(value)
    if not match:
        raise ObjectRefused(
            f"{object_id}: property '{prop}' is not a STIX timestamp "
            f"(YYYY-MM-DDTHH:MM:SS[.fraction]Z in UTC): {value!r}"
        )
    fraction = match["fraction"] or ""
    if len(fraction) < min_fraction:
        raise ObjectRefused(
            f"{object_id}: property '{prop}' must be precise to at least the millisecond "
            f"(STIX 2.1 section 3.2), got {value!r}"
        )
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}").replace(
            microsecond=int(fraction[:6].ljust(6, "0")), tzinfo=UTC
        )
    except ValueError as exc:
        raise ObjectRefused(f"{object_id}: property '{prop}' is not a valid date: {exc}") from exc
    return StixTimestamp(
        text=value,
        value=parsed,
        sortable=f"{match['date']}T{match['time']}.{fraction.ljust(9, '0')}Z",
    )


@dataclass(slots=True)
class PreparedObject:
    """A validated object and the columns the exchange indexes it by."""

    data: dict[str, Any]
    stix_id: str
    type: str
    spec_version: str
    #: The version's identity: modified (or created) at full precision; "" when the object
    #: has neither, as SCOs (STIX 2.1 section 6: SCOs are not versioned).
    version: str
    modified: datetime | None
    created_by_ref: str
    revoked: bool
    tlp: str
    recipients: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PublishContext:
    """What validation needs to know about the publisher and the exchange."""

    publisher_identity: str
    #: extension-definition id -> its extension_types, for the definitions the exchange holds.
    extension_definitions: Mapping[str, Set[str]]


def _depth(value: Any, limit: int, level: int = 0) -> int:
    if level > limit:
        return level
    if isinstance(value, dict):
        return max((_depth(v, limit, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, limit, level + 1) for v in value), default=level)
    return level


def object_prepare(obj: Any, *, context: PublishContext, max_depth: int) -> PreparedObject:
    """Validate ``obj`` and derive its index columns, or raise ObjectRefused."""
    if not isinstance(obj, dict):
        raise ObjectRefused(f"each object must be a JSON object, not {type(obj).__name__}")
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not (id_match := _IDENTIFIER.match(object_id)):
        raise ObjectRefused(f"object {object_id!r}: property 'id' must be 'type--UUID'")
    object_type = obj.get("type")
    if object_type != id_match["type"]:
        raise ObjectRefused(
            f"{object_id}: property 'type' ({object_type!r}) does not match the id's type"
        )
    if _depth(obj, max_depth) > max_depth:
        raise ObjectRefused(f"{object_id}: nested deeper than {max_depth} levels")
    kind = kind_of(object_type)
    spec_version = obj.get("spec_version", "2.1" if kind is StixKind.SCO else None)
    if spec_version != "2.1":
        raise ObjectRefused(
            f"{object_id}: property 'spec_version' must be '2.1' "
            f"(got {spec_version!r}; STIX 2.0 objects are not accepted)"
        )
    if kind is StixKind.CUSTOM:
        _check_custom_type(obj, object_id, context)

    created = _optional_timestamp(obj, "created", object_id)
    modified = _optional_timestamp(obj, "modified", object_id)
    if created and modified and modified.sortable < created.sortable:
        raise ObjectRefused(f"{object_id}: property 'modified' is earlier than 'created'")
    _check_created_by(obj, object_id, kind, context)
    _check_confidence(obj, object_id)
    _check_with_stix2(obj, object_id, kind)
    for message in profile.validate_profile_object(obj):
        raise ObjectRefused(message)
    if object_type == "indicator" and obj.get("pattern_type") == "stix":
        for message in profile.pattern_errors(obj["pattern"]):
            raise ObjectRefused(f"{object_id}: property 'pattern': {message}")
    if object_type in {"ipv4-addr", "ipv6-addr"}:
        _check_address(obj, object_id)

    revoked = obj.get("revoked", False)
    if not isinstance(revoked, bool):
        raise ObjectRefused(f"{object_id}: property 'revoked' must be true or false")
    version = modified or created
    return PreparedObject(
        data=obj,
        stix_id=object_id,
        type=object_type,
        spec_version=spec_version,
        version=version.sortable if version else "",
        modified=version.value if version else None,
        created_by_ref=obj.get("created_by_ref", ""),
        revoked=revoked,
        tlp=tlp_of(obj),
        recipients=_recipients(obj, object_id),
    )


def _optional_timestamp(obj: dict[str, Any], prop: str, object_id: str) -> StixTimestamp | None:
    if prop not in obj:
        return None
    return timestamp_parse(obj[prop], object_id=object_id, prop=prop, min_fraction=3)


def _check_custom_type(obj: dict[str, Any], object_id: str, context: PublishContext) -> None:
    """STIX 2.1 section 7.3: a new object type must name its extension-definition."""
    declared = {
        ext_id: body.get("extension_type")
        for ext_id, body in (obj.get("extensions") or {}).items()
        if isinstance(body, dict) and str(body.get("extension_type", "")).startswith("new-")
    }
    if not declared:
        raise ObjectRefused(
            f"{object_id}: type '{obj['type']}' is not a STIX 2.1 type and no "
            "'extensions' entry declares it (extension_type new-sdo, new-sco or new-sro)"
        )
    for ext_id, ext_type in declared.items():
        held = context.extension_definitions.get(ext_id)
        if held is None:
            raise ObjectRefused(
                f"{object_id}: type '{obj['type']}' is declared by {ext_id}, which this "
                "exchange does not hold; publish the extension-definition first"
            )
        if ext_type not in held:
            raise ObjectRefused(
                f"{object_id}: {ext_id} does not define a {ext_type} extension "
                f"(it defines {', '.join(sorted(held))})"
            )


def _check_created_by(
    obj: dict[str, Any], object_id: str, kind: StixKind, context: PublishContext
) -> None:
    created_by = obj.get("created_by_ref")
    needs_creator = kind in {StixKind.SDO, StixKind.SRO} or obj["type"] in {
        "extension-definition",
        "language-content",
    }
    if created_by is None:
        if needs_creator:
            raise ObjectRefused(
                f"{object_id}: property 'created_by_ref' is required and must be your "
                f"identity ({context.publisher_identity})"
            )
        return
    if created_by != context.publisher_identity:
        raise ObjectRefused(
            f"{object_id}: property 'created_by_ref' is {created_by}, but you publish as "
            f"{context.publisher_identity}; members may only publish their own objects"
        )


def _check_with_stix2(obj: dict[str, Any], object_id: str, kind: StixKind) -> None:
    """Run the stix2 library's checks (required properties, vocabularies, patterns).

    ``allow_custom`` keeps x_ properties and unknown property extensions legal, as STIX
    2.1 section 11 asks of consumers; the object itself is never re-serialized from this.
    """
    if kind is StixKind.CUSTOM:
        return
    try:
        stix2.parse(_with_microsecond_timestamps(obj), allow_custom=True, version="2.1")
    except stix2.exceptions.STIXError as exc:
        raise ObjectRefused(f"{object_id}: {exc}") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise ObjectRefused(f"{object_id}: invalid object: {exc}") from exc


def _with_microsecond_timestamps(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy stix2 can read: it cannot parse fractions beyond microseconds.

    Only stix2's checks see the copy; the object is stored with its nanoseconds.
    """
    copy = dict(obj)
    for key, value in obj.items():
        if isinstance(value, str) and (match := _TIMESTAMP.match(value)):
            fraction = match["fraction"]
            if fraction and len(fraction) > 6:
                copy[key] = f"{match['date']}T{match['time']}.{fraction[:6]}Z"
    return copy


def _check_confidence(obj: dict[str, Any], object_id: str) -> None:
    """STIX 2.1 section 3.2: confidence is an integer from 0 to 100."""
    confidence = obj.get("confidence")
    if confidence is None:
        return
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int)
        or not 0 <= confidence <= 100
    ):
        raise ObjectRefused(f"{object_id}: property 'confidence' must be an integer from 0 to 100")


def _check_address(obj: dict[str, Any], object_id: str) -> None:
    value = obj.get("value")
    try:
        network = ipaddress.ip_network(value if isinstance(value, str) else "", strict=True)
    except ValueError as exc:
        raise ObjectRefused(f"{object_id}: property 'value': {exc}") from exc
    expected = 4 if obj["type"] == "ipv4-addr" else 6
    if network.version != expected:
        raise ObjectRefused(
            f"{object_id}: property 'value' is not an IPv{expected} address or CIDR"
        )


def tlp_of(obj: Mapping[str, Any]) -> str:
    """The most restrictive TLP 2.0 level among the object's markings ("" if unmarked).

    TLP 1.0 ids are read as their TLP 2.0 equivalents; the object itself keeps the ids
    it was sent with.
    """
    levels = [
        TLP2_LEVELS[marking]
        for ref in obj.get("object_marking_refs") or ()
        if (marking := TLP1_TO_TLP2.get(ref, ref)) in TLP2_LEVELS
    ]
    return max(levels, key=_TLP_ORDER.__getitem__, default="")


def _recipients(obj: dict[str, Any], object_id: str) -> list[str]:
    body = (obj.get("extensions") or {}).get(DISTRIBUTION_EXTENSION_ID)
    if body is None:
        return []
    recipients = body.get("recipients") if isinstance(body, dict) else None
    if not isinstance(recipients, list) or not all(
        isinstance(r, str) and r.startswith("identity--") for r in recipients
    ):
        raise ObjectRefused(
            f"{object_id}: extension {DISTRIBUTION_EXTENSION_ID}: 'recipients' must be a list "
            "of identity ids"
        )
    return sorted(set(recipients))
