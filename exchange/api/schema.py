"""How the OpenAPI schema (drf-spectacular, ``/api/schema/``) describes what it cannot infer.

- Authentication: a member's token as ``Authorization: Bearer`` or HTTP Basic (account,
  token), either one (members/authentication.py).
- Bodies: STIX objects, the publish request and report, the TAXII 2.1 resources and the
  members' keys are JSON shapes defined by a specification or a service, not by a DRF
  serializer; they are the JSON Schema components of :data:`COMPONENTS`, which views name
  with :func:`ref` in their ``extend_schema`` and :func:`schema_complete` adds to the
  document.
- Errors: every answer in the error envelope (exchange/api/exceptions.py) that an operation
  can give is documented by :func:`schema_complete`, from what the operation has: every
  one needs a token (401, 403, 406, 429, 503), path parameters name something that may not
  be there (404), parameters and bodies may be malformed (400), bodies too large or of
  another media type (413, 415).
- TAXII views answer in the TAXII media type; their operation ids are named after the
  view, so that each endpoint keeps a stable, unique id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from exchange.api.query import NUMBER_MAX
from exchange.taxii.media import TAXII_MEDIA_TYPE


class MemberTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "members.authentication.TokenAuthentication"
    name = ["bearerAuth", "basicAuth"]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, str]]:
        return [
            {"type": "http", "scheme": "bearer", "description": "A member's API token."},
            {
                "type": "http",
                "scheme": "basic",
                "description": "The member's account name and an API token (TAXII clients).",
            },
        ]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[Any]]]:
        # Either scheme alone authenticates (OpenAPI: a list of requirements is an OR).
        return [{"bearerAuth": []}, {"basicAuth": []}]


class JsonObjectSchema(AutoSchema):
    """For views whose bodies are JSON objects defined by a specification, not a serializer.

    A view's ``extend_schema`` names the exact shape; these are the defaults.
    """

    def get_operation_id(self) -> str:
        return f"{type(self.view).__name__}_{self.method.lower()}"

    def get_request_serializer(self) -> Any:
        return OpenApiTypes.OBJECT if self.method in {"POST", "PUT", "PATCH"} else None

    def get_response_serializers(self) -> Any:
        return OpenApiTypes.OBJECT


#: What a TAXII Add Objects may be sent as (exchange/taxii/media.py takes either).
TAXII_POSTED_MEDIA_TYPES: Final = (TAXII_MEDIA_TYPE, "application/stix+json;version=2.1")


def ref(name: str) -> dict[str, str]:
    """A reference to one of :data:`COMPONENTS`."""
    assert name in COMPONENTS, name
    return {"$ref": f"#/components/schemas/{name}"}


def _query_parameters() -> dict[str, OpenApiParameter]:
    text = "Comma-separated; an object matches any of them."
    return {
        "added_after": OpenApiParameter(
            "added_after", STIX_TIMESTAMP, description="Only what was added after this instant."
        ),
        "match[id]": OpenApiParameter("match[id]", QUERY_TEXT, description=f"STIX ids. {text}"),
        "match[type]": OpenApiParameter(
            "match[type]", QUERY_TEXT, description=f"STIX types. {text}"
        ),
        "match[version]": OpenApiParameter(
            "match[version]",
            _array({"oneOf": [{**_STRING, "enum": ["first", "last", "all"]}, STIX_TIMESTAMP]}),
            style="form",
            explode=False,
            description="Versions: first, last, all or a modified timestamp. "
            f"{text} Default: last (all on DELETE).",
        ),
        "match[spec_version]": OpenApiParameter(
            "match[spec_version]", QUERY_TEXT, description=f"STIX versions. {text}"
        ),
        "limit": OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": NUMBER_MAX},
            description=f"Page size; above {settings.MAX_PAGE_SIZE}, {settings.MAX_PAGE_SIZE}.",
        ),
        "next": OpenApiParameter("next", str, description="The cursor of the next page."),
    }


def taxii_parameters(filters: Iterable[str], *, paged: bool = True) -> list[OpenApiParameter]:
    """The query parameters of a TAXII endpoint (section 3.4): its filters, and the page
    parameters (section 3.5) where it pages."""
    parameters = _query_parameters()
    names = [name for name in parameters if name in set(filters)]
    return [parameters[name] for name in names + (["limit", "next"] if paged else [])]


def _array(items: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **more}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


_STRING: Final[dict[str, Any]] = {"type": "string"}
_BOOLEAN: Final[dict[str, Any]] = {"type": "boolean"}
_COUNT: Final[dict[str, Any]] = {"type": "integer", "minimum": 0}
# The forms signatures/validation.py checks (_IDENTIFIER, _TIMESTAMP), as JSON Schema.
_UUID: Final = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_STIX_TYPE: Final = "[a-z0-9][a-z0-9-]{1,248}[a-z0-9]"
#: A STIX 2.1 object type (section 2.9): lowercase, 3 to 250 characters.
STIX_TYPE: Final[dict[str, Any]] = {"type": "string", "pattern": f"^{_STIX_TYPE}$"}
#: A STIX 2.1 identifier (section 2.9): ``<type>--<UUID>``, lowercase.
STIX_ID: Final[dict[str, Any]] = {"type": "string", "pattern": f"^{_STIX_TYPE}--{_UUID}$"}
#: A STIX 2.1 timestamp (section 3.2): UTC, ``Z``, up to nanoseconds.
STIX_TIMESTAMP: Final[dict[str, Any]] = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$",
}
#: A query parameter's value, as exchange/api/query.py reads every one: no control
#: characters, at most QUERY_VALUE_MAX_LENGTH characters.
QUERY_TEXT: Final[dict[str, Any]] = {
    "type": "string",
    "maxLength": 4096,
    "pattern": "^[^\\u0000-\\u001f\\u007f]*$",
}
#: An Ed25519 public key, 32 bytes in unpadded base64url (RFC 8037 section 2).
_ED25519_X: Final[dict[str, Any]] = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$",
}
#: The cursor ``more`` pages carry, REST and TAXII.
_PAGE: Final[dict[str, Any]] = {
    "more": {**_BOOLEAN, "description": "Whether another page follows."},
    "next": {**_STRING, "description": "Pass as ``next`` to read the next page."},
}

#: The JSON shapes the exchange's views take and answer, by component name.
COMPONENTS: Final[dict[str, dict[str, Any]]] = {
    "Error": {
        "type": "object",
        "description": "The error envelope of every API error, REST or TAXII (TAXII 2.1 "
        "section 3.6.1).",
        "required": ["title", "description", "http_status", "error_code"],
        "properties": {
            "title": _STRING,
            "description": {**_STRING, "description": "What was wrong, for a person."},
            "http_status": {**_STRING, "pattern": "^[45][0-9]{2}$"},
            "error_code": {**_STRING, "description": "What was wrong, for a program."},
        },
    },
    "StixObject": {
        "type": "object",
        "description": "A STIX 2.1 object (docs/profile.md). Its other properties are checked "
        "object by object when it is published.",
        "required": ["type", "id"],
        "properties": {
            "type": STIX_TYPE,
            "id": STIX_ID,
            "spec_version": {**_STRING, "enum": ["2.1"]},
        },
        "additionalProperties": True,
    },
    "StixBundle": {
        "type": "object",
        "description": "A STIX 2.1 bundle (section 8).",
        "required": ["type", "id", "objects"],
        "properties": {
            "type": {**_STRING, "enum": ["bundle"]},
            "id": {**_STRING, "pattern": f"^bundle--{_UUID}$"},
            "objects": _array({"$ref": "#/components/schemas/StixObject"}),
        },
    },
    "PublishRequest": {
        "description": "The objects to publish: a STIX bundle or a JSON list of STIX "
        f"objects, at most {settings.MAX_OBJECTS_PER_REQUEST} (413 above).",
        "oneOf": [
            {"$ref": "#/components/schemas/StixBundle"},
            _array({"$ref": "#/components/schemas/StixObject"}),
        ],
    },
    "PublishResult": {
        "type": "object",
        "description": "What became of one object of the request.",
        "required": ["index", "id", "status"],
        "properties": {
            "index": {**_COUNT, "description": "Its position in the request."},
            "id": _nullable({**_STRING, "description": "Its STIX id, if it had one."}),
            "status": {
                **_STRING,
                "enum": ["accepted", "present", "refused"],
                "description": "accepted: stored now; present: this (id, modified) was "
                "stored already; refused: not stored, ``reason`` says why.",
            },
            "modified": {**_STRING, "description": "Its version: modified, else created."},
            "reason": {**_STRING, "description": "Why it was refused."},
        },
    },
    "PublishReport": {
        "type": "object",
        "description": "One result per object, in the request's order, and their counts.",
        "required": ["accepted", "present", "refused", "results"],
        "properties": {
            "accepted": _COUNT,
            "present": _COUNT,
            "refused": _COUNT,
            "results": _array({"$ref": "#/components/schemas/PublishResult"}),
        },
    },
    "ObjectPage": {
        "type": "object",
        "required": ["more", "objects"],
        "properties": {
            **_PAGE,
            "objects": _array({"$ref": "#/components/schemas/StixObject"}),
        },
    },
    "ObjectVersions": {
        "type": "object",
        "required": ["id", "versions"],
        "properties": {
            "id": _STRING,
            "versions": _array({"$ref": "#/components/schemas/StixObject"}),
        },
    },
    "Corroboration": {
        "type": "object",
        "description": "Other labs' sightings of an object (docs/api.md).",
        "required": ["indicator", "labs", "sightings", "count", "first_seen", "last_seen"],
        "properties": {
            "indicator": _STRING,
            "labs": _array(_STRING, description="The identities that sighted it."),
            "sightings": {**_COUNT, "description": "Sighting objects."},
            "count": {**_COUNT, "description": "The sum of their count properties."},
            "first_seen": _nullable(_STRING),
            "last_seen": _nullable(_STRING),
        },
    },
    "MemberSelf": {
        "type": "object",
        "description": "Who the token speaks for, and what it may do.",
        "required": [
            "name",
            "display_name",
            "kind",
            "identity_id",
            "scopes",
            "collections",
        ],
        "properties": {
            "name": _STRING,
            "display_name": _STRING,
            "kind": _STRING,
            "identity_id": _STRING,
            "scopes": _array(_STRING),
            "collections": _array(
                {
                    "type": "object",
                    "required": ["id", "title", "api_root", "taxii_url", "can_read", "can_write"],
                    "properties": {
                        "id": {**_STRING, "format": "uuid"},
                        "title": _STRING,
                        "alias": _STRING,
                        "api_root": _STRING,
                        "taxii_url": {**_STRING, "format": "uri"},
                        "default": _BOOLEAN,
                        "can_read": _BOOLEAN,
                        "can_write": _BOOLEAN,
                    },
                }
            ),
        },
    },
    "Jwk": {
        "type": "object",
        "description": "An Ed25519 public key (RFC 8037) with its life (docs/signing.md "
        "section 5).",
        "required": ["kty", "crv", "x", "kid", "use", "alg"],
        "properties": {
            "kty": {**_STRING, "enum": ["OKP"]},
            "crv": {**_STRING, "enum": ["Ed25519"]},
            "x": _ED25519_X,
            "kid": {**_STRING, "description": "The RFC 7638 thumbprint."},
            "use": {**_STRING, "enum": ["sig"]},
            "alg": {**_STRING, "enum": ["EdDSA"]},
            "signee": {**_STRING, "description": "The STIX identity the key signs for."},
            "valid_from": _STRING,
            "valid_until": _STRING,
            "revoked": _STRING,
            "revocation_reason": _STRING,
        },
    },
    "JwkSet": {
        "type": "object",
        "required": ["keys"],
        "properties": {"keys": _array({"$ref": "#/components/schemas/Jwk"})},
    },
    "JwkRegister": {
        "type": "object",
        "description": "A lab's own Ed25519 public key. The exchange computes ``kid``; one "
        "sent must be the key's RFC 7638 thumbprint, so the schema leaves it out.",
        "required": ["kty", "crv", "x"],
        "properties": {
            "kty": {**_STRING, "enum": ["OKP"]},
            "crv": {**_STRING, "enum": ["Ed25519"]},
            "x": _ED25519_X,
        },
        "additionalProperties": False,
    },
    "TaxiiDiscovery": {
        "type": "object",
        "description": "TAXII 2.1 section 4.1.1.",
        "required": ["title"],
        "properties": {
            "title": _STRING,
            "description": _STRING,
            "contact": _STRING,
            "default": {**_STRING, "format": "uri"},
            "api_roots": _array({**_STRING, "format": "uri"}),
        },
    },
    "TaxiiApiRoot": {
        "type": "object",
        "description": "TAXII 2.1 section 4.2.1.",
        "required": ["title", "versions", "max_content_length"],
        "properties": {
            "title": _STRING,
            "description": _STRING,
            "versions": _array(_STRING),
            "max_content_length": _COUNT,
        },
    },
    "TaxiiCollection": {
        "type": "object",
        "description": "TAXII 2.1 section 5.2.1; can_read and can_write are the caller's.",
        "required": ["id", "title", "can_read", "can_write"],
        "properties": {
            "id": {**_STRING, "format": "uuid"},
            "title": _STRING,
            "description": _STRING,
            "alias": _STRING,
            "can_read": _BOOLEAN,
            "can_write": _BOOLEAN,
            "media_types": _array(_STRING),
        },
    },
    "TaxiiCollections": {
        "type": "object",
        "description": "TAXII 2.1 section 5.1; ``collections`` is absent when there is none.",
        "properties": {"collections": _array({"$ref": "#/components/schemas/TaxiiCollection"})},
    },
    "TaxiiEnvelope": {
        "type": "object",
        "description": "TAXII 2.1 section 3.7.",
        "required": ["more"],
        "properties": {
            **_PAGE,
            "objects": _array({"$ref": "#/components/schemas/StixObject"}),
        },
    },
    "TaxiiEnvelopeRequest": {
        "type": "object",
        "description": "TAXII 2.1 section 3.7: the objects to add, at most "
        f"{settings.MAX_OBJECTS_PER_REQUEST} (413 above). Each is checked on its own; the "
        "status resource reports the ones refused.",
        "required": ["objects"],
        "properties": {"objects": _array({"$ref": "#/components/schemas/StixObject"})},
    },
    "TaxiiManifest": {
        "type": "object",
        "description": "TAXII 2.1 section 5.3.1.",
        "required": ["more"],
        "properties": {
            **_PAGE,
            "objects": _array(
                {
                    "type": "object",
                    "required": ["id", "date_added", "version", "media_type"],
                    "properties": {
                        "id": STIX_ID,
                        "date_added": STIX_TIMESTAMP,
                        "version": STIX_TIMESTAMP,
                        "media_type": _STRING,
                    },
                }
            ),
        },
    },
    "TaxiiVersions": {
        "type": "object",
        "description": "TAXII 2.1 section 5.8.1.",
        "required": ["more"],
        "properties": {**_PAGE, "versions": _array(STIX_TIMESTAMP)},
    },
    "TaxiiStatus": {
        "type": "object",
        "description": "TAXII 2.1 section 4.3.1; empty detail lists are left out.",
        "required": [
            "id",
            "status",
            "total_count",
            "success_count",
            "failure_count",
            "pending_count",
        ],
        "properties": {
            "id": {**_STRING, "format": "uuid"},
            "status": {**_STRING, "enum": ["complete", "pending"]},
            "request_timestamp": STIX_TIMESTAMP,
            "total_count": _COUNT,
            "success_count": _COUNT,
            "failure_count": _COUNT,
            "pending_count": _COUNT,
            **{
                name: _array({"$ref": "#/components/schemas/TaxiiStatusDetails"})
                for name in ("successes", "failures", "pendings")
            },
        },
    },
    "TaxiiStatusDetails": {
        "type": "object",
        "description": "TAXII 2.1 section 4.3.2.",
        "required": ["id", "version"],
        "properties": {"id": _STRING, "version": _STRING, "message": _STRING},
    },
}

#: What each error status means, whatever the endpoint (exchange/api/exceptions.py).
ERRORS: Final[dict[str, str]] = {
    "400": "A parameter or the body is malformed; the description names which.",
    "401": "No credentials, or credentials that are not a valid token (``WWW-Authenticate`` "
    "names both schemes).",
    "403": "The token lacks the scope, or the member the right, to do this.",
    "404": "Nothing the caller may see is at this path.",
    "406": "The Accept header allows no media type this endpoint answers with.",
    "413": f"The body is over {settings.MAX_CONTENT_LENGTH} bytes or carries more than "
    f"{settings.MAX_OBJECTS_PER_REQUEST} objects.",
    "415": "The body's Content-Type is not one this endpoint takes; the description lists "
    "those it does.",
    "429": "Over the member's rate or concurrency limit; ``Retry-After`` says when to try "
    "again (docs/api.md).",
    "503": "The database is briefly unavailable (a failover); ``Retry-After`` says when to try "
    "again.",
}


def _error_codes(path: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer, from what it has."""
    codes = ["401", "403", "406", "429", "503"]
    parameters = operation.get("parameters", [])
    if "{" in path:
        codes.append("404")
    if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
        codes.append("400")
    if "requestBody" in operation:
        codes += ["413", "415"]
    return sorted(codes)


