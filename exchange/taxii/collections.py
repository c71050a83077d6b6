"""TAXII 2.1 sections 5.1 Get Collections and 5.2 Get A Collection."""

from __future__ import annotations

from typing import Any

from django_stubs_ext import WithAnnotations
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.api.schema import ref
from exchange.taxii.base import TaxiiView
from signatures.models import Collection
from signatures.selectors import CollectionPermissions, collections_visible_to


def collection_resource(
    collection: Collection, *, can_read: bool, can_write: bool
) -> dict[str, Any]:
    """The collection resource (section 5.2.1); can_read / can_write are the caller's."""
    resource: dict[str, Any] = {"id": str(collection.id), "title": collection.title}
    if collection.description:
        resource["description"] = collection.description
    if collection.alias:
        resource["alias"] = collection.alias
    resource["can_read"] = can_read
    resource["can_write"] = can_write
    resource["media_types"] = collection.media_types
    return resource


def _resource(collection: WithAnnotations[Collection, CollectionPermissions]) -> dict[str, Any]:
    return collection_resource(
        collection, can_read=collection.can_read, can_write=collection.can_write
    )


class CollectionsView(TaxiiView):
    """Section 5.1: the collections of this API root the caller may read or write.

    ``collections`` is left out when there is none, as the spec makes it optional.
    """

    @extend_schema(responses={200: ref("TaxiiCollections")})
    def get(self, request: Request, api_root: str) -> Response:
        collections = collections_visible_to(self.member(request)).filter(api_root=api_root)
        resources = [_resource(collection) for collection in collections]
        return Response({"collections": resources} if resources else {})


class CollectionView(TaxiiView):
    """Section 5.2: one collection; 404 if the caller may neither read nor write it."""

    @extend_schema(responses={200: ref("TaxiiCollection")})
    def get(self, request: Request, api_root: str, collection_id: str) -> Response:
        return Response(_resource(self.collection(request, api_root, collection_id)))
