"""exchange/taxii/tasks.py: the tasks' names, and which failures they retry.

The work itself (claiming a status, publishing, re-queueing) is the services' and is tested
in test_services.py through these same tasks.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError

from exchange.celery import app
from exchange.taxii import services, tasks


def test_it_names_every_scheduled_taxii_task_as_registered(settings: Any) -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    taxii = {name for name in scheduled if name.startswith("taxii.")}
    assert taxii == {"taxii.status_sweep"}
    assert app.tasks["taxii.status_sweep"].run is tasks.status_sweep.run
    # The name the services queue by (on_commit, status_enqueue).
    assert app.tasks["taxii.status_process"].run is tasks.status_process.run


def test_it_retries_when_the_database_went_away(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def flaky(*, status_id: str) -> None:
        calls.append(status_id)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "status_process", flaky)
    result = tasks.status_process.apply(args=["s-1"])
    assert result.successful()
    assert calls == ["s-1", "s-1", "s-1"]


def test_it_leaves_other_failures_to_the_stale_status_requeue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def failing(*, status_id: str) -> None:
        calls.append(status_id)
        raise KeyError(status_id)

    monkeypatch.setattr(services, "status_process", failing)
    result = tasks.status_process.apply(args=["s-1"])
    assert result.failed() and isinstance(result.result, KeyError)
    assert calls == ["s-1"]
    assert tasks.status_process.acks_late
