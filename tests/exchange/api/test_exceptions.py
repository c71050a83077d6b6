"""exchange/api/exceptions.py: every DRF error as the TAXII 2.1 error message (section 3.6.1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions

from exchange.api.exceptions import error_body, exception_handler

ENVELOPE = {"title", "description", "http_status", "error_code"}


def handled(exc: Exception) -> Any:
    response = exception_handler(exc, {"view": None, "args": (), "kwargs": {}, "request": None})
    assert response is not None
    assert set(response.data) == ENVELOPE
    assert response.data["http_status"] == str(response.status_code)
    return response


@pytest.mark.parametrize(
    ("exc", "status", "title", "code"),
    [
        (exceptions.NotFound("No such thing."), 404, "Not found", "not_found"),
        (Http404("internal detail"), 404, "Not found", "not_found"),
        (PermissionDenied("internal detail"), 403, "Forbidden", "permission_denied"),
        (exceptions.NotAuthenticated(), 401, "Authentication required", "not_authenticated"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "Unsupported media type", None),
    ],
)
def test_it_answers_each_error_in_the_envelope(
    exc: Exception, status: int, title: str, code: str | None
) -> None:
    response = handled(exc)
    assert response.status_code == status
    assert response.data["title"] == title
    assert response.data["error_code"] == (code or "unsupported_media_type")


def test_it_keeps_djangos_own_text_out_of_the_description() -> None:
    # Django's Http404 and PermissionDenied may carry internals; DRF's defaults replace them.
    assert "internal" not in handled(Http404("internal detail")).data["description"]
    assert "internal" not in handled(PermissionDenied("internal detail")).data["description"]


def test_it_flattens_field_errors_into_one_description() -> None:
    exc = exceptions.ValidationError({"url": ["Enter a URL.", "Too long."], "events": ["Bad."]})
    response = handled(exc)
    assert response.status_code == 400
    assert response.data["description"] == "url: Enter a URL. Too long. events: Bad."
    assert response.data["error_code"] == "invalid"


def test_it_keeps_the_headers_drf_sets() -> None:
    response = handled(exceptions.Throttled(wait=7))
    assert (response.status_code, response["Retry-After"]) == (429, "7")
    assert response.data["title"] == "Too many requests"


def test_it_leaves_an_unexpected_exception_to_django() -> None:
    context = {"view": None, "args": (), "kwargs": {}, "request": None}
    assert exception_handler(RuntimeError("boom"), context) is None


def test_it_titles_an_unlisted_status_plainly() -> None:
    assert error_body(418, "Short and stout.", "teapot") == {
        "title": "Error",
        "description": "Short and stout.",
        "http_status": "418",
        "error_code": "teapot",
    }
