"""TAXII 2.1 sections 5.4 Get Objects, 5.5 Add Objects, 5.6 Get An Object, 5.7 Delete An Object.

Objects are served as the exact text they were stored as (``stored_json`` embeds it in the
envelope without parsing it), so what a member posted comes back property for property,
with its timestamps at the precision it sent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.api.parsers import objects_count_check
from exchange.api.renderers import stored_json
from exchange.api.schema import TAXII_POSTED_MEDIA_TYPES, ref, taxii_parameters
from exchange.taxii.base import TaxiiView, object_not_found
from exchange.taxii.filters import DELETE_FILTERS, LIST_FILTERS, OBJECT_FILTERS, EntryFilter
from exchange.taxii.pagination import entries_page, page_envelope, page_headers
from exchange.taxii.services import status_create, status_enqueue
from members.permissions import ReadOrPublishByMethod
from signatures.services import PublishForbidden, collection_entries_remove, objects_publish


def envelope_objects(body: Any) -> list[Any]:
    """The ``objects`` of a TAXII envelope (section 3.7); a STIX bundle is read the same way."""
    objects = body.get("objects") if isinstance(body, dict) else None
    if not isinstance(objects, list):
        raise exceptions.ValidationError(
            'The body must be a TAXII envelope: {"objects": [<STIX objects>]}.'
        )
    objects_count_check(objects)
    return objects


class ObjectsView(TaxiiView):
    """``/<api-root>/collections/<id>/objects/``."""

    @extend_schema(parameters=taxii_parameters(LIST_FILTERS), responses={200: ref("TaxiiEnvelope")})
    def get(self, request: Request, api_root: str, collection_id: str) -> Response:
        """Section 5.4: an envelope of the objects that the filters select, by date_added."""
        collection = self.collection_to_read(request, api_root, collection_id)
        entries = EntryFilter.from_query(request.query_params, supported=LIST_FILTERS).apply(
            self.entries(request, collection)
        )
        page = entries_page(entries, request.query_params, "stix_object__raw")
        objects = [stored_json(raw) for _, _, raw in page.rows]
        return Response(page_envelope(page, "objects", objects), headers=page_headers(page))

    @extend_schema(
        request={
            media_type: ref("TaxiiEnvelopeRequest") for media_type in TAXII_POSTED_MEDIA_TYPES
        },
        responses={202: ref("TaxiiStatus")},
    )
    def post(self, request: Request, api_root: str, collection_id: str) -> Response:
        """Section 5.5: publish the envelope's objects; 202 with the status resource.

        Every object goes through ``objects_publish``, the exchange's one publish path:
        here, or for more than TAXII_ASYNC_OBJECTS objects in a task, the status then
        answering ``pending`` until it is done (section 4.3).
        """
        request_timestamp = timezone.now()
        collection = self.collection_to_write(request, api_root, collection_id)
        objects = envelope_objects(request.data)
        member = self.member(request)
        if len(objects) > settings.TAXII_ASYNC_OBJECTS:
            status = status_enqueue(
                member=member,
                collection=collection,
                objects=objects,
                request_timestamp=request_timestamp,
            )
            return Response(status.as_resource(), status=202)
        try:
            report = objects_publish(member=member, objects=objects, collection=collection)
        except PublishForbidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        status = status_create(
            member=member,
            collection=collection,
            objects=objects,
            report=report,
            request_timestamp=request_timestamp,
        )
        return Response(status.as_resource(), status=202)


class ObjectView(TaxiiView):
    """``/<api-root>/collections/<id>/objects/<object-id>/``."""

    def check_permissions(self, request: Request) -> None:
        """DELETE checks the ``publish`` scope only once the collection is known to be
        readable (``delete``): a member that cannot read it gets 404, whatever its token.
        """
        if request.method != "DELETE":
            super().check_permissions(request)
        elif request.auth is None:
            self.permission_denied(request)

    @extend_schema(
        parameters=taxii_parameters(OBJECT_FILTERS), responses={200: ref("TaxiiEnvelope")}
    )
    def get(self, request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
        """Section 5.6: the versions of one object the filters select (default: the latest)."""
        page = self.object_page(
            request,
            api_root,
            collection_id,
            object_id,
            supported=OBJECT_FILTERS,
            field="stix_object__raw",
        )
        objects = [stored_json(raw) for _, _, raw in page.rows]
        return Response(page_envelope(page, "objects", objects), headers=page_headers(page))

    @extend_schema(
        parameters=taxii_parameters(DELETE_FILTERS, paged=False),
        responses={200: OpenApiResponse(description="The versions were removed.")},
    )
    def delete(
        self, request: Request, api_root: str, collection_id: str, object_id: str
    ) -> Response:
        """Section 5.7: remove the selected versions from the collection (default: all).

        Writers only, and only for objects they created (the Forum for any). What the
        caller cannot read answers 404, as on GET, so a delete never confirms that an
        object it may not see exists; a collection it cannot read answers 404 too, as
        every other request on it does, before the token's scope is looked at.
        """
        if not self.collection(request, api_root, collection_id).can_read:
            raise object_not_found(object_id)
        permission = ReadOrPublishByMethod()
        if not permission.has_permission(request, self):
            self.permission_denied(request, permission.message)
        collection = self.collection_to_write(request, api_root, collection_id)
        visible = self.entries(request, collection).filter(stix_id=object_id)
        selected = EntryFilter.from_query(
            request.query_params, supported=DELETE_FILTERS, default_version="all"
        ).apply(visible)
        if not selected.exists():
            raise object_not_found(object_id)
        try:
            collection_entries_remove(
                member=self.member(request), collection=collection, entries=selected
            )
        except PublishForbidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        return Response(status=200)
