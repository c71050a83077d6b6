from __future__ import annotations

from django.apps import AppConfig


class SignaturesConfig(AppConfig):
    name = "signatures"
    verbose_name = "STIX objects and collections"
