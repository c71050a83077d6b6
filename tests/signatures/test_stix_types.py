"""signatures/stix_types.py: the family of each STIX 2.1 type and the JSON type of each
property, derived from stix2's property classes (sections 2-7)."""

from __future__ import annotations

import pytest
from stix2 import properties
from stix2.registry import STIX2_OBJ_MAPS

from signatures.stix_types import (
    COMMON_PROPERTY_TYPES,
    EXTENSION_PROPERTY_TYPES,
    MARKING_DEFINITION_TYPES,
    META_TYPES,
    PROPERTY_TYPES,
    SCO_TYPES,
    SDO_TYPES,
    SRO_TYPES,
    JsonType,
    StixKind,
    kind_of,
    value_type,
)


def test_it_puts_each_standard_type_in_one_family_and_types_its_properties() -> None:
    families = [SDO_TYPES, SRO_TYPES, SCO_TYPES, META_TYPES]
    assert sum(len(family) for family in families) == len(frozenset().union(*families))
    assert frozenset().union(*families) == set(PROPERTY_TYPES)
    # stix2's registry also holds the custom types registered since (the profile's SCOs);
    # every standard type is in it.
    registered = {*STIX2_OBJ_MAPS["2.1"]["objects"], *STIX2_OBJ_MAPS["2.1"]["observables"]}
    assert set(PROPERTY_TYPES) <= registered - {"bundle"}


@pytest.mark.parametrize(
    ("object_type", "kind"),
    [
        ("indicator", StixKind.SDO),
        ("sighting", StixKind.SRO),
        ("ipv4-addr", StixKind.SCO),
        ("marking-definition", StixKind.META),
        ("extension-definition", StixKind.META),
        ("prompt-pattern", StixKind.CUSTOM),
        ("x-acme-thing", StixKind.CUSTOM),
    ],
)
def test_it_sorts_each_type_into_its_family(object_type: str, kind: StixKind) -> None:
    assert kind_of(object_type) is kind


def test_it_types_the_properties_of_a_standard_object() -> None:
    indicator = PROPERTY_TYPES["indicator"]
    assert indicator["name"].json is JsonType.STRING
    assert indicator["valid_from"].json is JsonType.TIMESTAMP
    assert indicator["created_by_ref"].json is JsonType.IDENTIFIER
    assert indicator["confidence"].json is JsonType.INTEGER
    assert indicator["revoked"].json is JsonType.BOOLEAN
    assert indicator["extensions"].json is JsonType.EXTENSIONS
    labels = indicator["labels"]
    assert labels.json is JsonType.LIST and labels.item is not None
    assert labels.item.json is JsonType.STRING and labels.described == "a list of strings"
    assert PROPERTY_TYPES["file"]["hashes"].json is JsonType.HASHES
    assert PROPERTY_TYPES["network-traffic"]["dst_byte_count"].json is JsonType.INTEGER
    assert PROPERTY_TYPES["malware-analysis"]["version"].json is JsonType.STRING


def test_it_names_embedded_objects_and_types_their_members() -> None:
    phases = PROPERTY_TYPES["indicator"]["kill_chain_phases"]
    assert phases.described == "a list of kill-chain-phase objects"
    assert phases.item is not None and phases.item.members is not None
    assert phases.item.described == "a kill-chain-phase object"
    assert phases.item.members["phase_name"].json is JsonType.STRING
    refs = PROPERTY_TYPES["indicator"]["external_references"].item
    assert refs is not None and refs.described == "an external-reference object"
    assert refs.members is not None and refs.members["hashes"].json is JsonType.HASHES


def test_it_types_sco_extensions_and_marking_definitions() -> None:
    assert EXTENSION_PROPERTY_TYPES["ntfs-ext"]["sid"].json is JsonType.STRING
    assert set(MARKING_DEFINITION_TYPES) == {"tlp", "statement"}
    assert MARKING_DEFINITION_TYPES["statement"]["statement"].json is JsonType.STRING


def test_it_gives_custom_types_only_what_their_family_shares() -> None:
    sdo = COMMON_PROPERTY_TYPES[StixKind.SDO]
    assert sdo["name"].json is JsonType.STRING
    assert sdo["object_marking_refs"].json is JsonType.LIST
    assert sdo["external_references"].json is JsonType.LIST
    assert "pattern" not in sdo  # only indicator defines it: nothing to say about a custom one
    sco = COMMON_PROPERTY_TYPES[StixKind.SCO]
    assert set(sco) == {
        "type", "spec_version", "id", "object_marking_refs", "granular_markings", "defanged",
        "extensions",
    }  # fmt: skip
    assert sco["defanged"].json is JsonType.BOOLEAN


def test_it_fails_loudly_on_a_property_class_it_does_not_know() -> None:
    class Unheard(properties.Property):
        pass

    with pytest.raises(TypeError, match="no JSON type known for stix2's Unheard"):
        value_type(Unheard())