def _body_required(operation: dict[str, Any]) -> None:
    """A body that is one of :data:`COMPONENTS` is required: each view refuses none (400)."""
    body = operation.get("requestBody")
    if body is None:
        return
    names = {media.get("schema", {}).get("$ref", "") for media in body["content"].values()}
    if all(name.removeprefix("#/components/schemas/") in COMPONENTS for name in names):
        body["required"] = True


def _errors_document(path: str, operation: dict[str, Any]) -> None:
    media_type = "application/json" if path.startswith("/api/") else TAXII_MEDIA_TYPE
    responses = operation.setdefault("responses", {})
    for code in _error_codes(path, operation):
        responses.setdefault(
            code,
            {"description": ERRORS[code], "content": {media_type: {"schema": ref("Error")}}},
        )


def _path_parameters_type(operation: dict[str, Any]) -> None:
    """What the URL converters cannot say: the API roots there are, and ids that are UUIDs
    (any other value answers 404 all the same)."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        if parameter["name"] == "api_root":
            parameter["schema"] = {"type": "string", "enum": list(settings.TAXII_API_ROOTS)}
        elif parameter["name"] in {"collection_id", "status_id"}:
            parameter["schema"] = {"type": "string", "format": "uuid"}


def schema_complete(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook (SPECTACULAR_SETTINGS): what no view's annotations can say."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    for path, methods in result.get("paths", {}).items():
        for operation in methods.values():
            _body_required(operation)
            _path_parameters_type(operation)
            _errors_document(path, operation)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    # exchange/api/query.py reads an empty value as the parameter left out.
                    parameter["allowEmptyValue"] = True
    return result
