"""Strict JSON request parsing shared by the REST API and TAXII.

Duplicate member names are refused: I-JSON (RFC 7493) forbids them and RFC 8785
canonicalization, which member signatures rely on, is undefined for them; a parser that
silently kept the last value would let two parties read one object differently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sized
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from signatures.sdk import strict_json
from signatures.sdk.numbers import ascii_natural


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "Request body too large."
    default_code = "request_too_large"


def objects_count_check(objects: Sized) -> None:
    """Refuse (413) a request that carries more objects than MAX_OBJECTS_PER_REQUEST."""
    limit = settings.MAX_OBJECTS_PER_REQUEST
    if len(objects) > limit:
        raise RequestTooLarge(f"{len(objects)} objects in one request; the limit is {limit}.")


def json_loads_strict(body: bytes) -> Any:
    """Parse a JSON body, or raise ParseError saying where and why it is malformed."""
    try:
        return strict_json.loads(body)
    except json.JSONDecodeError as exc:
        raise exceptions.ParseError(
            f"Malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}."
        ) from exc
    except UnicodeDecodeError as exc:
        raise exceptions.ParseError("The body is not UTF-8 encoded JSON.") from exc
    except RecursionError as exc:
        raise exceptions.ParseError("JSON nested too deeply.") from exc
    except ValueError as exc:
        raise exceptions.ParseError(f"Malformed JSON: {exc}.") from exc


def read_body(stream: IO[bytes] | None, parser_context: Mapping[str, Any] | None) -> bytes:
    """Read at most MAX_CONTENT_LENGTH bytes; a longer body is answered with 413."""
    limit = settings.MAX_CONTENT_LENGTH
    request = (parser_context or {}).get("request")
    declared = request.META.get("CONTENT_LENGTH") if request is not None else None
    declared_bytes = ascii_natural(declared) if declared else None
    if declared_bytes is not None and declared_bytes > limit:
        raise RequestTooLarge(
            f"Request body of {declared} bytes exceeds the limit of {limit} bytes."
        )
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise RequestTooLarge(f"Request body exceeds the limit of {limit} bytes.")
    return body


class JSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        return json_loads_strict(read_body(stream, parser_context))
