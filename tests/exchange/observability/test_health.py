"""The readiness checks: the database and the Celery broker
(exchange/observability/health.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from exchange.observability.health import Check, broker_check, database_check
from tests.exchange.observability.conftest import closed_port
from tests.exchange.observability.dropping_urls import terminate_own_connection


@pytest.mark.django_db
def test_it_finds_the_database_ready() -> None:
    check = database_check()
    assert check.ok is True
    assert check.error == ""


@pytest.mark.django_db(transaction=True)
def test_it_reports_a_dropped_database_connection_and_closes_it_for_the_next_request() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    terminate_own_connection()
    check = database_check()
    assert check.ok is False
    assert check.error == "OperationalError"
    # The broken connection is gone, so the next check opens a fresh one.
    assert connection.connection is None
    assert database_check().ok is True


@pytest.mark.django_db
def test_it_finds_the_configured_broker_ready() -> None:
    check = broker_check()
    assert check.ok is True, check.error


def test_it_reports_a_redis_broker_that_refuses_connections(settings: Any) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    check = broker_check()
    assert check.ok is False
    assert check.error == "ConnectionError"


def test_it_reports_an_amqp_broker_that_refuses_connections(settings: Any) -> None:
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{closed_port()}//"
    check = broker_check()
    assert check.ok is False
    assert check.error == "OperationalError"


def test_it_finds_the_embedded_broker_ready_only_when_its_folder_exists(
    settings: Any, tmp_path: Path
) -> None:
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    assert broker_check().ok is True

    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}
    check = broker_check()
    assert check.ok is False
    assert check.error == "FileNotFoundError"


def test_it_shows_a_check_with_its_time_rounded_and_an_error_only_when_it_failed() -> None:
    assert Check(True, 12.345).as_dict() == {"ok": True, "ms": 12.3}
    assert Check(False, 2000.06, "TimeoutError").as_dict() == {
        "ok": False,
        "ms": 2000.1,
        "error": "TimeoutError",
    }
