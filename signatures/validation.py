"""Validation of one incoming STIX 2.1 object, before anything is written.

Each check raises :class:`ObjectRefused` with a reason that names the object and the
property at fault, so a lab can fix its producer from the message alone. Nothing here
touches the database: the caller passes in what it needs to know (the publisher, the
extension definitions the exchange holds).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import orjson
import rfc8785
import stix2

from signatures.sdk import profile
from signatures.sdk.constants import (
    CREDITABLE_TYPES,
    DISTRIBUTION_EXTENSION_ID,
    MAX_SAFE_INTEGER,
    SIGNING_EXTENSION_ID,
    TLP1_TO_TLP2,
    TLP2_EXTENSION_ID,
    TLP2_LEVELS,
)
from signatures.stix2_shortcut import stix2_accepts
from signatures.stix_types import (
    COMMON_PROPERTY_TYPES,
    CUSTOM_KINDS,
    EXTENSION_PROPERTY_TYPES,
    EXTENSIONS,
    MARKING_DEFINITION_TYPES,
    PROPERTY_TYPES,
    JsonType,
    StixKind,
    ValueType,
    kind_of,
)

# STIX 2.1 section 3.2: RFC 3339 in UTC with a literal Z; fractions of any length. We accept
# up to nanoseconds (9 digits) and keep the text as sent. re.ASCII keeps \d to 0-9 (not
# Arabic-Indic or other Unicode digits) and \Z, unlike $, does not match before a final
# newline.
_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?Z\Z",
    re.ASCII,
)
# STIX 2.1 section 2.9: type--UUID, with a lowercase type of 3-250 characters.
_IDENTIFIER = re.compile(
    r"(?P<type>[a-z0-9][a-z0-9-]{1,248}[a-z0-9])--"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z",
    re.ASCII,
)
# A lone surrogate cannot be encoded as UTF-8; NUL ends strings in C consumers.
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# STIX 2.1 section 7.2.3.1: a selector step into a list is "[index]".
_LIST_STEP = re.compile(r"\[(0|[1-9][0-9]*)\]\Z", re.ASCII)
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
    if match is None:
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
    #: The identity ids of every member of the exchange.
    member_identities: frozenset[str] = frozenset()
    #: True only when the exchange itself writes the objects (member identities, the profile).
    exchange_managed: bool = False


def _depth(value: Any, limit: int, level: int = 0) -> int:
    if level > limit:
        return level
    if isinstance(value, dict):
        return max((_depth(v, limit, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, limit, level + 1) for v in value), default=level)
    return level


def object_prepare(
    obj: Any, *, context: PublishContext, max_depth: int, max_bytes: int | None = None
) -> PreparedObject:
    """Validate ``obj`` and derive its index columns, or raise ObjectRefused.

    No other exception escapes, whatever ``obj`` holds. ``obj`` itself is never changed,
    and the returned ``data`` is ``obj``: what is stored is exactly what was checked.
    ``max_bytes`` bounds the object's serialized size (None: no bound).
    """
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
    # Before anything reads a value: every later check, stix2's and the stored JSON's
    # canonical form may then assume plain, finite, encodable JSON.
    _check_json_values(obj, object_id)
    if max_bytes is not None and len(orjson.dumps(obj)) > max_bytes:
        raise ObjectRefused(f"{object_id}: larger than the {max_bytes}-byte limit per object")
    kind = kind_of(object_type)
    spec_version = obj.get("spec_version", "2.1" if kind is StixKind.SCO else None)
    if spec_version != "2.1":
        raise ObjectRefused(
            f"{object_id}: property 'spec_version' must be '2.1' "
            f"(got {spec_version!r}; STIX 2.0 objects are not accepted)"
        )
    if "extensions" in obj:
        # Every kind, including those (extension-definition) whose stix2 class has none:
        # the custom-type, signing and distribution checks below read it.
        _check_type(obj["extensions"], EXTENSIONS, "extensions", object_id)
    if kind is StixKind.CUSTOM:
        kind = _custom_kind(obj, object_id, context)
        declared = COMMON_PROPERTY_TYPES[kind]
    else:
        declared = PROPERTY_TYPES[object_type]
    for name, shape in declared.items():
        if name in obj:
            _check_type(obj[name], shape, name, object_id)
    _check_definition(obj, object_id)

    created = _optional_timestamp(obj, "created", object_id)
    modified = _optional_timestamp(obj, "modified", object_id)
    if kind in {StixKind.SDO, StixKind.SRO} and not (created and modified):
        # stix2 enforces this for the standard types; custom SDOs/SROs share the rule.
        missing = "created" if created is None else "modified"
        raise ObjectRefused(f"{object_id}: property '{missing}' is required")
    if created and modified and modified.sortable < created.sortable:
        raise ObjectRefused(f"{object_id}: property 'modified' is earlier than 'created'")
    _check_created_by(obj, object_id, kind, context)
    _check_exchange_managed(obj, object_id, context)
    _check_tlp_imitation(obj, object_id)
    _check_confidence(obj, object_id)
    _check_granular_markings(obj, object_id)
    if object_type == "indicator" and obj.get("pattern_type") == "stix" and "pattern" in obj:
        # Before stix2, which parses the pattern too: the bounds keep its parser from
        # recursing without limit.
        for message in profile.pattern_errors(obj["pattern"]):
            raise ObjectRefused(f"{object_id}: property 'pattern': {message}")
    if object_type in PROPERTY_TYPES and not stix2_accepts(obj):
        _check_with_stix2(obj, object_id)
    for message in profile.validate_profile_object(obj):
        raise ObjectRefused(message)
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


def _check_json_values(obj: dict[str, Any], object_id: str) -> None:
    """Refuse what I-JSON (RFC 7493) and RFC 8785 do not allow, anywhere in the object:
    integers beyond 2**53 - 1, non-finite floats, and strings (names or values) holding
    NUL or a lone surrogate. Depth is bounded by the caller.

    null is no STIX value, and _check_type refuses it for every property STIX defines;
    inside custom properties and unknown extensions it is kept verbatim (STIX 2.1
    section 11).
    """
    pending: list[tuple[str, Any]] = [("", obj)]
    while pending:
        path, value = pending.pop()
        where = f"{object_id}: property '{path}'" if path else f"{object_id}:"
        if value is None or isinstance(value, bool):
            pass
        elif isinstance(value, str):
            if _BAD_CHARACTER.search(value):
                raise ObjectRefused(f"{where} holds NUL or a lone surrogate")
        elif isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                raise ObjectRefused(
                    f"{where} is outside the I-JSON integer range (+/-{MAX_SAFE_INTEGER})"
                )
        elif isinstance(value, float):
            try:
                rfc8785.dumps(value)
            except rfc8785.CanonicalizationError as exc:
                raise ObjectRefused(f"{where} is not an I-JSON number: {exc}") from exc
        elif isinstance(value, dict):
            for name, item in value.items():
                if not isinstance(name, str) or _BAD_CHARACTER.search(name):
                    raise ObjectRefused(
                        f"{where} has a member name that is not a string without NUL or "
                        f"a lone surrogate: {name!r}"
                    )
                pending.append((f"{path}.{name}" if path else name, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        else:
            raise ObjectRefused(f"{where} is not a JSON value ({type(value).__name__})")


def _check_type(value: Any, shape: ValueType, path: str, object_id: str) -> None:
    """Refuse ``value`` unless its JSON type is ``shape`` (STIX 2.1 section 2), deeply:
    list items, embedded objects' members and extension bodies."""
    json_type = shape.json
    if json_type is JsonType.TIMESTAMP:
        timestamp_parse(value, object_id=object_id, prop=path)
        return
    if not _has_json_type(value, json_type):
        raise ObjectRefused(f"{object_id}: property '{path}' must be {shape.described}")
    if json_type is JsonType.LIST and shape.item is not None:
        for index, item in enumerate(value):
            _check_type(item, shape.item, f"{path}[{index}]", object_id)
    elif shape.members is not None:
        for name, member_shape in shape.members.items():
            if name in value:
                _check_type(value[name], member_shape, f"{path}.{name}", object_id)
    elif json_type is JsonType.HASHES:
        for name, item in value.items():
            if not isinstance(item, str):
                raise ObjectRefused(f"{object_id}: property '{path}.{name}' must be a string")
    elif json_type is JsonType.EXTENSIONS:
        for name, body in value.items():
            if not isinstance(body, dict):
                raise ObjectRefused(
                    f"{object_id}: property '{path}.{name}' must be a JSON object "
                    "(an extension's properties)"
                )
            for member, member_shape in EXTENSION_PROPERTY_TYPES.get(name, {}).items():
                if member in body:
                    _check_type(body[member], member_shape, f"{path}.{name}.{member}", object_id)


