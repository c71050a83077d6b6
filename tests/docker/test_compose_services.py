"""Every service of docker/compose.yaml, run as the container would run it.

No container engine is needed: each service's ``command`` runs as a process of this
machine, with the environment the compose file gives it (its ``environment`` and the
``env_file``, docker/.env.example, filled in), adapted to 127.0.0.1, free ports, a database
of its own (``<test database>_run``) and the configured Redis. The image's build step runs
too: ``collectstatic`` into a STATIC_ROOT of its own, as docker/Dockerfile does.

Checked: migrate and bootstrap exit 0; web answers /healthz, /readyz, /metrics and serves the
console's and the admin's static files; the web and worker healthchecks pass; the worker
and beat deliver a published object to a webhook receiver on loopback.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
import pytest
import yaml

from tests import stix_samples as samples

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
#: The whole test stays under this many seconds; each wait has its own share.
BUDGET = 110.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``, and ``$$``."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return arg or ""

    value = re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)
    return value.replace("$$", "$")


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


class Stack:
    """The compose file's services as processes; every one started is stopped."""

    def __init__(self, tmp: Path, database_url: str, broker_url: str) -> None:
        self.compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
        self.tmp = tmp
        self.started = time.monotonic()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.web_port = free_port()
        self.worker_metrics_port = free_port()
        self.metrics_token = "metrics-" + uuid.uuid4().hex
        self.base_env = {
            # What the image provides: its Python, its paths, its ENV lines.
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "HOME": str(tmp),
            "HOSTNAME": socket.gethostname(),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "DATA_DIR": str(tmp / "data"),
            "STATIC_ROOT": str(tmp / "static"),
            "LOG_FORMAT": "json",
        }
        self.filled = {
            "POSTGRES_PASSWORD": "unused-here",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "SECRET_KEY": "compose-test-" + uuid.uuid4().hex,
            "MASTER_KEY": secrets.token_urlsafe(32),
            "METRICS_TOKEN": self.metrics_token,
            # The webhook receiver is plain http on loopback.
            "FANOUT_ALLOW_HTTP": "true",
            "FANOUT_HEARTBEAT_MS": "500",
        }

    def remaining(self) -> float:
        return BUDGET - (time.monotonic() - self.started)

    def service(self, name: str) -> dict[str, Any]:
        service = self.compose["services"][name]
        assert isinstance(service, dict)
        return service

    def env(self, name: str) -> dict[str, str]:
        service = self.service(name)
        env = dict(self.base_env)
        for file in service.get("env_file", []):
            example = DOCKER / f"{file}.example"
            assert example.exists(), f"{name} reads {file}: document it in {example.name}"
            env.update(env_file(example))
        env.update(self.filled)
        for key, value in (service.get("environment") or {}).items():
            env[key] = interpolate(str(value), env)
        # Adapted to this machine: a private metrics folder, free ports.
        if "PROMETHEUS_MULTIPROC_DIR" in env:
            folder = self.tmp / f"metrics-{name}"
            folder.mkdir(exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        if "WORKER_METRICS_PORT" in env:
            env["WORKER_METRICS_PORT"] = str(self.worker_metrics_port)
            env["WORKER_METRICS_ADDR"] = "127.0.0.1"
        return env

    def command(self, name: str) -> list[str]:
        command = [str(part) for part in self.service(name)["command"]]
        adapted = []
        for part in command:
            part = part.replace("0.0.0.0:8000", f"127.0.0.1:{self.web_port}")
            adapted.append(part)
        if adapted[0] == "gunicorn" and "--workers" in adapted:
            # Two cores here: two web processes prove the multiprocess metrics as well as four.
            adapted[adapted.index("--workers") + 1] = "2"
        return adapted

    def run(self, name: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(name),
            cwd=ROOT,
            env=self.env(name),
            capture_output=True,
            text=True,
            timeout=min(timeout, self.remaining()),
            check=False,
        )

    def start(self, name: str) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            self.command(name),
            cwd=ROOT,
            env=self.env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def healthcheck(self, name: str) -> subprocess.CompletedProcess[str]:
        test = [str(part) for part in self.service(name)["healthcheck"]["test"]]
        env = self.env(name)
        kind, rest = test[0], test[1:]
        rest = [part.replace(":8000/", f":{self.web_port}/") for part in rest]
        if kind == "CMD-SHELL":
            argv = ["sh", "-c", interpolate(rest[0], {})]
        else:
            assert kind == "CMD", test
            argv = rest
        return subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=40, check=False
        )

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def get(self, path: str, **headers: str) -> tuple[int, str, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.web_port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()
        except OSError:  # not listening yet
            return 0, "", b""

    def send(self, method: str, path: str, body: Any, token: str) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env("web"),
            capture_output=True,
            text=True,
            timeout=min(60, self.remaining()),
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout


class Webhook:
    """A receiver on loopback that keeps every object pushed to it."""

    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []
        received = self.objects

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.extend(json.loads(body).get("objects", []))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate: Any, what: str, stack: Stack, limit: float) -> None:
    end = time.monotonic() + min(limit, stack.remaining())
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.25)
    logs = "\n".join(f"--- {name}\n{stack.log(name)}" for name in stack.processes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


@pytest.fixture
def run_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the services: ``<test database>_run``."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("runs the services against PostgreSQL (set DATABASE_URL)")
    config = dj_database_url.parse(url)
    name = f"{config['NAME']}_run"
    admin = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }

    def drop() -> None:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + f"/{name}"
    drop()


