"""TAXII 2.1 section 5.8, Get Object Versions: ``.../objects/<object-id>/versions/``."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from exchange.taxii.base import TaxiiView, object_not_found
from exchange.taxii.filters import VERSIONS_FILTERS, EntryFilter
from exchange.taxii.pagination import page_fetch
from exchange.taxii.versioning import version_or_date_added, version_text


class ObjectVersionsView(TaxiiView):
    """The versions resource (section 5.8.1): every visible version, by date_added."""

    def get(self, request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
        collection = self.collection_to_read(request, api_root, collection_id)
        visible = self.entries(request, collection).filter(stix_id=object_id)
        entries = EntryFilter.from_query(request.query_params, supported=VERSIONS_FILTERS).apply(
            visible
        )
        page = page_fetch(entries, request.query_params, version_text())
        if not page.rows and not visible.exists():
            raise object_not_found(object_id)
        versions = [version_or_date_added(version, added) for added, _, version in page.rows]
        return Response(page.envelope("versions", versions), headers=page.headers())
