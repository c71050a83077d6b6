"""TAXII 2.1 section 4.2, Get API Root Information: ``GET /<api-root>/``."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.api.schema import ref
from exchange.taxii.base import TaxiiView
from exchange.taxii.media import TAXII_MEDIA_TYPE


class ApiRootView(TaxiiView):
    """The API root resource (section 4.2.1).

    ``max_content_length`` is the body size above which Add Objects answers 413.
    """

    @extend_schema(responses={200: ref("TaxiiApiRoot")})
    def get(self, request: Request, api_root: str) -> Response:
        return Response(
            {
                "title": f"{settings.TAXII_TITLE}: {api_root}",
                "description": f"Collections of the {api_root!r} API root.",
                "versions": [TAXII_MEDIA_TYPE],
                "max_content_length": settings.MAX_CONTENT_LENGTH,
            }
        )
