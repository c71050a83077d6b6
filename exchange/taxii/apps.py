from __future__ import annotations

from django.apps import AppConfig


class TaxiiConfig(AppConfig):
    name = "exchange.taxii"
    label = "taxii"
    verbose_name = "TAXII 2.1 server"
