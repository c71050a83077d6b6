"""The project's URLs plus plain views that fail or find nothing, under TAXII, REST and console
paths: what reaches Django's error handlers rather than DRF's."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.taxii.base import TaxiiView
from exchange.urls import handler400, handler403, handler404, handler500, urlpatterns

SECRET = "secret-detail-of-the-failure"


class FailingTaxiiView(TaxiiView):
    permission_classes = []

    def get(self, request: Request) -> Response:
        raise RuntimeError(SECRET)


class FailingApiView(APIView):
    permission_classes = []

    def get(self, request: Request) -> Response:
        raise RuntimeError(SECRET)


def failing_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET)


def missing_page(request: HttpRequest) -> HttpResponse:
    raise Http404(SECRET)


urlpatterns = [
    path("taxii2/missing/", missing_page),
    path("api/v1/missing/", missing_page),
    path("console/missing/", missing_page),
    path("taxii2/failing/", FailingTaxiiView.as_view()),
    path("feed/failing/", FailingTaxiiView.as_view()),
    path("api/v1/failing/", FailingApiView.as_view()),
    path("console/failing/", failing_page),
    *urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
