"""rundemo: refuses a port in use before starting anything, and stops every process it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
from django.conf import settings
from django.core.management import CommandError

from exchange.management.commands.rundemo import bind_address, port_check, supervise


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def _environment(data_dir: Path) -> dict[str, str]:
    """A laptop's: SQLite and the embedded broker in ``data_dir``, nothing shared."""
    keep = ("PATH", "HOME", "LANG")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "DATA_DIR": str(data_dir)}


def _rundemo(bind: str, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "rundemo", "--bind", bind],
        cwd=settings.BASE_DIR,
        env=_environment(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_it_reads_host_and_port_from_bind() -> None:
    assert bind_address("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert bind_address("[::1]:8001") == ("::1", 8001)
    with pytest.raises(CommandError, match="not HOST:PORT"):
        bind_address("8000")


@pytest.mark.parametrize(
    "bind", ["127.0.0.1:\u00b2", "127.0.0.1:80\u0663", "127.0.0.1:65536", ":80"]
)
def test_it_refuses_a_port_that_is_no_ascii_number_of_a_port(bind: str) -> None:
    # str.isdigit() accepts '²', on which int() raises: a traceback, not this one line.
    with pytest.raises(CommandError, match="not HOST:PORT"):
        bind_address(bind)


def test_it_names_bind_when_the_port_is_taken(taken_port: int) -> None:
    with pytest.raises(CommandError) as caught:
        port_check(f"127.0.0.1:{taken_port}")
    assert f"Cannot listen on 127.0.0.1:{taken_port}" in str(caught.value)
    assert f"--bind 127.0.0.1:{taken_port + 1}" in str(caught.value)


def test_it_exits_non_zero_at_once_when_the_port_is_taken(taken_port: int, tmp_path: Path) -> None:
    process = _rundemo(f"127.0.0.1:{taken_port}", tmp_path)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "--bind" in err and "Address already in use" in err
    # Checked before anything started: nothing was migrated or seeded.
    assert "Demo tokens" not in out
    assert not (tmp_path / "exchange.sqlite3").exists()


def _sleepers(*scripts: str) -> list[subprocess.Popen[bytes]]:
    """Children that each leave a grandchild in their process group, as gunicorn and Celery
    do with their workers."""
    return [subprocess.Popen(["sh", "-c", script], start_new_session=True) for script in scripts]


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs, a few seconds after it was killed (SIGKILL
    is delivered asynchronously; a killed process may linger as a zombie until whichever
    process adopted it reaps it)."""
    deadline = time.monotonic() + 5
    while _group_members_running(pgid):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)
    return False


def _group_members_running(pgid: int) -> bool:
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return False


def test_supervise_stops_every_group_when_one_child_exits() -> None:
    children = _sleepers("sleep 60 & wait", "sleep 60 & exit 3")
    assert supervise(children, ["web", "worker"]) == "worker exited with status 3"
    assert not any(_group_alive(child.pid) for child in children)


def test_supervise_stops_every_group_on_sigterm() -> None:
    children = _sleepers("sleep 60 & wait", "sleep 60 & wait")
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    assert supervise(children, ["web", "worker"]) is None
    assert not any(_group_alive(child.pid) for child in children)
    # The test runner's own handler is back.
    assert signal.getsignal(signal.SIGTERM) is not None


@pytest.mark.live
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_it_serves_and_stops_gunicorn_and_celery_on_a_signal(
    signum: signal.Signals, tmp_path: Path
) -> None:
    port = _free_port()
    process = _rundemo(f"127.0.0.1:{port}", tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "rundemo did not start serving"
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/taxii2/", timeout=5)
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.5)
                continue
            break
        assert answer.status_code == 401
        descendants = psutil.Process(process.pid).children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in descendants]
        assert any("gunicorn" in c for c in commands) and any("celery" in c for c in commands)
        process.send_signal(signum)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert not [p for p in descendants if _running(p)]
    assert "ISAC_SHARING_KEY=ai-isac-demo-sharing-key-not-for-production" in out
    assert "identity--3c31eef7-4eb5-40f5-9f6e-e8444646e282" in out


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
