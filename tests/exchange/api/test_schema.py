"""exchange/api/schema.py: what the OpenAPI description says of tokens and TAXII views."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

TAXII_PATHS = {"/taxii2/", "/{api_root}/", "/{api_root}/collections/{collection_id}/objects/"}


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


def test_it_describes_bearer_and_basic_tokens_as_alternatives(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert (schemes["bearerAuth"]["scheme"], schemes["basicAuth"]["scheme"]) == ("bearer", "basic")
    for key, operation in operations(schema).items():
        # Two requirements, each alone: either header authenticates.
        assert operation["security"] == [{"bearerAuth": []}, {"basicAuth": []}], key


def test_it_names_taxii_operations_after_their_view_uniquely(schema: dict[str, Any]) -> None:
    ops = operations(schema)
    assert ops[("/taxii2/", "get")]["operationId"] == "DiscoveryView_get"
    objects = "/{api_root}/collections/{collection_id}/objects/"
    assert ops[(objects, "get")]["operationId"] == "ObjectsView_get"
    assert ops[(objects, "post")]["operationId"] == "ObjectsView_post"
    ids = [operation["operationId"] for operation in ops.values()]
    assert len(ids) == len(set(ids))


def test_it_describes_taxii_bodies_as_json_objects(schema: dict[str, Any]) -> None:
    ops = operations(schema)
    objects = "/{api_root}/collections/{collection_id}/objects/"
    request = ops[(objects, "post")]["requestBody"]["content"]
    assert {body["schema"]["type"] for body in request.values()} == {"object"}
    assert "requestBody" not in ops[(objects, "get")]
    for path in TAXII_PATHS:
        for response in ops[(path, "get")]["responses"].values():
            assert {body["schema"]["type"] for body in response["content"].values()} == {"object"}