@pytest.fixture
def broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        pytest.skip("runs the services against Redis (set CELERY_BROKER_URL)")
    return url


def test_it_builds_the_image_with_static_files_as_a_non_root_user() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "manage.py collectstatic --noinput" in dockerfile
    assert "STATIC_ROOT=/app/static" in dockerfile


def test_it_keeps_secrets_out_of_the_compose_file() -> None:
    text = (DOCKER / "compose.yaml").read_text()
    compose = yaml.safe_load(text)
    for name in ("migrate", "web", "worker", "beat"):
        service = compose["services"][name]
        assert service["env_file"] == [".env"]
        assert not {"SECRET_KEY", "MASTER_KEY", "DATABASE_URL"} & set(service["environment"])
        assert service["restart"] == ("no" if name == "migrate" else "unless-stopped")
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${")
    assert "--beat" not in " ".join(compose["services"]["worker"]["command"])
    assert "healthcheck" in compose["services"]["web"]
    assert "healthcheck" in compose["services"]["worker"]


@pytest.mark.live
def test_it_runs_every_compose_service_and_delivers_a_published_object_to_a_webhook(
    tmp_path: Path, run_database: str, broker_url: str
) -> None:
    stack = Stack(tmp_path, run_database, broker_url)
    webhook = Webhook()
    try:
        # The image's build step, then the one-shot service.
        collected = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput"],
            cwd=ROOT,
            env={**stack.env("web"), "SECRET_KEY": "collectstatic", "MASTER_KEY": "collectstatic"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert collected.returncode == 0, collected.stderr[-2000:]
        migrate = stack.run("migrate", timeout=90)
        assert migrate.returncode == 0, (migrate.stdout + migrate.stderr)[-3000:]
        assert "created the Forum member" in migrate.stdout

        for name in ("web", "worker", "beat"):
            stack.start(name)
        wait_for(lambda: stack.get("/healthz")[0] == 200, "web to answer /healthz", stack, 30)

        status, content_type, body = stack.get("/readyz")
        assert (status, content_type) == (200, "application/json"), body
        assert json.loads(body)["checks"]["broker"]["ok"] is True
        status, content_type, body = stack.get("/static/console/console.css")
        assert (status, content_type.split(";")[0]) == (200, "text/css")
        assert body
        status, content_type, _ = stack.get("/static/admin/css/base.css")
        assert (status, content_type.split(";")[0]) == (200, "text/css")
        web_health = stack.healthcheck("web")
        assert web_health.returncode == 0, web_health.stderr

        # A lab, a subscription to a webhook, and one published indicator.
        stack.manage("create_member", "--name", "lab-compose", "--kind", "lab")
        token = (
            stack.manage("issue_token", "--member", "lab-compose", "--scopes", "read,publish")
            .strip()
            .splitlines()[-1]
        )
        status, created = stack.send(
            "POST",
            "/api/v1/subscriptions/",
            {"name": "compose hook", "channel": "webhook", "url": webhook.url},
            token,
        )
        assert status == 201, created
        members = stack.send("GET", "/api/v1/members/me/", None, token)
        identity = members[1]["identity_id"] if members[0] == 200 else None
        assert identity, members
        indicator = samples.ip_range_indicator(identity, id=f"indicator--{uuid.uuid4()}")
        status, report = stack.send("POST", "/api/v1/objects/", samples.bundle(indicator), token)
        assert status == 200, report

        wait_for(
            lambda: indicator["id"] in {obj.get("id") for obj in webhook.objects},
            "the worker and beat to deliver the object to the webhook",
            stack,
            45,
        )
        for name in ("web", "worker", "beat"):
            assert stack.processes[name].poll() is None, stack.log(name)

        worker_health = stack.healthcheck("worker")
        assert worker_health.returncode == 0, worker_health.stdout + worker_health.stderr
        status, _, metrics = stack.get("/metrics", Authorization=f"Bearer {stack.metrics_token}")
        assert status == 200
        assert (
            b'exchange_objects_total{channel="rest",member="lab-compose",outcome="accepted"} 1.0'
            in metrics
        )
        with urllib.request.urlopen(
            f"http://127.0.0.1:{stack.worker_metrics_port}/metrics", timeout=10
        ) as response:
            assert response.status == 200
        # JSON request lines from the web server, with the member and no token.
        lines = [line for line in stack.log("web").splitlines() if line.startswith("{")]
        requests = [json.loads(line) for line in lines if '"endpoint"' in line]
        assert any(
            (line["endpoint"], line["member"], line["status"])
            == ("object-list", "lab-compose", 200)
            for line in requests
        ), requests[-5:]
        assert token[:12] not in stack.log("web")
    finally:
        stack.stop()
        webhook.close()
