"""Per-member rate and concurrency limits (docs/api.md, "Limits"), over HTTP.

429 with Retry-After, in the error envelope of the endpoint (the TAXII media type on TAXII
paths), keyed on the member that authenticated: failed authentications count for nobody.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from exchange.throttling import requests_in_progress
from members.models import Member
from signatures.models import Collection
from signatures.selectors import collection_default
from tests.factories import token_for

TAXII = "application/taxii+json;version=2.1"
DEADLINE = 30.0


def discovery(client: APIClient) -> Any:
    return client.get("/taxii2/", HTTP_ACCEPT=TAXII)


def assert_throttled(response: Any, content_type: str, reason: str) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == content_type
    assert int(response["Retry-After"]) >= 1
    error = json.loads(response.content)
    assert (error["http_status"], error["error_code"]) == ("429", "throttled")
    assert reason in error["description"]


def test_it_answers_429_past_the_rate_limit_on_taxii_and_rest(
    lab_a: Member, client_for: Callable[..., APIClient], settings: Any
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 3
    client = client_for(lab_a)
    assert [discovery(client).status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(discovery(client), TAXII, "3 requests a minute")
    assert_throttled(client.get("/api/v1/objects/"), "application/json", "3 requests a minute")


def test_it_counts_each_member_on_its_own(
    lab_a: Member, lab_b: Member, client_for: Callable[..., APIClient], settings: Any
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 2
    greedy, other = client_for(lab_a), client_for(lab_b)
    for _ in range(4):
        discovery(greedy)
    assert discovery(greedy).status_code == 429
    assert discovery(other).status_code == 200


def test_it_counts_every_token_of_a_member_together(
    lab_a: Member, client_for: Callable[..., APIClient], settings: Any
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 2
    first, second = client_for(lab_a), client_for(lab_a)
    assert discovery(first).status_code == discovery(second).status_code == 200
    assert discovery(second).status_code == 429


def test_it_applies_a_members_own_limits(
    lab_a: Member, lab_b: Member, client_for: Callable[..., APIClient], settings: Any
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 2
    Member.objects.filter(pk=lab_a.pk).update(rate_limit_per_minute=0)  # none
    Member.objects.filter(pk=lab_b.pk).update(rate_limit_per_minute=1)
    unlimited, strict = client_for(lab_a), client_for(lab_b)
    assert {discovery(unlimited).status_code for _ in range(5)} == {200}
    assert discovery(strict).status_code == 200
    assert discovery(strict).status_code == 429


def test_it_never_counts_failed_authentications_against_the_member(
    lab_a: Member, client_for: Callable[..., APIClient], settings: Any
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 2
    guesser = APIClient()
    wrong = base64.b64encode(f"{lab_a.name}:isac_00000000_guess".encode()).decode()
    guesser.credentials(HTTP_AUTHORIZATION=f"Basic {wrong}")
    assert {discovery(guesser).status_code for _ in range(5)} == {401}
    assert {discovery(APIClient()).status_code for _ in range(5)} == {401}
    client = client_for(lab_a)
    assert [discovery(client).status_code for _ in range(2)] == [200, 200]


def test_it_logs_the_member_but_never_the_credentials(
    lab_a: Member, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.RATE_LIMIT_PER_MINUTE = 1
    raw = token_for(lab_a)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    with caplog.at_level(logging.DEBUG, logger="exchange.throttling"):
        discovery(client)
        assert discovery(client).status_code == 429
    assert lab_a.name in caplog.text
    assert raw not in caplog.text and raw.split("_")[-1] not in caplog.text


# --- Concurrency, against the live server ---------------------------------------------------


class StalledPost:
    """A TAXII POST whose body is held back: the request is inside the view, holding its
    concurrency slot, until ``finish`` sends the rest of the body."""

    def __init__(self, url: str, path: str, member: Member) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=DEADLINE)
        self.body = json.dumps({"objects": []}).encode()
        self.connection.putrequest("POST", path)
        self.connection.putheader("Authorization", f"Bearer {token_for(member)}")
        self.connection.putheader("Accept", TAXII)
        self.connection.putheader("Content-Type", TAXII)
        self.connection.putheader("Content-Length", str(len(self.body)))
        self.connection.endheaders()
        self.connection.send(self.body[:1])

    def finish(self) -> int:
        self.connection.send(self.body[1:])
        status = self.connection.getresponse().status
        self.connection.close()
        return status


@pytest.fixture
def live(live_server: Any) -> Iterator[str]:
    yield str(live_server.url)


def get(url: str, path: str, member_token: str) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=DEADLINE)
    connection.request(
        "GET", path, headers={"Authorization": f"Bearer {member_token}", "Accept": TAXII}
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_429_past_the_concurrency_limit_and_frees_the_slot_after(
    live: str, lab_a: Member, lab_b: Member, settings: Any
) -> None:
    settings.CONCURRENCY_LIMIT = 1
    settings.RATE_LIMIT_PER_MINUTE = 0  # only the concurrency limit is under test
    feed: Collection = collection_default()
    path = f"/{feed.api_root}/collections/{feed.id}/objects/"
    token_a, token_b = token_for(lab_a), token_for(lab_b)
    stalled = StalledPost(live, path, lab_a)
    # Wait until the stalled request holds lab A's one slot (the view waits for its body),
    # asking the limits' own store rather than polling with lab A's requests, which would
    # compete for that slot. A bounded number of tries, not a timing assumption.
    for _ in range(3000):
        if requests_in_progress(lab_a) == 1:
            break
        time.sleep(0.01)
    assert requests_in_progress(lab_a) == 1
    response = get(live, "/taxii2/", token_a)
    assert response.status == 429
    assert response.getheader("Retry-After") == "1"
    assert response.getheader("Content-Type") == TAXII
    assert get(live, "/taxii2/", token_b).status == 200  # another member is not held up
    assert stalled.finish() == 202
    assert get(live, "/taxii2/", token_a).status == 200  # the slot was given back
