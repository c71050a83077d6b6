"""The object types of STIX 2.1 and the family each belongs to (sections 4-7)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from stix2 import properties
from stix2.registry import STIX2_OBJ_MAPS
from stix2.v21.common import MarkingProperty

SDO_TYPES = frozenset(
    {
        "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
        "indicator", "infrastructure", "intrusion-set", "location", "malware",
        "malware-analysis", "note", "observed-data", "opinion", "report", "threat-actor",
        "tool", "vulnerability",
    }
)  # fmt: skip
SRO_TYPES = frozenset({"relationship", "sighting"})
SCO_TYPES = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
        "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
        "network-traffic", "process", "software", "url", "user-account",
        "windows-registry-key", "x509-certificate",
    }
)  # fmt: skip
META_TYPES = frozenset({"marking-definition", "language-content", "extension-definition"})


class StixKind(Enum):
    SDO = "sdo"
    SRO = "sro"
    SCO = "sco"
    META = "meta"
    #: Declared by an extension-definition (STIX 2.1 section 7.3), e.g. the profile's SCOs.
    CUSTOM = "custom"


def kind_of(object_type: str) -> StixKind:
    if object_type in SDO_TYPES:
        return StixKind.SDO
    if object_type in SRO_TYPES:
        return StixKind.SRO
    if object_type in SCO_TYPES:
        return StixKind.SCO
    if object_type in META_TYPES:
        return StixKind.META
    return StixKind.CUSTOM


# --- The JSON type of each property -----------------------------------------------------
#
# stix2 coerces what it is given (a name sent as 5 becomes "5", labels sent as "x" become
# ["x"]) and validates the coerced copy, so its verdict says nothing about the JSON that is
# stored. The expected JSON type of each property is therefore derived here from stix2's
# own property classes, and checked against the value as sent (signatures.validation).


class JsonType(Enum):
    """What a STIX 2.1 data type (section 2) looks like in JSON: (singular, plural)."""

    STRING = ("a string", "strings")
    TIMESTAMP = ("a timestamp string", "timestamp strings")
    IDENTIFIER = ("an identifier (type--UUID)", "identifiers (type--UUID)")
    INTEGER = ("an integer", "integers")
    NUMBER = ("a number", "numbers")
    BOOLEAN = ("true or false", "booleans")
    LIST = ("a list", "lists")
    OBJECT = ("a JSON object", "JSON objects")
    #: STIX 2.1 section 2.5: hash algorithm name -> hash value, both strings.
    HASHES = ("a dictionary of hash strings", "dictionaries of hash strings")
    #: STIX 2.1 section 3.2 extensions: extension name or id -> an extension object.
    EXTENSIONS = ("a dictionary of extension objects", "dictionaries of extension objects")


@dataclass(frozen=True, slots=True)
class ValueType:
    """The expected JSON shape of one property: its type, what a list holds, and the typed
    members of an embedded object (external-reference, kill-chain-phase, ...)."""

    json: JsonType
    item: ValueType | None = None
    members: Mapping[str, ValueType] | None = None
    #: How the type is named in a refusal ("a kill-chain-phase object"), when not by json.
    noun: tuple[str, str] | None = None

    @property
    def described(self) -> str:
        return (self.noun or self.json.value)[0]

    @property
    def plural(self) -> str:
        return (self.noun or self.json.value)[1]


_STRING = ValueType(JsonType.STRING)
#: The ``extensions`` common property, which every kind of object may carry.
EXTENSIONS: Final = ValueType(JsonType.EXTENSIONS)
_SCALARS: tuple[tuple[type[properties.Property], ValueType], ...] = (
    # Subclasses before their bases: HashesProperty and ExtensionsProperty are
    # DictionaryProperty subclasses.
    (properties.HashesProperty, ValueType(JsonType.HASHES)),
    (properties.ExtensionsProperty, EXTENSIONS),
    (properties.DictionaryProperty, ValueType(JsonType.OBJECT)),
    (properties.ObservableProperty, ValueType(JsonType.OBJECT)),
    (MarkingProperty, ValueType(JsonType.OBJECT)),
    (properties.STIXObjectProperty, ValueType(JsonType.OBJECT)),
    (properties.TimestampProperty, ValueType(JsonType.TIMESTAMP)),
    (properties.ReferenceProperty, ValueType(JsonType.IDENTIFIER)),
    (properties.IDProperty, ValueType(JsonType.IDENTIFIER)),
    (properties.IntegerProperty, ValueType(JsonType.INTEGER)),
    (properties.FloatProperty, ValueType(JsonType.NUMBER)),
    (properties.BooleanProperty, ValueType(JsonType.BOOLEAN)),
    # Vocabularies, enumerations, patterns, selectors, binary (base64) and hex are strings.
    (properties.StringProperty, _STRING),
    (properties.TypeProperty, _STRING),
    (properties.BinaryProperty, _STRING),
    (properties.HexProperty, _STRING),
    (properties.SelectorProperty, _STRING),
)
# KillChainPhase -> kill-chain-phase, EmailMIMEComponent -> email-mime-component.
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _embedded(cls: type[Any]) -> ValueType:
    name = _WORD_BREAK.sub("-", cls.__name__).lower().removesuffix("-type")
    article = "an" if name[0] in "aeiou" else "a"
    return ValueType(
        JsonType.OBJECT,
        members=properties_of(cls),
        noun=(f"{article} {name} object", f"{name} objects"),
    )


def value_type(prop: properties.Property) -> ValueType:
    """The JSON shape of values of a stix2 property class.

    An unknown property class (a newer stix2) fails loudly here, at import, rather than
    leaving a property unchecked.
    """
    if isinstance(prop, properties.ListProperty):
        contained = prop.contained
        item = _embedded(contained) if isinstance(contained, type) else value_type(contained)
        return ValueType(
            JsonType.LIST,
            item=item,
            noun=(f"a list of {item.plural}", f"lists of {item.plural}"),
        )
    if isinstance(prop, properties.EmbeddedObjectProperty):
        return _embedded(prop.type)
    for cls, shape in _SCALARS:
        if isinstance(prop, cls):
            return shape
    raise TypeError(f"no JSON type known for stix2's {type(prop).__name__}")


def properties_of(cls: type[Any]) -> dict[str, ValueType]:
    """The JSON shape of each property a stix2 class defines."""
    return {name: value_type(prop) for name, prop in cls._properties.items()}


_REGISTRY = STIX2_OBJ_MAPS["2.1"]

#: Every standard STIX 2.1 object type (SDO, SRO, SCO, meta) -> its properties' shapes.
PROPERTY_TYPES: Final[dict[str, dict[str, ValueType]]] = {
    object_type: properties_of(cls)
    for group in ("objects", "observables")
    for object_type, cls in _REGISTRY[group].items()
    if object_type != "bundle"
}
#: The predefined SCO extensions (STIX 2.1 section 6, e.g. ``ntfs-ext``) -> their shapes.
EXTENSION_PROPERTY_TYPES: Final[dict[str, dict[str, ValueType]]] = {
    name: properties_of(cls) for name, cls in _REGISTRY["extensions"].items()
}
#: marking-definition ``definition`` by ``definition_type`` (tlp, statement).
MARKING_DEFINITION_TYPES: Final[dict[str, dict[str, ValueType]]] = {
    name: properties_of(cls) for name, cls in _REGISTRY["markings"].items()
}


def _shared_properties(object_types: frozenset[str]) -> dict[str, ValueType]:
    """The properties that several of the given standard types define, with one JSON
    type wherever they appear: the common properties (STIX 2.1 section 3.2) and names
    such as ``name``, ``description`` or ``aliases``. A property only one type defines
    says nothing about what a custom type means by that name."""
    shapes: dict[str, list[ValueType]] = {}
    for object_type in sorted(object_types):
        for name, shape in PROPERTY_TYPES[object_type].items():
            shapes.setdefault(name, []).append(shape)
    return {
        name: found[0]
        for name, found in shapes.items()
        if len(found) > 1 and all(shape == found[0] for shape in found)
    }


# The SCO common properties (STIX 2.1 section 6.1); SCO types share little else, and the
# profile's own observables have JSON Schemas for the rest.
_SCO_COMMON = (
    "type", "spec_version", "id", "object_marking_refs", "granular_markings", "defanged",
    "extensions",
)  # fmt: skip

#: What a custom type (STIX 2.1 section 7.3) shares with the standard types of its kind:
#: the common properties and, for SDOs and SROs, every property several standard types
#: define with one JSON type (a custom SDO's ``name`` is a string like every SDO's).
COMMON_PROPERTY_TYPES: Final[dict[StixKind, dict[str, ValueType]]] = {
    StixKind.SDO: _shared_properties(SDO_TYPES),
    StixKind.SRO: _shared_properties(SRO_TYPES),
    StixKind.SCO: {name: PROPERTY_TYPES["domain-name"][name] for name in _SCO_COMMON},
}

#: The family a custom type belongs to, by the extension_type that declares it (section 7.3).
CUSTOM_KINDS: Final = {"new-sdo": StixKind.SDO, "new-sro": StixKind.SRO, "new-sco": StixKind.SCO}
