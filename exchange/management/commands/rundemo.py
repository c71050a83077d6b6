"""rundemo: migrate, seed the demo data, print demo tokens, then serve until Ctrl-C.

Runs the web server (gunicorn on 127.0.0.1:8000, ``--bind`` to change it) and a real Celery
worker as child processes, so a fresh checkout shows the whole exchange working with one
command. The address is checked before anything starts: a port in use fails at once with
exit status 1. Each child runs in its own process group, and Ctrl-C (SIGINT) or SIGTERM stops
every process of every group (gunicorn's workers, Celery's pool and beat), as does either
child exiting on its own, which makes rundemo exit with status 1.

Each run revokes the previous run's demo tokens (seed_demo), so only the last printed ones
work.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from signatures import demo
from signatures.sdk.numbers import ascii_natural

#: Seconds a child's process group has to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 15.0


class Stop(Exception):
    """SIGTERM or SIGINT arrived: stop the children and return."""


def bind_address(bind: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) as gunicorn's ``--bind`` takes it."""
    host, sep, port_text = bind.rpartition(":")
    port = ascii_natural(port_text, maximum=65535)
    if not sep or port is None or not host:
        raise CommandError(f"--bind {bind!r} is not HOST:PORT, e.g. --bind 127.0.0.1:8000")
    return host.strip("[]"), port


def port_check(bind: str) -> None:
    """Fail now, with what to do, if ``bind`` cannot be listened on."""
    host, port = bind_address(bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As gunicorn does: a port left in TIME_WAIT by a previous run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {bind}: {exc.strerror or exc}. Stop whatever holds the "
                f"port (another rundemo?), or choose another address with --bind, e.g. "
                f"--bind {host if ':' not in host else f'[{host}]'}:{port + 1}"
            ) from exc


def group_stop(children: Sequence[subprocess.Popen[bytes]], timeout: float = STOP_TIMEOUT) -> None:
    """Stop each child and everything in its process group.

    SIGTERM goes to each child itself, which shuts down its own workers in order (gunicorn
    its workers, Celery its pool and beat: a warm shutdown); whatever is left in a group
    after ``timeout``, or was left there by a child that exited earlier, is killed.
    """
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
    for child in children:
        _signal_group(child.pid, signal.SIGKILL)
        child.wait()


def _signal_group(pgid: int, signum: int) -> None:
    # ProcessLookupError: the whole group is gone already.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def supervise(children: Sequence[subprocess.Popen[bytes]], names: Sequence[str]) -> str | None:
    """Wait until a child exits or SIGTERM/SIGINT arrives; stop every group either way.

    Returns the reason a child stopped on its own, or None after a signal.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stop

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            for child, name in zip(children, names, strict=True):
                code = child.poll()
                if code is not None:
                    return f"{name} exited with status {code}"
            time.sleep(0.2)
    except Stop:
        return None
    finally:
        # No second signal may interrupt the stopping itself.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        try:
            group_stop(children)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class Command(BaseCommand):
    help = "Migrate, seed demo data, and run the web server plus a Celery worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind", default="127.0.0.1:8000", help="HOST:PORT to serve on (default: %(default)s)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bind = options["bind"]
        port_check(bind)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=self.stdout)
        self.stdout.write(
            "Demo sharing key (the Forum's key that fingerprints card numbers):\n"
            f"  ISAC_SHARING_KEY={demo.DEMO_SHARING_KEY.decode()}\n"
            f"  ISAC_SHARING_KEY_HEX={demo.DEMO_SHARING_KEY.hex()}"
        )
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "exchange.settings"}
        commands = {
            "celery": [sys.executable, "-m", "celery", "-A", "exchange", "worker", "--beat",
                       "--loglevel", "INFO", "--concurrency", "2"],
            "gunicorn": [sys.executable, "-m", "gunicorn", "exchange.wsgi", "--bind", bind,
                         "--workers", "2", "--access-logfile", "-"],
        }  # fmt: skip
        children = [
            # A session of its own: the group's id is the child's pid, and a Ctrl-C typed in
            # the terminal reaches rundemo alone, which then stops each group in order.
            subprocess.Popen(argv, env=environment, start_new_session=True)
            for argv in commands.values()
        ]
        self.stdout.write(
            f"Exchange on http://{bind}/ (TAXII at /taxii2/); Ctrl-C stops.", ending="\n"
        )
        self.stdout.flush()
        failure = supervise(children, list(commands))
        if failure is not None:
            raise CommandError(f"{failure}; the exchange is stopped.")
