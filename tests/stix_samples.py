"""Golden STIX 2.1 objects with fixed ids, one per kind of signature the exchange carries."""

from __future__ import annotations

from typing import Any

from signatures.sdk.constants import TLP2_AMBER, TLP2_GREEN

CREATED = "2026-11-20T09:30:00.123Z"


def ip_range_indicator(creator: str, **overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01",
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": creator,
        "name": "Account-farm egress range",
        "indicator_types": ["malicious-activity"],
        "pattern": "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": "2026-11-20T00:00:00Z",
        "confidence": 80,
        "object_marking_refs": [TLP2_GREEN],
        "x_lab_internal_case": "CASE-1142",
    }
    obj.update(overrides)
    return obj


def attack_pattern(creator: str, **overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": "attack-pattern--0c8f3a52-1b7e-4f0a-8c1d-6a2b9e4d7f02",
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": creator,
        "name": "Chain-of-thought extraction at scale",
        "external_references": [
            {"source_name": "mitre-atlas", "external_id": "AML.T0024.002"},
        ],
        "object_marking_refs": [TLP2_AMBER],
    }
    obj.update(overrides)
    return obj


def relationship(creator: str, source: str, target: str, **overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": "relationship--3e7a1c9b-5d2f-4b8a-9e61-7c0d4a2b8f03",
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": creator,
        "relationship_type": "indicates",
        "source_ref": source,
        "target_ref": target,
        "object_marking_refs": [TLP2_GREEN],
    }
    obj.update(overrides)
    return obj


def sighting(creator: str, indicator_id: str, **overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": "sighting--9b2d4f6a-8c1e-4a3b-b5d7-2e9f0c1a6b04",
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": creator,
        "sighting_of_ref": indicator_id,
        "where_sighted_refs": [creator],
        "count": 412,
        "first_seen": "2026-11-18T00:00:00Z",
        "last_seen": "2026-11-19T23:59:59Z",
        "object_marking_refs": [TLP2_GREEN],
    }
    obj.update(overrides)
    return obj


def ipv4_range(value: str = "203.0.113.0/24") -> dict[str, Any]:
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--1f0f8d8e-6d3b-5a7c-9e2f-0a1b2c3d4e05",
        "value": value,
    }


def extension_definition(creator: str, **overrides: Any) -> dict[str, Any]:
    """A lab's property-extension definition (signed through a note, docs/signing.md s. 12)."""
    obj: dict[str, Any] = {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": "extension-definition--5b7e3a61-0c2d-4f4e-9a1b-7d3c2e1f0a9b",
        "created_by_ref": creator,
        "created": "2026-11-20T14:05:00.000Z",
        "modified": "2026-11-20T14:05:00.000Z",
        "name": "Lab triage notes",
        "schema": "https://lab.example/schemas/triage.json",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }
    obj.update(overrides)
    return obj


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": list(objects),
    }
