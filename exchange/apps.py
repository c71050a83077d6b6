from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.urls import register_converter

from exchange.api.query import SegmentConverter


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = "AI-ISAC Exchange"

    def ready(self) -> None:
        # Before any URLconf is imported, whichever loads first (tests import some directly).
        register_converter(SegmentConverter, "segment")
        # drf-spectacular finds its extensions by their import.
        import exchange.api.schema  # noqa: F401


class ForumAdminConfig(admin_apps.AdminConfig):
    """Installed in place of ``django.contrib.admin``: ``admin.site`` is then the Forum-only
    site of ``exchange.admin_site`` (kept there, as it needs models this module must not
    import while apps load)."""

    default = False  # ExchangeConfig stays this module's default app config.
    default_site = "exchange.admin_site.ForumAdminSite"
