"""TAXII 2.1 sections 5.1 Get Collections and 5.2 Get A Collection."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from exchange.taxii.base import TaxiiView
from members.models import Member
from signatures.models import Collection
from signatures.selectors import (
    collection_can_read,
    collection_can_write,
    collections_visible_to,
)


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


def _resources(member: Member, collections: list[Collection]) -> list[dict[str, Any]]:
    # A handful of collections per API root: two small queries each keep the
    # permission rules in the selectors alone.
    return [
        collection_resource(
            c,
            can_read=collection_can_read(member, c),
            can_write=collection_can_write(member, c),
        )
        for c in collections
    ]


class CollectionsView(TaxiiView):
    """Section 5.1: the collections of this API root the caller may read or write.

    ``collections`` is left out when there is none, as the spec makes it optional.
    """

    def get(self, request: Request, api_root: str) -> Response:
        member = self.member(request)
        collections = list(collections_visible_to(member).filter(api_root=api_root))
        resources = _resources(member, collections)
        return Response({"collections": resources} if resources else {})


class CollectionView(TaxiiView):
    """Section 5.2: one collection; 404 if the caller may neither read nor write it."""

    def get(self, request: Request, api_root: str, collection_id: str) -> Response:
        collection = self.collection(request, api_root, collection_id)
        return Response(_resources(self.member(request), [collection])[0])
