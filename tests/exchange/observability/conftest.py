"""Reading /metrics as a scraper does, and a port nothing listens on, for the observability
tests."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

#: The scraper's bearer token, set as ``METRICS_TOKEN`` by the ``scrape`` fixture.
TOKEN = "scrape-" + "x" * 40


def closed_port() -> int:
    """A local port that refuses connections (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Exposition:
    """The samples of one scrape, by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def value(self, metric: str, /, **labels: str) -> float | None:
        """The value of the sample with exactly these labels, or None when it is absent."""
        return self.samples.get((metric, frozenset(labels.items())))


@pytest.fixture
def scrape(settings: Any) -> Callable[[], Exposition]:
    """GET /metrics with the scraper's token, as a parsed exposition."""
    settings.METRICS_TOKEN = TOKEN

    def read() -> Exposition:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=")
        return Exposition(response.content.decode())

    return read
