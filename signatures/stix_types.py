"""The object types of STIX 2.1 and the family each belongs to (sections 4-7)."""

from __future__ import annotations

from enum import Enum

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
