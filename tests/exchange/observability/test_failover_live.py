"""Drills: PostgreSQL dropping the web server's connections, and the broker going away
under a Celery worker (docs/operations.md, "Failover").

Real processes: gunicorn with persistent connections (``CONN_MAX_AGE``) on the test
database, a Celery worker, and a private redis-server that the drill stops and starts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from exchange.fanout.services import subscription_create
from members.models import Member
from signatures.selectors import collection_default
from tests import stix_samples as samples
from tests.factories import token_for

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(tmp / "data"),
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "600",
        "SECRET_KEY": "drill-" + uuid.uuid4().hex,
        "MASTER_KEY": settings.MASTER_KEY,
        **extra,
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def wait_until(predicate: Any, what: str, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def terminate_other_backends() -> int:
    """What a failover does to every connection but ours: the server ends them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.fixture
def web(tmp_path: Path) -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("terminates PostgreSQL backends")
    port = free_port()
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "exchange.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=process_env(tmp_path, LOG_FORMAT="json"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return True
        except OSError:
            return False

    try:
        wait_until(up, "gunicorn to answer", 30)
        yield url
    finally:
        stop(process)


def call(url: str, method: str, token: str, body: Any = None, **headers: str) -> int:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_it_answers_publish_and_reads_2xx_after_the_database_drops_every_connection(
    web: str, lab_a: Member
) -> None:
    token = token_for(lab_a, "read", "publish")
    subscription, _ = subscription_create(
        owner=lab_a, name="drill", channel="webhook", url="https://hooks.example.org/in"
    )
    collection = collection_default()
    taxii = "application/taxii+json;version=2.1"
    answers = []
    for _ in range(3):
        # Every web process holds a connection from the round before; each request below
        # is preceded by the server dropping all of them.
        for method, path, body, headers in (
            ("GET", "/api/v1/objects/", None, {}),
            (
                "POST",
                "/api/v1/objects/",
                samples.bundle(
                    samples.ip_range_indicator(lab_a.identity_id, id=f"indicator--{uuid.uuid4()}")
                ),
                {},
            ),
            ("GET", f"/api/v1/subscriptions/{subscription.pk}/health/", None, {}),
            ("GET", f"/feed/collections/{collection.id}/objects/", None, {"Accept": taxii}),
        ):
            terminate_other_backends()
            answers.append((method, path, call(web + path, method, token, body, **headers)))
    assert terminate_other_backends() > 0, "the web server kept no connection to drop"
    assert [answer for answer in answers if not 200 <= answer[2] < 300] == []


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Any]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs redis-server")
    port = free_port()

    class Redis:
        url = f"redis://127.0.0.1:{port}/0"
        process: subprocess.Popen[bytes] | None = None

        def start(self) -> None:
            self.process = subprocess.Popen(
                [
                    server,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmp_path),
                ],
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            wait_until(self.answers, "redis-server to start", 10)

        def answers(self) -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        def stop(self) -> None:
            if self.process is not None:
                stop(self.process)
                self.process = None

    redis = Redis()
    redis.start()
    yield redis
    redis.stop()


def ping(tmp: Path, broker: str, node: str) -> bool:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "exchange",
            "inspect",
            "ping",
            "--destination",
            node,
            "--timeout",
            "3",
        ],
        cwd=ROOT,
        env=process_env(tmp, CELERY_BROKER_URL=broker),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0 and "pong" in result.stdout


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_worker_alive_and_answering_through_broker_outages(
    tmp_path: Path, private_redis: Any
) -> None:
    node = f"drill-{uuid.uuid4().hex[:8]}@127.0.0.1"
    log_path = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "exchange",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--hostname",
            node,
        ],
        cwd=ROOT,
        env=process_env(tmp_path, CELERY_BROKER_URL=private_redis.url),
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: ping(tmp_path, private_redis.url, node), "the worker to answer", 40)
        for outage in range(3):
            private_redis.stop()
            time.sleep(3)
            assert worker.poll() is None, (
                f"outage {outage}: the worker exited\n" + (log_path.read_text()[-3000:])
            )
            private_redis.start()
            wait_until(
                lambda: ping(tmp_path, private_redis.url, node),
                f"the worker to answer after outage {outage}",
                40,
            )
        assert worker.poll() is None
    finally:
        stop(worker)
