"""Project-level guarantees: safe defaults and a served OpenAPI description."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings
from rest_framework.test import APIClient


def test_debug_is_off_by_default() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import exchange.settings as s; print(s.DEBUG)"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DATA_DIR": settings.DATA_DIR.as_posix()},
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_the_secret_key_is_not_in_the_source() -> None:
    source = (settings.BASE_DIR / "exchange" / "settings.py").read_text()
    assert settings.SECRET_KEY not in source
    assert len(settings.SECRET_KEY) >= 50


@pytest.mark.django_db
def test_the_openapi_schema_and_docs_are_served() -> None:
    client = APIClient()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/objects/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # The UI's assets are served locally: the page works on an offline network.
    assert b"cdn." not in docs.content