def _has_json_type(value: Any, json_type: JsonType) -> bool:
    # bool is a subclass of int in Python, but true is not a JSON number.
    match json_type:
        case JsonType.STRING:
            return isinstance(value, str)
        case JsonType.IDENTIFIER:
            return isinstance(value, str) and _IDENTIFIER.match(value) is not None
        case JsonType.INTEGER:
            return isinstance(value, int) and not isinstance(value, bool)
        case JsonType.NUMBER:
            return isinstance(value, int | float) and not isinstance(value, bool)
        case JsonType.BOOLEAN:
            return isinstance(value, bool)
        case JsonType.LIST:
            return isinstance(value, list)
        case JsonType.OBJECT | JsonType.HASHES | JsonType.EXTENSIONS:
            return isinstance(value, dict)
        case JsonType.TIMESTAMP:
            return isinstance(value, str) and _TIMESTAMP.match(value) is not None


def _check_definition(obj: dict[str, Any], object_id: str) -> None:
    """A marking-definition's ``definition`` typed as its ``definition_type`` defines it
    (STIX 2.1 section 7.2.1: tlp, statement)."""
    if obj["type"] != "marking-definition" or not isinstance(obj.get("definition"), dict):
        return
    members = MARKING_DEFINITION_TYPES.get(obj.get("definition_type", ""), {})
    for name, shape in members.items():
        if name in obj["definition"]:
            _check_type(obj["definition"][name], shape, f"definition.{name}", object_id)


