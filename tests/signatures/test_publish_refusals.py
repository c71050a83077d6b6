"""Refused objects over HTTP (REST /api/v1/objects/ and TAXII Add Objects): each bad object
is refused on its own with the property named, nothing of it is stored, and the good objects
sent beside it are published."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from members.models import Member
from signatures.models import Collection, StixObject
from signatures.object_signing import without_signatures
from signatures.sdk.constants import (
    SIGNING_EXTENSION_ID,
    TLP2_CLEAR,
    TLP2_EXTENSION_ID,
    TLP2_GREEN,
)
from signatures.services import collection_create
from tests import stix_samples as samples
from tests.conftest import LAB_A_ID, LAB_B_ID
from tests.exchange.taxii.conftest import TAXII, Taxii, collection_url

URL = "/api/v1/objects/"
T = "2026-11-20T09:30:00.123Z"
CASE_EXTENSION = "extension-definition--1d0a5e2c-7a3b-4c9e-8f10-2b3c4d5e6f70"
# Stands in for a value json.dumps cannot write; replaced in the body text.
RAW = "__raw__"


def _id(object_type: str, n: int) -> str:
    return f"{object_type}--00000000-0000-4000-8000-{n:012d}"


def good() -> dict[str, Any]:
    return samples.ip_range_indicator(LAB_A_ID)


def bad_indicator(**changes: Any) -> dict[str, Any]:
    return samples.ip_range_indicator(LAB_A_ID, id=_id("indicator", 99), **changes)


def case_definition() -> dict[str, Any]:
    """An extension-definition declaring a custom SDO type, published in the same envelope."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": CASE_EXTENSION,
        "created": T,
        "modified": T,
        "created_by_ref": LAB_A_ID,
        "name": "Lab case",
        "schema": "https://example.org/case.json",
        "version": "1.0",
        "extension_types": ["new-sdo"],
    }


def custom_case(**changes: Any) -> dict[str, Any]:
    obj = {
        "type": "x-lab-case",
        "spec_version": "2.1",
        "id": _id("x-lab-case", 1),
        "created": T,
        "modified": T,
        "created_by_ref": LAB_A_ID,
        "name": "Case 1142",
        "extensions": {CASE_EXTENSION: {"extension_type": "new-sdo"}},
    }
    obj.update(changes)
    return {name: value for name, value in obj.items() if value is not RAW}


def statement(**changes: Any) -> dict[str, Any]:
    obj = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _id("marking-definition", 7),
        "created": T,
        "name": "Partner licence",
        "definition_type": "statement",
        "definition": {"statement": "Copyright Example Org"},
    }
    obj.update(changes)
    return obj


def without(obj: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key != name}


#: (bad object, the raw JSON text standing in for RAW if any, what the refusal names)
BAD: dict[str, tuple[dict[str, Any], str | None, str]] = {
    "name as int": (bad_indicator(name=5), None, "property 'name' must be a string"),
    "name as list": (bad_indicator(name=["x"]), None, "property 'name' must be a string"),
    "labels as string": (bad_indicator(labels="x"), None, "property 'labels' must be a list"),
    "pattern_type as int": (bad_indicator(pattern_type=5), None, "'pattern_type' must be"),
    "indicator_types as dict": (bad_indicator(indicator_types={}), None, "'indicator_types'"),
    "valid_from null": (bad_indicator(valid_from=None), None, "'valid_from' must be"),
    "marking refs null": (bad_indicator(object_marking_refs=None), None, "'object_marking_refs'"),
    "timestamp with newline": (
        bad_indicator(valid_from="2026-11-20T00:00:00Z\n"),
        None,
        "property 'valid_from' is not a STIX timestamp",
    ),
    "non-ASCII digits": (
        bad_indicator(created="٢٠٢٦-11-20T09:30:00.123Z"),
        None,
        "property 'created' is not a STIX timestamp",
    ),
    "extensions as list": (bad_indicator(extensions=[]), None, "property 'extensions' must be"),
    "extensions as string": (bad_indicator(extensions="x"), None, "'extensions' must be"),
    "extension body not a dict": (
        bad_indicator(extensions={"x": 5}),
        None,
        "property 'extensions.x' must be a JSON object",
    ),
    "number beyond I-JSON": (bad_indicator(x_n=RAW), "1e400", "property 'x_n'"),
    "integer beyond I-JSON": (bad_indicator(x_n=2**64), None, "property 'x_n'"),
    "NUL in a string": (bad_indicator(description="a\x00b"), None, "'description' holds NUL"),
    "lone surrogate": (bad_indicator(x_s={"k": "\ud800"}), None, "property 'x_s.k' holds"),
    "thousands of OR terms": (
        bad_indicator(pattern=" OR ".join(["[ipv4-addr:value = '198.51.100.1']"] * 3000)),
        None,
        "property 'pattern'",
    ),
    "hundreds of parentheses": (
        bad_indicator(pattern="(" * 400 + "[ipv4-addr:value = '198.51.100.1']" + ")" * 400),
        None,
        "property 'pattern'",
    ),
    "IP out of range in a pattern": (
        bad_indicator(pattern="[ipv4-addr:value ISSUBSET '100.64.300.0/24']"),
        None,
        "'100.64.300.0/24'",
    ),
    "custom SDO without creator": (
        custom_case(created_by_ref=RAW),
        None,
        "property 'created_by_ref' is required",
    ),
    "custom SDO of another member": (
        custom_case(created_by_ref=LAB_B_ID),
        None,
        "members may only publish their own objects",
    ),
    "custom SDO name as object": (custom_case(name={"a": 1}), None, "property 'name' must be"),
    "custom SDO marking refs not a list": (
        custom_case(object_marking_refs="not-a-list"),
        None,
        "property 'object_marking_refs' must be a list",
    ),
    "custom SDO external refs as int": (
        custom_case(external_references=5),
        None,
        "property 'external_references' must be a list",
    ),
    "custom SDO without modified": (custom_case(modified=RAW), None, "'modified' is required"),
    "a member's own identity": (
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": LAB_A_ID,
            "created": T,
            "modified": "2026-12-01T00:00:00.000Z",
            "created_by_ref": LAB_A_ID,
            "name": "lab-a",
        },
        None,
        "managed by the exchange",
    ),
    "a key list": (
        bad_indicator(
            extensions={
                SIGNING_EXTENSION_ID: {
                    "extension_type": "property-extension",
                    "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}],
                }
            }
        ),
        None,
        f"'extensions.{SIGNING_EXTENSION_ID}.keys'",
    ),
    "TLP look-alike": (
        statement(
            name="TLP:CLEAR",
            extensions={
                TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "clear"}
            },
        ),
        None,
        "imitates a TLP marking",
    ),
    "an official TLP id altered": (
        statement(id=TLP2_CLEAR, name="TLP:CLEAR"),
        None,
        "official definition",
    ),
    "a statement credited to another member": (
        statement(created_by_ref=LAB_B_ID),
        None,
        "another member of the exchange",
    ),
}


