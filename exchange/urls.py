"""The project's URLs, and the error views that answer API paths in the error envelope."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from exchange.errors import api_not_found

urlpatterns = [
    # A page for people who open the server's address: where TAXII, the API and the docs are.
    path(
        "",
        TemplateView.as_view(
            template_name="exchange/landing.html",
            extra_context={"title": settings.TAXII_TITLE, "api_roots": settings.TAXII_API_ROOTS},
        ),
        name="landing",
    ),
    path("admin/", admin.site.urls),
    path("console/", include("exchange.console.urls")),
    path("api/v1/", include("exchange.api.urls")),
    path("api/v1/subscriptions/", include("exchange.fanout.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline
    # script (exchange/security_headers.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Any other path under /api/ is a mistyped REST path, not a TAXII API root named "api".
    re_path(r"^api/", api_not_found),
    path("taxii2/", include("exchange.taxii.urls")),
    # TAXII API roots live at the top level (/feed/...), so they come last.
    path("<slug:api_root>/", include("exchange.taxii.root_urls")),
]

handler400 = "exchange.errors.bad_request"
handler403 = "exchange.errors.permission_denied"
handler404 = "exchange.errors.page_not_found"
handler500 = "exchange.errors.server_error"
