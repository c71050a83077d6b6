"""The AI-ISAC Exchange Django project: settings, URLs, the Celery app, the TAXII server."""

from __future__ import annotations

from exchange.celery import app as celery_app

__all__ = ["celery_app"]
