"""set_custodial: switch whether the exchange signs a member's objects, audited."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError

from members.models import AuditEvent, Member
from signatures.sdk import jss
from signatures.services.identity import signing_key_register
from tests.conftest import run


def registered(member: Member) -> None:
    public_key = Ed25519PrivateKey.generate().public_key()
    signing_key_register(member=member, jwk=jss.public_jwk(public_key))


def test_it_switches_custodial_signing_off_and_on_again(lab_a: Member) -> None:
    registered(lab_a)
    assert run("set_custodial", "--member", "lab-a", "--off").strip() == (
        "Custodial signing for lab-a: off"
    )
    lab_a.refresh_from_db()
    assert not lab_a.custodial_signing
    assert run("set_custodial", "--member", "lab-a", "--on").strip() == (
        "Custodial signing for lab-a: on"
    )
    lab_a.refresh_from_db()
    assert lab_a.custodial_signing
    assert AuditEvent.objects.filter(action="custodial-signing-set", target="lab-a").count() == 2


def test_it_changes_and_audits_nothing_when_already_in_that_state(lab_a: Member) -> None:
    assert run("set_custodial", "--member", "lab-a", "--on").strip().endswith(": on")
    assert not AuditEvent.objects.filter(action="custodial-signing-set").exists()


def test_it_refuses_off_without_a_registered_key_as_a_command_error(lab_a: Member) -> None:
    with pytest.raises(CommandError, match="lab-a has no active registered key"):
        run("set_custodial", "--member", "lab-a", "--off")
    lab_a.refresh_from_db()
    assert lab_a.custodial_signing


def test_it_refuses_off_for_the_forum(forum: Member) -> None:
    with pytest.raises(CommandError, match="The Forum signs with its custodial key"):
        run("set_custodial", "--member", "forum", "--off")


def test_it_names_a_member_it_does_not_know(lab_a: Member) -> None:
    with pytest.raises(CommandError, match="No member named 'lab-z'"):
        run("set_custodial", "--member", "lab-z", "--on")


@pytest.mark.parametrize("switches", [(), ("--on", "--off")])
def test_it_needs_exactly_one_of_on_and_off(lab_a: Member, switches: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        run("set_custodial", "--member", "lab-a", *switches)
