"""WSGI entry point (gunicorn exchange.wsgi)."""

from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")

application = get_wsgi_application()

# What is loaded by now (Django, the apps, stix2's classes, the compiled schemas) lives as
# long as the process. Freezing it keeps the collector's full passes, which a 1,000-object
# publish triggers, from scanning it again each time: about a tenth of a publish's CPU time
# (bench/publish_bench.py).
gc.collect()
gc.freeze()
