"""``/taxii2/``: TAXII 2.1 server discovery (section 4.1)."""

from __future__ import annotations

from django.urls import path, re_path

from exchange.taxii.base import NotFoundView
from exchange.taxii.discovery import DiscoveryView

urlpatterns = [
    path("", DiscoveryView.as_view(), name="taxii-discovery"),
    re_path(r"^.+$", NotFoundView.as_view()),
]
