"""The containers' HTTP healthcheck and its exit codes (exchange/observability/probe.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exchange.observability.probe import main
from tests.exchange.observability.conftest import closed_port

ROOT = Path(__file__).resolve().parents[3]


def test_it_exits_2_with_its_usage_when_given_no_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: python -m exchange.observability.probe URL" in capsys.readouterr().err


def test_it_exits_0_when_every_url_answers_2xx(live_server: Any) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "exchange.observability.probe",
            f"{live_server.url}/healthz",
            f"{live_server.url}/readyz",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_it_exits_1_naming_each_url_that_answered_an_error_status(
    live_server: Any, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.METRICS_TOKEN = ""
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    urls = [f"{live_server.url}/healthz", f"{live_server.url}/readyz", f"{live_server.url}/metrics"]
    assert main(urls) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{live_server.url}/readyz: HTTP 503",
        f"{live_server.url}/metrics: HTTP 404",
    ]


def test_it_exits_1_when_nothing_listens_or_the_url_is_not_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    refused = f"http://127.0.0.1:{closed_port()}/healthz"
    assert main([refused, "not-a-url"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{refused}: ")
    assert "Connection refused" in lines[0]
    assert lines[1].startswith("not-a-url: unknown url type")
