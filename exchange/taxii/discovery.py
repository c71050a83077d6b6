"""TAXII 2.1 section 4.1, Server Discovery: ``GET /taxii2/``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from exchange.api.schema import ref
from exchange.taxii.base import TaxiiView


def api_root_url(request: Request, api_root: str) -> str:
    """Absolute: under SITE_URL when it is set (the address clients reach through a proxy),
    else under the address this request came to (its Host is checked by ALLOWED_HOSTS)."""
    if settings.SITE_URL:
        return f"{settings.SITE_URL}/{api_root}/"
    return request.build_absolute_uri(f"/{api_root}/")


class DiscoveryView(TaxiiView):
    """The discovery resource (section 4.1.1): title, contact, default and the API roots."""

    @extend_schema(responses={200: ref("TaxiiDiscovery")})
    def get(self, request: Request) -> Response:
        roots = settings.TAXII_API_ROOTS
        body: dict[str, Any] = {
            "title": settings.TAXII_TITLE,
            "description": "STIX 2.1 signatures of AI distillation attacks, shared by member labs.",
        }
        if settings.TAXII_CONTACT:
            body["contact"] = settings.TAXII_CONTACT
        if roots:
            body["default"] = api_root_url(request, roots[0])
            body["api_roots"] = [api_root_url(request, root) for root in roots]
        return Response(body)
