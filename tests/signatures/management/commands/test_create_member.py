"""create_member: a member and its identity from the command line."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from members.models import Member
from signatures.models import StixObject
from tests.conftest import run


def test_create_member_prints_the_identity_id(forum: Member) -> None:
    output = run("create_member", "--name", "lab-z", "--kind", "lab")
    identity_id = output.strip().splitlines()[-1]
    assert identity_id.startswith("identity--")
    assert Member.objects.get(name="lab-z").identity_id == identity_id


def test_create_member_refuses_a_duplicate_name(lab_a: Member) -> None:
    with pytest.raises(CommandError, match="already exists"):
        run("create_member", "--name", "lab-a", "--kind", "lab")


def test_it_refuses_a_name_that_is_not_a_slug_and_points_to_display_name(forum: Member) -> None:
    with pytest.raises(CommandError) as caught:
        run("create_member", "--name", "Google DeepMind", "--kind", "lab")
    assert "--name 'Google DeepMind' is not an account name" in str(caught.value)
    assert '--name google-deepmind --display-name "Google DeepMind"' in str(caught.value)
    assert not Member.objects.filter(display_name="Google DeepMind").exists()


def test_it_takes_the_organisation_name_in_display_name(forum: Member) -> None:
    run("create_member", "--name", "google-deepmind", "--display-name", "Google DeepMind",
        "--kind", "lab")  # fmt: skip
    assert Member.objects.get(name="google-deepmind").display_name == "Google DeepMind"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["lab", "partner"])
def test_it_refuses_a_member_before_the_forum_and_names_bootstrap(kind: str) -> None:
    # Every identity is signed by the Forum: none may be left self-signed or unsigned.
    with pytest.raises(CommandError, match=r"no Forum member yet.*manage.py bootstrap"):
        run("create_member", "--name", "early", "--kind", kind)
    assert not Member.objects.exists()
    assert not StixObject.objects.exists()
