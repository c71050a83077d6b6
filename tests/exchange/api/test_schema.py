"""exchange/api/schema.py: what the OpenAPI description says of tokens, bodies, errors and the
TAXII views, and that the server answers what it says."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from members.models import Member
from signatures.selectors import collection_default
from tests import stix_samples as samples
from tests.exchange.taxii.conftest import TAXII, Taxii, collection_url, indicator

OBJECTS = "/{api_root}/collections/{collection_id}/objects/"
OBJECT = OBJECTS + "{object_id}/"


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.content)
    return document


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


def answer_codes(operation: dict[str, Any]) -> set[str]:
    """The statuses documented with another body than the error envelope, or none."""
    error = {"schema": {"$ref": "#/components/schemas/Error"}}
    return {
        code
        for code, response in operation["responses"].items()
        if error not in response.get("content", {}).values()
    }


def body_schema(operation: dict[str, Any], code: str) -> dict[str, Any]:
    (media,) = operation["responses"][code]["content"].values()
    return media["schema"]  # type: ignore[no-any-return]


def assert_matches(schema: dict[str, Any], component: str, instance: Any) -> None:
    """``instance`` is valid by the document's component (its references resolved in it)."""
    root = {"$ref": f"#/components/schemas/{component}", "components": schema["components"]}
    jsonschema.Draft7Validator(root).validate(instance)


def test_it_is_a_valid_openapi_document(schema: dict[str, Any]) -> None:
    validate_schema(schema)


def test_it_describes_bearer_and_basic_tokens_as_alternatives(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert (schemes["bearerAuth"]["scheme"], schemes["basicAuth"]["scheme"]) == ("bearer", "basic")
    for key, operation in operations(schema).items():
        # Two requirements, each alone: either header authenticates.
        assert operation["security"] == [{"bearerAuth": []}, {"basicAuth": []}], key


def test_it_names_taxii_operations_after_their_view_uniquely(schema: dict[str, Any]) -> None:
    ops = operations(schema)
    assert ops[("/taxii2/", "get")]["operationId"] == "DiscoveryView_get"
    assert ops[(OBJECTS, "get")]["operationId"] == "ObjectsView_get"
    assert ops[(OBJECTS, "post")]["operationId"] == "ObjectsView_post"
    ids = [operation["operationId"] for operation in ops.values()]
    assert len(ids) == len(set(ids))


def test_it_lists_no_catch_all_path(schema: dict[str, Any]) -> None:
    # The views that answer 404 on any other path (exchange/taxii/base.py NotFoundView).
    assert "/taxii2/." not in schema["paths"]
    assert "/{api_root}/." not in schema["paths"]
    assert [path for path in schema["paths"] if path.rstrip("/").endswith(".")] == []


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        # TAXII 2.1 section 5.5: Add Objects answers 202 with the status resource.
        (OBJECTS, "post", {"202"}),
        # Section 5.7: Delete An Object answers 200, without a body.
        (OBJECT, "delete", {"200"}),
        ("/api/v1/objects/", "post", {"200", "207", "422"}),
        ("/api/v1/members/me/keys/", "post", {"201"}),
        ("/api/v1/subscriptions/", "post", {"201"}),
        ("/api/v1/subscriptions/{subscription_id}/", "delete", {"204"}),
    ],
)
def test_it_documents_the_status_the_server_answers(
    schema: dict[str, Any], path: str, method: str, codes: set[str]
) -> None:
    assert answer_codes(operations(schema)[(path, method)]) == codes


def test_it_documents_every_error_in_the_envelope(schema: dict[str, Any]) -> None:
    error = {"$ref": "#/components/schemas/Error"}
    for (path, method), operation in operations(schema).items():
        expected = {"401", "403", "406", "429", "503"}
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"400", "413", "415"}
        responses = operation["responses"]
        assert expected <= set(responses), (path, method)
        media_type = "application/json" if path.startswith("/api/") else TAXII
        for code in expected:
            assert responses[code]["content"] == {media_type: {"schema": error}}, (path, code)


def test_it_types_the_publish_request_and_report(schema: dict[str, Any]) -> None:
    publish = operations(schema)[("/api/v1/objects/", "post")]
    request = publish["requestBody"]
    assert request["required"] is True
    assert request["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PublishRequest"
    }
    alternatives = schema["components"]["schemas"]["PublishRequest"]["oneOf"]
    assert alternatives == [
        {"$ref": "#/components/schemas/StixBundle"},
        {"type": "array", "items": {"$ref": "#/components/schemas/StixObject"}},
    ]
    for code in ("200", "207", "422"):
        assert body_schema(publish, code) == {"$ref": "#/components/schemas/PublishReport"}
    result = schema["components"]["schemas"]["PublishResult"]
    assert set(result["properties"]) == {"index", "id", "status", "modified", "reason"}


def test_it_takes_taxii_envelopes_in_both_media_types(schema: dict[str, Any]) -> None:
    content = operations(schema)[(OBJECTS, "post")]["requestBody"]["content"]
    assert set(content) == {TAXII, "application/stix+json;version=2.1"}
    assert {media["schema"]["$ref"] for media in content.values()} == {
        "#/components/schemas/TaxiiEnvelopeRequest"
    }


def test_the_publish_answers_are_what_the_schema_says(
    schema: dict[str, Any], lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    valid = samples.ip_range_indicator(lab_a.identity_id)
    refused = {"type": "indicator", "id": "indicator--not-a-uuid"}
    response = client_for(lab_a).post(
        "/api/v1/objects/", data=json.dumps([valid, refused]), content_type="application/json"
    )
    assert response.status_code == 207
    assert_matches(schema, "PublishReport", response.json())

    unauthenticated = APIClient().get("/api/v1/objects/")
    assert unauthenticated.status_code == 401
    assert_matches(schema, "Error", unauthenticated.json())


def test_the_taxii_answers_are_what_the_schema_says(
    schema: dict[str, Any], lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    lab, feed = Taxii(client_for(lab_a)), collection_default()
    envelope = {"objects": [indicator(lab_a.identity_id, 1)]}
    added = lab.post(collection_url(feed, "objects/"), envelope)
    assert added.status_code == 202
    assert_matches(schema, "TaxiiStatus", added.json())
    for suffix, component in [
        ("objects/", "TaxiiEnvelope"),
        ("manifest/", "TaxiiManifest"),
        ("objects/indicator--00000000-0000-4000-8000-000000000001/versions/", "TaxiiVersions"),
    ]:
        response = lab.get(collection_url(feed, suffix))
        assert response.status_code == 200, suffix
        assert_matches(schema, component, response.json())
    deleted = lab.delete(
        collection_url(feed, "objects/indicator--00000000-0000-4000-8000-000000000001/")
    )
    assert deleted.status_code == 200


@pytest.mark.parametrize(
    ("path", "method", "names"),
    [
        (OBJECTS, "get", {"added_after", "match[id]", "match[type]", "match[version]"}),
        (OBJECT, "get", {"added_after", "match[version]", "limit", "next"}),
        (OBJECT + "versions/", "get", {"added_after", "match[spec_version]", "limit", "next"}),
        (OBJECT, "delete", {"match[version]", "match[spec_version]"}),
    ],
)
def test_it_documents_the_taxii_filters_each_endpoint_reads(
    schema: dict[str, Any], path: str, method: str, names: set[str]
) -> None:
    parameters = operations(schema)[(path, method)]["parameters"]
    query = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
    assert names <= query
    if method == "delete":
        assert query == names
