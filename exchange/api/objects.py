"""REST API over stored objects (docs/api.md): publish (POST) and read with visibility (GET)."""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiRequest, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api.filters import ObjectFilter
from exchange.api.pagination import Keyset, page_fetch
from exchange.api.parsers import objects_count_check
from exchange.api.query import NUMBER_MAX, query_value
from exchange.api.renderers import stored_json
from exchange.api.schema import QUERY_TEXT, STIX_TIMESTAMP, ref
from members.models import Member
from members.permissions import ReadOrPublishByMethod
from signatures.selectors import objects_visible_to, sightings_corroborating
from signatures.services import PublishForbidden, objects_publish


def objects_from_body(body: Any) -> list[Any]:
    """The objects of a STIX bundle or of a plain JSON list."""
    objects: Any = body
    if isinstance(body, dict) and body.get("type") == "bundle":
        objects = body.get("objects")
        if not isinstance(objects, list):
            raise exceptions.ValidationError("A bundle needs an 'objects' list.")
        bundle_id = body.get("id")
        if not isinstance(bundle_id, str) or not bundle_id.startswith("bundle--"):
            raise exceptions.ValidationError("A bundle needs an 'id' of the form bundle--<uuid>.")
    elif not isinstance(body, list):
        raise exceptions.ValidationError(
            'The body must be a STIX bundle ({"type": "bundle", ...}) or a JSON list of objects.'
        )
    objects_count_check(objects)
    return list(objects)


#: The list is in the order objects were stored in (by primary key), oldest first.
OBJECT_KEYSET: Final = Keyset(names=("pk",), kinds=(int,))
#: Objects on a page without ``limit``.
DEFAULT_PAGE_SIZE: Final = 100

_FILTERS = [
    OpenApiParameter("type", QUERY_TEXT, description="Only objects of this STIX type."),
    OpenApiParameter(
        "created_by_ref", QUERY_TEXT, description="Only objects by this identity (its id)."
    ),
    OpenApiParameter(
        "added_after", STIX_TIMESTAMP, description="Only objects received after this instant."
    ),
    OpenApiParameter("revoked", bool, description="Only revoked (true) or unrevoked (false)."),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": NUMBER_MAX},
        description=f"Page size; above {settings.MAX_PAGE_SIZE}, {settings.MAX_PAGE_SIZE}.",
    ),
    OpenApiParameter("next", str, description="The cursor of the next page, as answered."),
]
#: REST publish answers: the report, whatever the outcome of each object.
_PUBLISHED = {
    200: OpenApiResponse(ref("PublishReport"), description="Every object was stored or present."),
    207: OpenApiResponse(ref("PublishReport"), description="Some objects were refused."),
    422: OpenApiResponse(ref("PublishReport"), description="Every object was refused."),
}


class ObjectListView(APIView):
    """``/api/v1/objects/``: publish a bundle (POST) or list visible objects (GET)."""

    permission_classes = [ReadOrPublishByMethod]

    @extend_schema(parameters=_FILTERS, responses={200: ref("ObjectPage")})
    def get(self, request: Request) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        params = request.query_params
        objects = ObjectFilter.from_query(params).apply(objects_visible_to(member))
        page = page_fetch(objects, OBJECT_KEYSET, params, "raw", default_limit=DEFAULT_PAGE_SIZE)
        body: dict[str, Any] = {
            "more": page.more,
            "objects": [stored_json(raw) for _, raw in page.rows],
        }
        if page.next is not None:
            body["next"] = page.next
        return Response(body)

    @extend_schema(
        request=OpenApiRequest(ref("PublishRequest")),
        responses=_PUBLISHED,
        parameters=[
            OpenApiParameter(
                "via",
                str,
                enum=["forum"],
                description="forum: share anonymously; the Forum re-publishes and signs "
                "each object as its own (docs/signing.md section 11).",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        via = query_value(request.query_params, "via") or ""
        if via not in {"", "forum"}:
            raise exceptions.ValidationError({"via": "The only intermediary is 'forum'."})
        objects = objects_from_body(request.data)
        try:
            report = objects_publish(member=member, objects=objects, via_forum=via == "forum")
        except PublishForbidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        refused = report.count("refused")
        if refused == 0:
            status = 200
        elif refused == len(report.outcomes):
            status = 422
        else:
            status = 207
        return Response(report.as_dict(), status=status)


class ObjectDetailView(APIView):
    """``/api/v1/objects/<id>/``: every visible version of one object, oldest first."""

    @extend_schema(operation_id="api_v1_object_versions", responses={200: ref("ObjectVersions")})
    def get(self, request: Request, object_id: str) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        versions = list(
            objects_visible_to(member)
            .filter(stix_id=object_id)
            .order_by("version")
            .values_list("raw", flat=True)
        )
        if not versions:
            raise exceptions.NotFound(f"No object {object_id} is visible to you.")
        return Response({"id": object_id, "versions": [stored_json(raw) for raw in versions]})


class ObjectCorroborationView(APIView):
    """``/api/v1/objects/<id>/corroboration/``: which other labs sighted an object.

    Counted from the sightings the caller may read, by the rule the console uses
    (``signatures.selectors.sightings_corroborating``); 404 for an object the caller
    cannot read, as for one that does not exist.
    """

    @extend_schema(responses={200: ref("Corroboration")})
    def get(self, request: Request, object_id: str) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        latest = objects_visible_to(member).filter(stix_id=object_id).order_by("-version").first()
        if latest is None:
            raise exceptions.NotFound(f"No object {object_id} is visible to you.")
        found = sightings_corroborating(member, [latest])[object_id]
        return Response(
            {
                "indicator": object_id,
                "labs": sorted(found.labs),
                "sightings": found.sightings,
                "count": found.count,
                "first_seen": found.first_seen,
                "last_seen": found.last_seen,
            }
        )
