"""JSON rendering with orjson; stored objects are embedded as the exact text they were stored as."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer


def stored_json(raw: str) -> orjson.Fragment:
    """Embed already-serialized JSON in a response without parsing or re-serializing it."""
    return orjson.Fragment(raw)


class JSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data)
