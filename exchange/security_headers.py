"""The Content-Security-Policy every response carries (docs/console.md, "Browser security").

Django's SecurityMiddleware already sends ``X-Content-Type-Options: nosniff``,
``Referrer-Policy`` and, when configured, HSTS; X-Frame-Options comes from its clickjacking
middleware. What Django 5.2 lacks is a CSP, which this middleware adds to every response:
the console, the admin, the API docs and the error pages are HTML, and the JSON of the API
and TAXII gains nothing from being framed or from loading anything either.

The policy allows no inline script at all: the console's one script, the admin's and Swagger
UI's are files served from this origin (the docs use drf-spectacular's split view, whose
start-up script is a separate request). Style attributes stay allowed (``style-src-attr``):
the console colours chart legends with them and Swagger UI sets them from script; a style
attribute can neither run script nor load anything ``img-src`` does not allow.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

#: SHA-256 of the one inline <style> block of drf-spectacular's swagger_ui.html; a test
#: recomputes it from the installed template, so an upgrade that changes it fails loudly.
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' {SWAGGER_UI_STYLE_HASH}",
        "style-src-attr 'unsafe-inline'",
        # data: for the console's empty favicon and the admin's and Swagger UI's inline SVG.
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class ContentSecurityPolicyMiddleware:
    """Sets CONTENT_SECURITY_POLICY on every response a view did not give its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
