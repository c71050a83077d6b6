from __future__ import annotations

from django.apps import AppConfig


class FanoutConfig(AppConfig):
    """Pushes newly published signatures to subscribers (webhooks and TAXII push)."""

    name = "exchange.fanout"
    label = "fanout"
    verbose_name = "Fan-out"
    default_auto_field = "django.db.models.BigAutoField"
