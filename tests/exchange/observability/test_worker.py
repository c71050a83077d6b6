"""The worker's task counters and the port that serves them
(exchange/observability/worker.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery, Task
from celery.signals import task_failure
from prometheus_client import REGISTRY

import exchange.celery  # noqa: F401  (connects the handlers, as the worker's import does)
from exchange.observability.worker import worker_signals_connect
from tests.exchange.observability.conftest import Exposition, closed_port

ROOT = Path(__file__).resolve().parents[3]


def counted(metric: str, task: str) -> float:
    return REGISTRY.get_sample_value(f"exchange_worker_task_{metric}_total", {"task": task}) or 0


@pytest.fixture
def tasks() -> Iterator[tuple[Task, Task]]:
    """A task that raises and one that asks once to be retried, on an app of their own
    (the task signals are global, so the project's handlers hear them)."""
    app = Celery("observability-tests", set_as_current=False)
    suffix = uuid.uuid4().hex[:8]

    @app.task(name=f"tests.fails-{suffix}", bind=True)
    def fails(self: Task) -> None:
        raise ValueError("the task failed")

    @app.task(name=f"tests.retries-{suffix}", bind=True, max_retries=1)
    def retries(self: Task) -> str:
        if self.request.retries == 0:
            raise self.retry(countdown=0)
        return "done"

    yield fails, retries
    app.close()


def test_it_counts_a_failed_task_under_its_name(tasks: tuple[Task, Task]) -> None:
    fails, _ = tasks
    assert fails.apply().state == "FAILURE"
    assert counted("failures", fails.name) == 1
    assert counted("retries", fails.name) == 0


def test_it_counts_a_retry_and_not_a_failure_for_a_task_that_then_succeeds(
    tasks: tuple[Task, Task],
) -> None:
    _, retries = tasks
    result = retries.apply()
    assert result.state == "SUCCESS"
    assert counted("retries", retries.name) == 1
    assert counted("failures", retries.name) == 0


def test_it_connects_each_handler_once_however_often_it_is_asked(
    tasks: tuple[Task, Task],
) -> None:
    fails, _ = tasks
    worker_signals_connect()
    worker_signals_connect()
    fails.apply()
    assert counted("failures", fails.name) == 1


def test_it_counts_a_failure_without_a_task_as_unknown() -> None:
    before = counted("failures", "unknown")
    task_failure.send(sender=None, task_id="x", exception=ValueError("lost"))
    assert counted("failures", "unknown") == before + 1


def worker(port: int, multiproc_dir: Path | None) -> subprocess.Popen[str]:
    """A process that announces a ready worker (the handlers as the project's Celery app
    connects them), then waits to be stopped."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WORKER_METRICS_PORT": str(port),
        "WORKER_METRICS_ADDR": "127.0.0.1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if multiproc_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc_dir)
    code = (
        "import sys\n"
        "from celery.signals import worker_ready\n"
        "import exchange.celery\n"
        "worker_ready.send(sender=None)\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def served(port: int) -> Exposition:
    # The port is bound before "ready" is printed: no waiting for it.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return Exposition(answer.read().decode())


def stopped(process: subprocess.Popen[str]) -> str:
    """Its stderr, once closing its stdin has let it exit."""
    _, err = process.communicate(input="", timeout=30)
    return err


def test_it_serves_on_its_port_what_the_pool_processes_counted(tmp_path: Path) -> None:
    # A pool process counts a failure in the multiprocess folder, and exits.
    pool = subprocess.run(
        [
            sys.executable,
            "-c",
            "from celery.signals import task_failure\n"
            "import exchange.celery\n"
            "task_failure.send(sender=type('T', (), {'name': 'tests.in-pool'})())\n",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert pool.returncode == 0, pool.stderr

    port = closed_port()
    process = worker(port, tmp_path)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        text = served(port)
    finally:
        err = stopped(process)
    assert process.returncode == 0, err
    assert text.value("exchange_worker_task_failures_total", task="tests.in-pool") == 1
    assert "without PROMETHEUS_MULTIPROC_DIR" not in err


def test_it_warns_when_its_port_would_show_none_of_the_pool_processes() -> None:
    port = closed_port()
    process = worker(port, None)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        text = served(port)
    finally:
        err = stopped(process)
    assert process.returncode == 0, err
    assert "WORKER_METRICS_PORT is set without PROMETHEUS_MULTIPROC_DIR" in err
    assert "# TYPE exchange_worker_task_failures_total counter" in text.text
