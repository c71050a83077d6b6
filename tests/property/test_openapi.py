"""Schemathesis over the exchange's own OpenAPI schema (/api/schema/), in process.

Every operation, with requests generated from the schema and a member's token, is held to
schemathesis' default checks: no 5xx, only documented status codes, content types, headers
and bodies, schema-valid requests accepted (positive) and schema-breaking ones refused
(negative), no answer without the credentials the schema requires.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, note, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from members.models import Member
from signatures.models import Collection
from signatures.selectors import collection_default
from tests.factories import token_for
from tests.property.conftest import BOUNDED

#: The REST publish operation (see publish_refusals_check).
PUBLISH = "POST /api/v1/objects/"
#: Distinct Ed25519 public keys (any 32 bytes are one), the same ones on every run.
FRESH_KEYS = (hashlib.sha256(str(n).encode()).digest() for n in itertools.count())
SLUG = re.compile(r"[-a-zA-Z0-9_]+")
#: Examples per operation and mode: about 30 operations, two modes, on a loaded CI machine.
EXAMPLES = 8


@pytest.fixture
def api_schema(db: None) -> Iterator[OpenApiSchema]:
    # The WSGI handler closes the database connection after each request, which would end
    # the test's transaction; Django's test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(lab_a: Member) -> dict[GenerationMode, dict[str, str]]:
    """Both schemes the schema declares: Bearer for valid requests, Basic for the others."""
    token = token_for(lab_a, "read", "publish")
    basic = base64.b64encode(f"{lab_a.name}:{token}".encode()).decode()
    return {
        GenerationMode.POSITIVE: {"Authorization": f"Bearer {token}"},
        GenerationMode.NEGATIVE: {"Authorization": f"Basic {basic}"},
    }


def existing_aim(case: Case, feed: Collection) -> None:
    """Aim a valid request at things that exist, which no schema can say.

    Random API roots and collection ids only ever reach the 404, and random collection ids
    and member names in a subscription are refused (400) as naming nothing: the valid
    requests name the feed and the caller instead, so that the views behind them run. A
    ``next`` cursor is valid only as the server issued it; the negative cases send random
    ones, and tests/property/test_query_parameters.py hostile ones. A key, once registered,
    is registered.
    """
    for name, value in (("api_root", feed.api_root), ("collection_id", str(feed.id))):
        if name in case.path_parameters:
            case.path_parameters[name] = value
    if case.query:
        case.query.pop("next", None)
    if isinstance(case.body, dict) and case.operation.path == "/api/v1/members/me/keys/":
        # A key is registered once (a second time is a 400): each valid request brings its own.
        case.body["x"] = base64.urlsafe_b64encode(next(FRESH_KEYS)).rstrip(b"=").decode()
    if isinstance(case.body, dict) and case.operation.path == "/api/v1/subscriptions/":
        if "collections" in case.body:
            case.body["collections"] = [str(feed.id)]
        if "owner" in case.body:
            case.body["owner"] = "lab-a"


def publish_refusals_check(response: Any) -> None:
    """REST publish, instead of positive_data_acceptance: a valid request is answered with
    the report, and a 422 means that every object in it was refused, each with its reason.

    A STIX object's validity is more than JSON Schema can say (its type is its id's prefix,
    its timestamps are in order, its creator is the caller...), so a schema-valid request
    may carry objects the exchange refuses one by one; the request itself is accepted.
    """
    assert response.status_code in {200, 207, 422}, response.text[:500]
    report = response.json()
    refused = [r for r in report["results"] if r["status"] == "refused"]
    assert report["refused"] == len(refused)
    assert all(result["reason"] for result in refused)
    if response.status_code == 422:
        assert refused == report["results"] != []


def operation_check(
    operation: APIOperation, mode: GenerationMode, headers: dict[str, str], feed: Collection
) -> None:
    @settings(
        BOUNDED,
        max_examples=EXAMPLES,
        suppress_health_check=[*BOUNDED.suppress_health_check, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Case) -> None:
        note(operation.label)
        if mode is GenerationMode.POSITIVE:
            existing_aim(case, feed)
        elif not SLUG.fullmatch(case.path_parameters.get("api_root", "feed")):
            # A first path segment that is no slug is under no API root: Django's 404 page
            # answers it, as any path outside the API (exchange/errors.py). An API root that
            # does not exist is still a request the schema refuses, and TAXII answers it.
            case.path_parameters["api_root"] = "no-such-root"
        if mode is GenerationMode.POSITIVE and operation.label == PUBLISH:
            response = case.call_and_validate(
                headers=headers, excluded_checks=[positive_data_acceptance]
            )
            publish_refusals_check(response)
        else:
            case.call_and_validate(headers=headers)

    try:
        call()
    except Unsatisfiable:
        # Nothing in this operation's schema can be broken (no parameters, no body), so
        # there is no negative case to send; the positive run covers it.
        assert mode is GenerationMode.NEGATIVE


@pytest.mark.parametrize("prefix", ["/api/", "/taxii2/", "/{api_root}/"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_passes_the_default_checks(
    api_schema: OpenApiSchema,
    credentials: dict[GenerationMode, dict[str, str]],
    mode: GenerationMode,
    prefix: str,
) -> None:
    """Valid requests by the schema (positive), and requests that break it (negative).

    The operations are walked here rather than through schemathesis' pytest plugin, whose
    subtests do not run under this pytest; one test per group of paths keeps each short.
    Every operation runs, and the failures of all of them are reported together.
    """
    feed = collection_default()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    chosen = [operation for operation in operations if operation.path.startswith(prefix)]
    assert chosen, prefix
    failures: dict[str, str] = {}
    for operation in chosen:
        try:
            operation_check(operation, mode, credentials[mode], feed)
        # Schemathesis' FailureGroup is a BaseExceptionGroup: collected, reported together.
        except (Exception, BaseExceptionGroup) as exc:
            failures[operation.label] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
