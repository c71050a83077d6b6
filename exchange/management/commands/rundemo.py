"""rundemo: migrate, seed the demo data, print demo tokens, then serve until Ctrl-C.

Runs the web server (gunicorn on 127.0.0.1:8000) and a real Celery worker as child
processes, so a fresh checkout shows the whole exchange working with one command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Migrate, seed demo data, and run the web server plus a Celery worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("seed_demo", stdout=self.stdout)
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "exchange.settings"}
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "exchange", "worker", "--beat",
                 "--loglevel", "INFO", "--concurrency", "2"],
                env=environment,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "exchange.wsgi", "--bind", options["bind"],
                 "--workers", "2", "--access-logfile", "-"],
                env=environment,
            ),
        ]  # fmt: skip
        self.stdout.write(
            f"Exchange on http://{options['bind']}/ (TAXII at /taxii2/); Ctrl-C stops."
        )
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
