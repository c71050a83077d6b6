"""seed_demo: the demo members, their campaign and fresh tokens, safe to run again."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from members.models import ApiToken, AuditEvent, Member
from signatures.management.commands.seed_demo import MEMBERS
from signatures.models import StixObject
from tests.factories import token_for


def seed() -> dict[str, str]:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()[1:]
    return {line.split()[0]: line.split()[-1] for line in lines}


@pytest.mark.django_db
def test_it_seeds_every_kind_of_signature_across_three_labs() -> None:
    tokens = seed()
    assert set(tokens) == {"forum", "lab-aurora", "lab-borealis", "lab-cirrus", "sentinel-detect"}
    assert all(
        ApiToken.objects.filter(token_hash=ApiToken.hash(t)).exists() for t in tokens.values()
    )
    types = set(StixObject.objects.values_list("type", flat=True))
    assert {
        "prompt-pattern", "payment-instrument", "api-session-profile", "account-cluster",
        "ipv4-addr", "indicator", "sighting", "relationship", "attack-pattern",
        "marking-definition", "extension-definition", "identity",
    } <= types  # fmt: skip
    publishers = set(
        StixObject.objects.filter(type="indicator").values_list("publisher__name", flat=True)
    )
    assert publishers == {"lab-aurora", "lab-borealis", "lab-cirrus"}


@pytest.mark.django_db
def test_a_second_run_publishes_nothing_new() -> None:
    seed()
    count = StixObject.objects.count()
    seed()
    assert StixObject.objects.count() == count
    assert Member.objects.count() == 5


@pytest.mark.django_db
def test_it_reports_what_each_lab_published_and_then_found_present() -> None:
    first, second = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=io.StringIO(), stderr=first)
    call_command("seed_demo", stdout=io.StringIO(), stderr=second)
    labs = ("lab-aurora", "lab-borealis", "lab-cirrus")
    assert [line.split(":")[0] for line in first.getvalue().splitlines()] == list(labs)
    assert all(" 0 accepted" not in line for line in first.getvalue().splitlines())
    assert all(" 0 accepted, " in line for line in second.getvalue().splitlines())


def test_it_reuses_members_that_exist_and_gives_each_run_fresh_tokens(forum: Member) -> None:
    first = seed()
    second = seed()
    assert Member.objects.get(name="forum") == forum
    assert all(first[name] != second[name] for name in first)
    demo_tokens = ApiToken.objects.filter(name="demo", member__name="forum")
    assert demo_tokens.count() == 2


def test_it_revokes_the_demo_tokens_of_the_previous_run(forum: Member) -> None:
    first = seed()
    second = seed()
    for name in first:
        assert _answers(first[name]) == 401
        assert _answers(second[name]) == 200
    live = ApiToken.objects.filter(name="demo", revoked_at__isnull=True)
    assert live.count() == len(MEMBERS)
    # A token the operator issued by hand is not a demo token and keeps working.
    kept = token_for(forum, "read")
    seed()
    assert _answers(kept) == 200
    assert AuditEvent.objects.filter(action="token-revoke").count() == 2 * len(MEMBERS)


@pytest.mark.django_db
def test_it_prints_each_member_identity_id_beside_its_token() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    rows = [line.split() for line in out.getvalue().splitlines()[1:]]
    assert {row[0]: row[2] for row in rows} == dict(
        Member.objects.values_list("name", "identity_id")
    )


def _answers(raw: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client.get("/api/v1/members/me/").status_code


@pytest.mark.django_db
def test_it_takes_the_forum_bootstrap_made_under_another_name() -> None:
    call_command("bootstrap", "--name", "operator", stdout=io.StringIO())
    tokens = seed()
    assert "operator" in tokens and "forum" not in tokens
    assert Member.objects.filter(kind="forum").count() == 1
    assert _answers(tokens["operator"]) == 200
