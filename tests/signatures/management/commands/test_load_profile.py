"""load_profile: the Forum (re)publishes its profile and the TLP 2.0 markings."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from members.models import Member
from signatures.models import StixObject
from signatures.sdk.constants import PROMPT_PATTERN_EXTENSION_ID
from tests.conftest import run


def test_load_profile_is_idempotent(forum: Member) -> None:
    out = io.StringIO()
    call_command("load_profile", stdout=out)
    assert out.getvalue().startswith("0 accepted, ")
    assert out.getvalue().strip().endswith("0 refused")


def test_it_publishes_again_a_definition_the_exchange_no_longer_holds(forum: Member) -> None:
    StixObject.objects.filter(stix_id=PROMPT_PATTERN_EXTENSION_ID).delete()
    output = run("load_profile")
    assert output.startswith("1 accepted, ")
    assert output.strip().endswith(" present, 0 refused")
    restored = StixObject.objects.get(stix_id=PROMPT_PATTERN_EXTENSION_ID)
    assert restored.publisher == forum


@pytest.mark.django_db
def test_it_refuses_to_run_before_the_forum_exists() -> None:
    with pytest.raises(CommandError, match="no Forum member yet"):
        run("load_profile")
    assert not StixObject.objects.filter(stix_id=PROMPT_PATTERN_EXTENSION_ID).exists()
