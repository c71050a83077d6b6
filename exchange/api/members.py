"""Members: who a token speaks for, their public keys (each identity's JWK Set and the whole
exchange's), and registering a lab's own key."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiRequest, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api.schema import ref
from exchange.taxii.discovery import api_root_url
from members.authentication import request_token
from members.models import Member
from members.permissions import HasPublishScope
from members.selectors import exchange_jwks, member_jwks
from signatures.selectors import collections_visible_to
from signatures.services import signing_key_register


class MemberSelfView(APIView):
    """``/api/v1/members/me/``: who the token speaks for, and what it may do.

    The member's name, kind and STIX identity (so that a lab's tools can sign and sight as it
    without being told), the token's scopes, and the collections the member may read or
    write, each with its TAXII URL (docs/api.md).
    """

    @extend_schema(responses={200: ref("MemberSelf")})
    def get(self, request: Request) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        token = request_token(request)
        collections = collections_visible_to(member).order_by("api_root", "title", "id")
        return Response(
            {
                "name": member.name,
                "display_name": member.display_name,
                "kind": member.kind,
                "identity_id": member.identity_id,
                "scopes": sorted(token.scopes) if token is not None else [],
                "collections": [
                    {
                        "id": str(collection.id),
                        "title": collection.title,
                        "alias": collection.alias,
                        "api_root": collection.api_root,
                        "taxii_url": (
                            f"{api_root_url(request, collection.api_root)}"
                            f"collections/{collection.id}/"
                        ),
                        "default": collection.is_default,
                        "can_read": collection.can_read,
                        "can_write": collection.can_write,
                    }
                    for collection in collections
                ],
            }
        )


class MemberJwksView(APIView):
    """``/api/v1/members/<identity-id>/jwks.json``: the identity's JWK Set (RFC 7517 s. 5).

    Every key the member ever had, with its life (docs/signing.md section 5); 404 for an
    identity that is not a member.
    """

    @extend_schema(responses={200: ref("JwkSet")})
    def get(self, request: Request, identity_id: str) -> Response:
        member = get_object_or_404(Member, identity_id=identity_id)
        return Response(member_jwks(member))


class ExchangeJwksView(APIView):
    """``/api/v1/jwks.json``: every member's keys in one JWK Set (RFC 7517 s. 5).

    What ``isac-verify --exchange URL`` reads: one set verifies objects from every publisher,
    the Forum's countersignatures and the transport signature. Each key names its ``signee``
    and carries its life (``valid_from``, ``valid_until``, ``revoked``), so retired and
    revoked keys are here too (docs/signing.md section 5).
    """

    @extend_schema(responses={200: ref("JwkSet")})
    def get(self, request: Request) -> Response:
        return Response(exchange_jwks())


class MemberKeyRegisterView(APIView):
    """``POST /api/v1/members/me/keys/``: register the caller's own Ed25519 public JWK."""

    permission_classes = [HasPublishScope]

    @extend_schema(request=OpenApiRequest(ref("JwkRegister")), responses={201: ref("Jwk")})
    def post(self, request: Request) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError("The body must be a JWK (a JSON object).")
        try:
            key = signing_key_register(member=member, jwk=request.data, actor_member=member)
        except ValidationError as exc:
            raise exceptions.ValidationError(" ".join(exc.messages)) from exc
        return Response(key.published_jwk(), status=201)
