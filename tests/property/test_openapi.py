"""Schemathesis over the exchange's own OpenAPI schema (/api/schema/), in process: every
operation, with requests generated from the schema and a member's token, never answers 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, note, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.schemas import OpenApiSchema

from members.models import Member
from signatures.models import Collection
from signatures.selectors import collection_default
from tests.factories import token_for
from tests.property.conftest import BOUNDED


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
def lab_token(lab_a: Member) -> str:
    return token_for(lab_a, "read", "publish")


def operation_check(
    operation: APIOperation, mode: GenerationMode, headers: dict[str, str], feed: Collection
) -> None:
    @settings(
        BOUNDED,
        max_examples=10,
        suppress_health_check=[*BOUNDED.suppress_health_check, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Case) -> None:
        note(operation.label)
        if mode is GenerationMode.POSITIVE:
            # Random API roots and collection ids only ever reach the 404; aim valid requests
            # at a collection that exists, so that its views run.
            for name, value in (("api_root", feed.api_root), ("collection_id", str(feed.id))):
                if name in case.path_parameters:
                    case.path_parameters[name] = value
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    try:
        call()
    except Unsatisfiable:
        # Nothing in this operation's schema can be broken (no parameters, no body), so
        # there is no negative case to send; the positive run covers it.
        assert mode is GenerationMode.NEGATIVE


@pytest.mark.parametrize("prefix", ["/api/", "/taxii2/", "/{api_root}/"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_5xx(
    api_schema: OpenApiSchema, lab_token: str, mode: GenerationMode, prefix: str
) -> None:
    """Valid requests by the schema (positive), and requests that break it (negative).

    The operations are walked here rather than through schemathesis' pytest plugin, whose
    subtests do not run under this pytest; one test per group of paths keeps each short.
    """
    feed = collection_default()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    chosen = [operation for operation in operations if operation.path.startswith(prefix)]
    assert chosen, prefix
    for operation in chosen:
        operation_check(operation, mode, {"Authorization": f"Bearer {lab_token}"}, feed)
