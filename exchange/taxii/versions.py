"""TAXII 2.1 section 5.8, Get Object Versions: ``.../objects/<object-id>/versions/``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.api.schema import ref, taxii_parameters
from exchange.taxii.base import TaxiiView
from exchange.taxii.filters import VERSIONS_FILTERS
from exchange.taxii.pagination import page_envelope, page_headers
from exchange.taxii.versioning import version_or_date_added, version_text


class ObjectVersionsView(TaxiiView):
    """The versions resource (section 5.8.1): every visible version, by date_added."""

    @extend_schema(
        parameters=taxii_parameters(VERSIONS_FILTERS), responses={200: ref("TaxiiVersions")}
    )
    def get(self, request: Request, api_root: str, collection_id: str, object_id: str) -> Response:
        page = self.object_page(
            request,
            api_root,
            collection_id,
            object_id,
            supported=VERSIONS_FILTERS,
            field=version_text(),
        )
        versions = [version_or_date_added(version, added) for added, _, version in page.rows]
        return Response(page_envelope(page, "versions", versions), headers=page_headers(page))
