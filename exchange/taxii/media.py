"""TAXII 2.1 media types, handled once for every TAXII endpoint (TAXII 2.1 section 3).

Every response, errors included, is ``application/taxii+json;version=2.1``. What a client
may ask for and send:

- ``Accept``: ``application/taxii+json`` with ``version=2.1`` or no version, ``*/*``,
  ``application/*`` or no header at all; leniently also ``application/json`` (OpenCTI sends
  it, and the answer is JSON all the same), which is logged. Anything else, including
  another TAXII version, is answered with 406.
- ``Content-Type`` of a POST: ``application/taxii+json`` with ``version=2.1`` or no
  version; leniently ``application/stix+json`` (version 2.1 or none), which TAXII 2.0
  clients send for the same objects. Anything else is answered with 415.

Parameters are compared as RFC 9110 section 8.3.1 says: type, subtype and parameter names
case-insensitively, whitespace around ``;`` and ``=`` ignored, quoted values unquoted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from exchange.api.parsers import JSONParser
from exchange.api.renderers import JSONRenderer

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
TAXII_VERSION = "2.1"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One media type or range from a header, normalised for comparison."""

    full_type: str
    params: dict[str, str] = field(default_factory=dict)
    quality: float = 1.0

    @property
    def version_ok(self) -> bool:
        return self.params.get("version", TAXII_VERSION) == TAXII_VERSION


def media_range_parse(text: str) -> MediaRange:
    full_type, *raw_params = text.split(";")
    params: dict[str, str] = {}
    quality = 1.0
    for raw in raw_params:
        name, _, value = raw.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        elif name:
            params[name] = value
    return MediaRange(full_type.strip().lower(), params, quality)


def accept_parse(header: str) -> list[MediaRange]:
    return [media_range_parse(item) for item in header.split(",") if item.strip()]


_ANSWERABLE = {"application/taxii+json", "*/*", "application/*"}
_POSTABLE = {"application/taxii+json", "application/stix+json"}


def accept_allows_taxii(header: str) -> bool:
    """Whether a response in the TAXII 2.1 media type satisfies this Accept header."""
    ranges = accept_parse(header)
    if not ranges:
        return True
    for item in ranges:
        if item.quality <= 0:
            continue
        if item.full_type in _ANSWERABLE and item.version_ok:
            return True
        if item.full_type == "application/json":
            logger.info("Answering Accept: %s with %s", header, TAXII_MEDIA_TYPE)
            return True
    return False


def content_type_is_taxii(header: str) -> bool:
    """Whether a request body of this Content-Type is read as a TAXII envelope."""
    media = media_range_parse(header)
    return media.full_type in _POSTABLE and media.version_ok


class TaxiiRenderer(JSONRenderer):
    media_type = TAXII_MEDIA_TYPE
    format = "taxii"


class TaxiiParser(JSONParser):
    """Strict JSON (duplicate names refused, 413 above MAX_CONTENT_LENGTH), TAXII media types."""

    media_type = "application/taxii+json"


class TaxiiContentNegotiation(BaseContentNegotiation):
    """406 and 415 decided by TAXII's rules, not by DRF's parameter matching.

    DRF's default negotiation requires every parameter of the renderer's media type in
    the Accept header, and accepts any parameter in a Content-Type (encode/django-rest-
    framework#4287), which is the opposite of what TAXII needs on both counts.
    """

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        if content_type_is_taxii(request.content_type):
            return next(iter(parsers))
        return None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        header = request.META.get("HTTP_ACCEPT", "")
        if not accept_allows_taxii(header):
            raise exceptions.NotAcceptable(
                f"This server answers with {TAXII_MEDIA_TYPE} only; the request accepts {header!r}."
            )
        renderer = next(iter(renderers))
        return renderer, renderer.media_type
