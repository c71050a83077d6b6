"""Log records as one JSON object a line (``LOG_FORMAT=json``, the containers' default).

Each line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; a request
line adds the fields of :class:`exchange.observability.middleware.RequestLogMiddleware`
(``method``, ``endpoint``, ``path``, ``status``, ``duration_ms``, ``member``), and a record
with an exception adds ``exc_info``, its formatted traceback.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "request_fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        # default=str: a value orjson does not know (a UUID subclass, a path) is still logged.
        return orjson.dumps(line, default=str).decode()
