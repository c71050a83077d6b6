"""Members' public keys: the JWK Set of each identity, and registering a lab's own key."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from members.models import Member
from members.permissions import HasPublishScope
from members.selectors import member_jwks
from signatures.services import signing_key_register


class MemberSelfView(APIView):
    """``/api/v1/members/me/``: who the token speaks for (its member's name, kind and STIX
    identity), so that a lab's tools can sign and sight as it without being told."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        return Response(
            {
                "name": member.name,
                "display_name": member.display_name,
                "kind": member.kind,
                "identity_id": member.identity_id,
            }
        )


class MemberJwksView(APIView):
    """``/api/v1/members/<identity-id>/jwks.json``: the identity's JWK Set (RFC 7517 s. 5).

    Every key the member ever had, with its life (docs/signing.md section 5); 404 for an
    identity that is not a member.
    """

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, identity_id: str) -> Response:
        member = get_object_or_404(Member, identity_id=identity_id)
        return Response(member_jwks(member))


class MemberKeyRegisterView(APIView):
    """``POST /api/v1/members/me/keys/``: register the caller's own Ed25519 public JWK."""

    permission_classes = [HasPublishScope]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError("The body must be a JWK (a JSON object).")
        try:
            key = signing_key_register(member=member, jwk=request.data, actor_member=member)
        except ValidationError as exc:
            raise exceptions.ValidationError(" ".join(exc.messages)) from exc
        return Response(key.published_jwk(), status=201)
