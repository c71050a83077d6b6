"""How the OpenAPI schema (drf-spectacular, ``/api/schema/``) describes what it cannot infer.

- Authentication: a member's token as ``Authorization: Bearer`` or HTTP Basic (account,
  token), either one (members/authentication.py).
- TAXII views answer TAXII envelopes and resources whose shape the TAXII 2.1 specification
  defines, not a DRF serializer; they are described as JSON objects, with operation ids
  named after the view, so that each endpoint keeps a stable, unique id.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes


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
    """For views whose bodies are JSON objects defined by a specification, not a serializer."""

    def get_operation_id(self) -> str:
        return f"{type(self.view).__name__}_{self.method.lower()}"

    def get_request_serializer(self) -> Any:
        return OpenApiTypes.OBJECT if self.method in {"POST", "PUT", "PATCH"} else None

    def get_response_serializers(self) -> Any:
        return OpenApiTypes.OBJECT