def _optional_timestamp(obj: dict[str, Any], prop: str, object_id: str) -> StixTimestamp | None:
    if prop not in obj:
        return None
    return timestamp_parse(obj[prop], object_id=object_id, prop=prop, min_fraction=3)


def _custom_kind(obj: dict[str, Any], object_id: str, context: PublishContext) -> StixKind:
    """STIX 2.1 section 7.3: a new object type must name its extension-definition, whose
    extension_type (new-sdo, new-sro, new-sco) makes it an SDO, SRO or SCO."""
    declared = {
        ext_id: extension_type
        for ext_id, body in (obj.get("extensions") or {}).items()
        if isinstance(extension_type := body.get("extension_type"), str)
        and extension_type in CUSTOM_KINDS
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
    if len(set(declared.values())) > 1:
        raise ObjectRefused(
            f"{object_id}: property 'extensions' declares the type as "
            f"{' and '.join(sorted(set(declared.values())))}; it can be only one"
        )
    return CUSTOM_KINDS[next(iter(declared.values()))]


def _check_created_by(
    obj: dict[str, Any], object_id: str, kind: StixKind, context: PublishContext
) -> None:
    """Who an object may name as its creator (docs/api.md): SDOs, SROs and
    extension-definitions name the publisher; marking-definitions and language-content
    name the publisher, an organisation outside the exchange, or nobody; SCOs nobody.
    What the exchange writes itself may credit an organisation outside the exchange."""
    created_by = obj.get("created_by_ref")
    if kind is StixKind.SCO:
        if created_by is not None:
            raise ObjectRefused(
                f"{object_id}: property 'created_by_ref' is not a property of SCOs "
                "(STIX 2.1 section 6.1); an observable has no creator"
            )
        return
    # The exchange itself republishes official objects verbatim, such as the OASIS TLP 2.0
    # extension-definition, which OASIS created.
    if obj["type"] in CREDITABLE_TYPES or (context.exchange_managed and created_by):
        if created_by is None or created_by == context.publisher_identity:
            return
        if created_by in context.member_identities:
            raise ObjectRefused(
                f"{object_id}: property 'created_by_ref' is {created_by}, another member of "
                f"the exchange; you publish as {context.publisher_identity} and may credit "
                "only yourself or an organisation outside the exchange"
            )
        return
    if created_by is None:
        raise ObjectRefused(
            f"{object_id}: property 'created_by_ref' is required and must be your "
            f"identity ({context.publisher_identity})"
        )
    if created_by != context.publisher_identity:
        raise ObjectRefused(
            f"{object_id}: property 'created_by_ref' is {created_by}, but you publish as "
            f"{context.publisher_identity}; members may only publish their own objects"
        )


def _check_exchange_managed(obj: dict[str, Any], object_id: str, context: PublishContext) -> None:
    """docs/signing.md: the exchange vouches for a member's identity and the keys it
    carries, so only the exchange writes them."""
    if context.exchange_managed:
        return
    if obj["type"] == "identity" and obj["id"] in context.member_identities:
        raise ObjectRefused(
            f"{object_id}: member identities and the keys they carry are managed by the "
            "exchange (member registration and key registration, rotation and revocation); "
            "they cannot be published"
        )
    signing = (obj.get("extensions") or {}).get(SIGNING_EXTENSION_ID, {})
    if "keys" in signing:
        raise ObjectRefused(
            f"{object_id}: property 'extensions.{SIGNING_EXTENSION_ID}.keys': only the "
            "exchange publishes key lists (register your key through the keys endpoint)"
        )


@functools.cache
def _official_tlp() -> dict[str, dict[str, Any]]:
    """The official TLP marking-definitions by id, as published: TLP 2.0 as OASIS
    publishes it (cti-stix-common-objects), TLP 1.0 as STIX 2.1 section 7.2.1.4 defines it
    (stix2 carries those objects)."""
    text = resources.files("signatures").joinpath("profile/markings/tlp-2.0.json").read_text()
    official: dict[str, dict[str, Any]] = {m["id"]: m for m in json.loads(text)}
    for marking in (
        stix2.v21.TLP_WHITE,
        stix2.v21.TLP_GREEN,
        stix2.v21.TLP_AMBER,
        stix2.v21.TLP_RED,
    ):
        official[marking.id] = json.loads(marking.serialize())
    return official


def _check_tlp_imitation(obj: dict[str, Any], object_id: str) -> None:
    """Only the official OASIS ids are TLP (constants.TLP2_LEVELS, TLP1_TO_TLP2): a
    marking-definition that looks like TLP under another id would be read as TLP by
    people and tools, but not by the exchange's sharing policy; an official id must carry
    the official content, which people and tools read too."""
    if obj["type"] != "marking-definition":
        return
    official = _official_tlp().get(object_id)
    if official is not None:
        if obj != official:
            raise ObjectRefused(
                f"{object_id}: this is an official TLP marking id; its content must be the "
                "official definition, unchanged"
            )
        return
    if object_id in TLP1_TO_TLP2:
        return  # OpenCTI's TLP:AMBER+STRICT, which no standard defines
    name = obj.get("name", "")
    if TLP2_EXTENSION_ID in (obj.get("extensions") or {}):
        prop = f"extensions.{TLP2_EXTENSION_ID}"
    elif obj.get("definition_type") == "tlp":
        prop = "definition_type"
    elif name.casefold().startswith("tlp:"):
        prop = "name"
    else:
        return
    raise ObjectRefused(
        f"{object_id}: property '{prop}' imitates a TLP marking, but only the official "
        "OASIS TLP marking-definition ids are TLP; use those ids in object_marking_refs"
    )


def _check_granular_markings(obj: dict[str, Any], object_id: str) -> None:
    """STIX 2.1 section 7.2.3: each granular marking has exactly one of marking_ref and
    lang, and selectors that each resolve to a property or list item of this object.

    Done here rather than by stix2 3.0.2, which refuses valid selectors into list items
    (``external_references.[0].url``, section 7.2.3.1).
    """
    for index, marking in enumerate(obj.get("granular_markings", ())):
        where = f"{object_id}: property 'granular_markings[{index}]"
        if ("marking_ref" in marking) == ("lang" in marking):
            raise ObjectRefused(f"{where}' must have exactly one of 'marking_ref' and 'lang'")
        if not str(marking.get("marking_ref", "marking-definition--")).startswith(
            "marking-definition--"
        ):
            raise ObjectRefused(f"{where}.marking_ref' must be a marking-definition id")
        selectors = marking.get("selectors")
        if not selectors:
            raise ObjectRefused(f"{where}.selectors' is required and must not be empty")
        for selector in selectors:
            if not _selector_resolves(obj, selector):
                raise ObjectRefused(
                    f"{where}.selectors': {selector!r} does not select a property or list "
                    "item of this object (STIX 2.1 section 7.2.3.1)"
                )


def _selector_resolves(obj: dict[str, Any], selector: str) -> bool:
    current: Any = obj
    for step in selector.split("."):
        if isinstance(current, list):
            match = _LIST_STEP.match(step)
            if match is None or int(match[1]) >= len(current):
                return False
            current = current[int(match[1])]
        elif isinstance(current, dict) and step in current:
            current = current[step]
        else:
            return False
    return True


def _check_with_stix2(obj: dict[str, Any], object_id: str) -> None:
    """Run the stix2 library's checks (required properties, vocabularies, patterns).

    ``allow_custom`` keeps x_ properties and unknown property extensions legal, as STIX
    2.1 section 11 asks of consumers. stix2 coerces values, so its verdict counts only
    after _check_type has held every property to its JSON type; it sees a copy, and the
    object is never re-serialized from it. granular_markings are checked by
    _check_granular_markings instead.
    """
    copy = _with_microsecond_timestamps(obj)
    copy.pop("granular_markings", None)
    try:
        stix2.parse(copy, allow_custom=True, version="2.1")
    except RecursionError as exc:
        raise ObjectRefused(f"{object_id}: too deeply nested to check") from exc
    except Exception as exc:
        # stix2 signals most faults with STIXError, but hostile input also reaches
        # ValueError, TypeError, KeyError, AttributeError, ... inside the library; every
        # one of them is a fault of this object, never of the exchange.
        raise ObjectRefused(f"{object_id}: {exc}") from exc


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