def body_text(body: Any, raw: str | None) -> str:
    text = json.dumps(body)
    return text.replace(f'"{RAW}"', raw) if raw is not None else text


@pytest.fixture
def lab_client(lab_a: Member, lab_b: Member, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(lab_a)


@pytest.fixture
def shared(lab_a: Member, lab_b: Member, partner: Member) -> Collection:
    return collection_create(
        title="Shared", readers=[lab_a, lab_b, partner], writers=[lab_a, lab_b]
    )


def _versions(obj: dict[str, Any]) -> list[str]:
    """The stored versions of ``obj``'s id (an official TLP marking or a member's identity
    is there before the test posts its bad copy)."""
    return sorted(StixObject.objects.filter(stix_id=obj["id"]).values_list("raw", flat=True))


@pytest.mark.parametrize("case", sorted(BAD))
def test_it_refuses_the_bad_object_and_publishes_the_rest_over_rest(
    lab_client: APIClient, case: str
) -> None:
    bad, raw, message = BAD[case]
    objects = [case_definition(), bad, good()]
    before = _versions(bad)
    response = lab_client.post(
        URL, body_text(samples.bundle(*objects), raw), content_type="application/json"
    )
    assert response.status_code == 207, response.content
    assert response["Content-Type"] == "application/json"
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "refused", "accepted"]
    assert results[1]["id"] == bad["id"]
    assert results[1]["reason"].startswith(bad["id"])
    assert message in results[1]["reason"]
    assert _versions(bad) == before
    assert StixObject.objects.filter(stix_id=good()["id"]).count() == 1


@pytest.mark.parametrize("case", sorted(BAD))
def test_it_lists_the_failure_beside_the_successes_over_taxii(
    lab_a: Member, shared: Collection, client_for: Callable[..., APIClient], case: str
) -> None:
    bad, raw, message = BAD[case]
    objects = [case_definition(), bad, good()]
    before = _versions(bad)
    response = Taxii(client_for(lab_a)).post(
        collection_url(shared, "objects/"), body_text({"objects": objects}, raw)
    )
    assert response.status_code == 202, response.content
    assert response["Content-Type"] == TAXII
    status = response.json()
    assert (status["status"], status["success_count"], status["failure_count"]) == (
        "complete",
        2,
        1,
    )
    assert {s["id"] for s in status["successes"]} == {CASE_EXTENSION, good()["id"]}
    [failure] = status["failures"]
    assert failure["id"] == bad["id"]
    assert message in failure["message"]
    assert _versions(bad) == before


def test_it_refuses_an_envelope_of_only_bad_objects_with_422(lab_client: APIClient) -> None:
    response = lab_client.post(
        URL,
        json.dumps([bad_indicator(name=5), bad_indicator(labels="x")]),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["refused"] == 2
    assert not StixObject.objects.filter(type="indicator").exists()


@pytest.mark.parametrize(
    "selector", ["external_references.[0].url", "kill_chain_phases.[0].phase_name"]
)
def test_it_accepts_granular_selectors_into_list_items(
    lab_client: APIClient, selector: str
) -> None:
    indicator = samples.ip_range_indicator(
        LAB_A_ID,
        external_references=[{"source_name": "case", "url": "https://example.org/1142"}],
        kill_chain_phases=[{"kill_chain_name": "ai-isac", "phase_name": "bulk-extraction"}],
        granular_markings=[{"marking_ref": TLP2_GREEN, "selectors": [selector]}],
    )
    response = lab_client.post(URL, json.dumps([indicator]), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1


def test_it_accepts_meta_objects_without_a_creator(lab_client: APIClient) -> None:
    unsigned = statement()
    translation = {
        "type": "language-content",
        "spec_version": "2.1",
        "id": _id("language-content", 1),
        "created": T,
        "modified": T,
        "object_ref": good()["id"],
        "object_modified": T,
        "contents": {"de": {"name": "Egress-Bereich"}},
    }
    response = lab_client.post(
        URL, json.dumps([unsigned, translation]), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    for obj in (unsigned, translation):
        assert without_signatures(json.loads(StixObject.objects.get(stix_id=obj["id"]).raw)) == obj


def test_it_stores_a_custom_sdo_exactly_as_validated(lab_client: APIClient) -> None:
    case = custom_case(labels=["case"], external_references=[{"source_name": "case"}])
    response = lab_client.post(
        URL, json.dumps([case_definition(), case]), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    stored = json.loads(StixObject.objects.get(stix_id=case["id"]).raw)
    assert without_signatures(stored) == case
