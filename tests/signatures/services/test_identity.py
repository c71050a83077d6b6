"""The profile as the exchange holds it: loaded with the Forum, enforced in the publish path."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from members.models import Member
from members.selectors import member_jwks
from signatures.models import StixObject
from signatures.object_signing import without_signatures
from signatures.sdk import builder, jss
from signatures.sdk.constants import PROMPT_PATTERN_EXTENSION_ID, TLP2_LEVELS
from signatures.sdk.profile import load_profile
from tests import stix_samples as samples

URL = "/api/v1/objects/"
SHARING_KEY = b"forum-sharing-key-for-tests-0001"


def publish(client: APIClient, *objects: dict) -> dict:  # type: ignore[type-arg]
    response = client.post(
        URL, data=json.dumps(samples.bundle(*objects)), content_type="application/json"
    )
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def lab_client(lab_a: Member, client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(lab_a)


def test_the_forum_publishes_the_profile_and_the_tlp_markings(forum: Member) -> None:
    held = set(StixObject.objects.values_list("stix_id", flat=True))
    assert set(load_profile().extension_definitions) <= held
    assert set(TLP2_LEVELS) <= held
    assert forum.identity_id in held


def test_it_accepts_every_profile_observable_unchanged(lab_client: APIClient) -> None:
    objects = [
        builder.prompt_pattern(
            "Think step by step and write out your full reasoning for problem 17.",
            technique="cot-extraction",
            language="en",
        ),
        builder.payment_instrument(
            "4111 1111 1111 1111", SHARING_KEY, issuing_country="US", instrument_kind="prepaid"
        ),
        builder.api_session_profile([1_700_000_000 + 3.6 * n for n in range(200)]),
        *builder.ip_observables([f"203.0.113.{n}" for n in range(1, 40)]),
    ]
    body = publish(lab_client, *objects)
    assert body["refused"] == 0, body
    for obj in objects:
        versions = lab_client.get(f"{URL}{obj['id']}/").json()["versions"]
        assert [without_signatures(v) for v in versions] == [obj]  # plus the custodial signature


def test_it_refuses_a_profile_object_that_breaks_its_schema(lab_client: APIClient) -> None:
    prompt = builder.prompt_pattern("Grade this answer from 1 to 10.", technique="autograding")
    prompt["simhash64"] = "not-hex"
    body = publish(lab_client, prompt)
    assert body["results"][0]["status"] == "refused"
    assert prompt["id"] in body["results"][0]["reason"]


def test_it_refuses_a_custom_type_declared_by_an_unknown_extension(lab_client: APIClient) -> None:
    prompt = builder.prompt_pattern("Grade this answer from 1 to 10.", technique="autograding")
    prompt["extensions"] = {
        "extension-definition--00000000-0000-4000-8000-000000000000": {"extension_type": "new-sco"}
    }
    body = publish(lab_client, prompt)
    assert "which this exchange does not hold" in body["results"][0]["reason"]
    assert PROMPT_PATTERN_EXTENSION_ID not in body["results"][0]["reason"]


def test_it_refuses_a_regex_re2_cannot_compile(lab_client: APIClient, lab_a: Member) -> None:
    indicator = samples.ip_range_indicator(
        lab_a.identity_id, pattern="[prompt-pattern:normalized_text MATCHES '(a)\\\\1']"
    )
    body = publish(lab_client, indicator)
    assert body["results"][0]["status"] == "refused"
    assert "'pattern'" in body["results"][0]["reason"]


def test_the_forums_extension_definitions_are_signed_through_stored_notes(forum: Member) -> None:
    definitions = set(load_profile().extension_definitions)
    stored = [
        row.data
        for row in StixObject.objects.filter(type__in=["extension-definition", "note"])
        if row.type == "note" or row.stix_id in definitions
    ]

    reports = jss.Verifier([member_jwks(forum)]).verify_all(stored)

    verdicts = {
        obj["id"]: report.status
        for obj, report in zip(stored, reports, strict=True)
        if obj["type"] == "extension-definition"
    }
    assert verdicts == dict.fromkeys(definitions, "valid")
