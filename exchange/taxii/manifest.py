"""TAXII 2.1 section 5.3, Get Object Manifests: ``/<api-root>/collections/<id>/manifest/``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.api.schema import ref, taxii_parameters
from exchange.taxii.base import TaxiiView
from exchange.taxii.filters import LIST_FILTERS, EntryFilter
from exchange.taxii.pagination import (
    entries_page,
    page_envelope,
    page_headers,
    timestamp_format,
)
from exchange.taxii.versioning import version_or_date_added, version_text


class ManifestView(TaxiiView):
    """Manifest records (section 5.3.1) for the objects Get Objects would return.

    Same filters, same paging and the same visibility as section 5.4, without the bodies.
    """

    @extend_schema(parameters=taxii_parameters(LIST_FILTERS), responses={200: ref("TaxiiManifest")})
    def get(self, request: Request, api_root: str, collection_id: str) -> Response:
        collection = self.collection_to_read(request, api_root, collection_id)
        entries = EntryFilter.from_query(request.query_params, supported=LIST_FILTERS).apply(
            self.entries(request, collection)
        )
        page = entries_page(
            entries, request.query_params, "stix_id", "spec_version", version_text()
        )
        records = [
            {
                "id": stix_id,
                "date_added": timestamp_format(added),
                "version": version_or_date_added(version, added),
                "media_type": f"application/stix+json;version={spec_version}",
            }
            for added, _, stix_id, spec_version, version in page.rows
        ]
        return Response(page_envelope(page, "objects", records), headers=page_headers(page))
