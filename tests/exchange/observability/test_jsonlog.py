"""Log records as one JSON object a line (exchange/observability/jsonlog.py)."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from exchange.observability.jsonlog import JsonFormatter


def record(message: str, *args: object, exc_info: Any = None, **extra: object) -> logging.LogRecord:
    made = logging.getLogger("exchange.request").makeRecord(
        "exchange.request", logging.WARNING, __file__, 1, message, args, exc_info, extra=extra
    )
    made.created = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC).timestamp()
    return made


def test_it_writes_time_level_logger_and_the_formatted_message() -> None:
    line = JsonFormatter().format(record("GET %s %d", "member-self", 200))
    assert json.loads(line) == {
        "time": "2026-03-01T12:30:05.123+00:00",
        "level": "WARNING",
        "logger": "exchange.request",
        "message": "GET member-self 200",
    }


def test_it_keeps_a_multiline_message_and_its_traceback_on_one_line() -> None:
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        exc_info = sys.exc_info()
    line = JsonFormatter().format(record("it failed:\n%s", "details", exc_info=exc_info))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "it failed:\ndetails"
    assert parsed["exc_info"].startswith("Traceback (most recent call last):")
    assert parsed["exc_info"].endswith("ValueError: first line\nsecond line")


def test_it_adds_the_request_fields_and_logs_values_json_does_not_know_as_text() -> None:
    member_id = uuid.uuid4()
    fields = {
        "method": "GET",
        "status": 200,
        "duration_ms": 1.5,
        "member": None,
        "member_id": member_id,
        "file": PurePosixPath("/var/lib/exchange/x"),
    }
    parsed = json.loads(JsonFormatter().format(record("GET", request_fields=fields)))
    assert parsed["method"] == "GET"
    assert parsed["status"] == 200
    assert parsed["duration_ms"] == 1.5
    assert parsed["member"] is None
    assert parsed["member_id"] == str(member_id)
    assert parsed["file"] == "/var/lib/exchange/x"
    assert "exc_info" not in parsed


def test_it_writes_no_extra_attribute_but_the_request_fields() -> None:
    # Only ``request_fields`` is a way into the line: whatever else a caller attaches to
    # a record (a header, a token) stays out of the log.
    secret = "isac_" + "s" * 40
    made = record(
        "GET",
        headers={"Authorization": f"Bearer {secret}"},
        token=secret,
        request_fields=f"token={secret}",
    )
    line = JsonFormatter().format(made)
    assert secret not in line
    assert set(json.loads(line)) == {"time", "level", "logger", "message"}
