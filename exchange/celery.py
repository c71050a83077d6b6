"""The Celery application. Configuration comes from Django settings (CELERY_ prefix).

What keeps a worker alive through a broker outage (retry forever, cancel and redeliver
what was running) is in exchange/settings.py, "Celery"; docs/operations.md tells the drill.
"""

from __future__ import annotations

import os

from celery import Celery

from exchange.observability.worker import worker_signals_connect

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")

app = Celery("exchange")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
worker_signals_connect()
