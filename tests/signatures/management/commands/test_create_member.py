"""create_member: a member and its identity from the command line."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from members.models import Member
from tests.conftest import run


def test_create_member_prints_the_identity_id(forum: Member) -> None:
    output = run("create_member", "--name", "lab-z", "--kind", "lab")
    identity_id = output.strip().splitlines()[-1]
    assert identity_id.startswith("identity--")
    assert Member.objects.get(name="lab-z").identity_id == identity_id


def test_create_member_refuses_a_duplicate_name(lab_a: Member) -> None:
    with pytest.raises(CommandError, match="already exists"):
        run("create_member", "--name", "lab-a", "--kind", "lab")
