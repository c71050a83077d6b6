"""bootstrap: from an empty migrated database to a Forum, its key and the profile, twice."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from members.choices import MemberKind
from members.models import KeyState, Member, SigningKey
from signatures.models import StixObject
from signatures.sdk.constants import FORUM_IDENTITY_ID, PROMPT_PATTERN_EXTENSION_ID
from signatures.services import signing_key_revoke
from tests.conftest import run


@pytest.mark.django_db
def test_it_creates_the_forum_its_key_and_the_profile_on_an_empty_database() -> None:
    output = run("bootstrap")
    forum = Member.objects.get(kind=MemberKind.FORUM)
    assert (forum.name, forum.identity_id) == ("forum", FORUM_IDENTITY_ID)
    key = SigningKey.objects.get(member=forum)
    assert key.state == KeyState.ACTIVE and key.custodial
    assert StixObject.objects.get(stix_id=PROMPT_PATTERN_EXTENSION_ID).publisher == forum
    assert StixObject.objects.filter(stix_id=FORUM_IDENTITY_ID).exists()
    assert f"created the Forum member forum ({FORUM_IDENTITY_ID})" in output
    assert f"created the Forum's signing key {key.kid}" in output
    published = StixObject.objects.filter(publisher=forum).count()
    assert published > 10
    assert f"profile and the TLP 2.0 markings ({published} objects)" in output


@pytest.mark.django_db
def test_it_changes_nothing_when_run_again() -> None:
    run("bootstrap")
    objects, keys = StixObject.objects.count(), SigningKey.objects.count()
    output = run("bootstrap")
    assert Member.objects.count() == 1
    assert (StixObject.objects.count(), SigningKey.objects.count()) == (objects, keys)
    assert "the Forum member exists: forum" in output
    assert "the Forum's signing key is active" in output
    assert "profile and TLP 2.0 markings: 0 published, " in output


@pytest.mark.django_db
def test_it_gives_a_forum_without_an_active_key_a_new_one() -> None:
    run("bootstrap")
    old = SigningKey.objects.get()
    signing_key_revoke(key=old, reason="key compromise")
    output = run("bootstrap")
    new = SigningKey.objects.get(state=KeyState.ACTIVE)
    assert new.kid != old.kid
    assert f"created the Forum's signing key {new.kid}" in output


@pytest.mark.django_db
def test_it_keeps_an_existing_forum_under_its_own_name(forum: Member) -> None:
    output = run("bootstrap", "--name", "operator")
    assert list(Member.objects.values_list("name", flat=True)) == ["forum"]
    assert "the Forum member exists: forum" in output


@pytest.mark.django_db
def test_it_refuses_a_name_taken_by_another_member(forum: Member) -> None:
    Member.objects.filter(pk=forum.pk).update(kind=MemberKind.LAB)
    with pytest.raises(CommandError, match="exists and is not the Forum"):
        run("bootstrap")


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_run_before_migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", "fanout", "zero", verbosity=0)
    try:
        with pytest.raises(CommandError, match=r"run manage.py migrate first"):
            run("bootstrap")
        assert not Member.objects.exists()
    finally:
        call_command("migrate", verbosity=0)
