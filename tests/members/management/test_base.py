"""members/management/base.py: the --member argument of the members' commands, and a
service's refusal reported as a command error rather than a traceback."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser

from members.management.base import MemberCommand, service_errors
from members.models import ForumMissing, Member


class Recorder(MemberCommand):
    """A member command that records what it is handed, or raises what it is told to."""

    def __init__(self, raises: Exception | None = None) -> None:
        super().__init__(stdout=io.StringIO(), stderr=io.StringIO())
        self.raises = raises
        self.calls: list[tuple[Member, dict[str, Any]]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--label", default="")

    def act(self, member: Member, **options: Any) -> None:
        self.calls.append((member, options))
        if self.raises is not None:
            raise self.raises


# --- service_errors --------------------------------------------------------------------------


def test_it_reports_every_message_of_a_validation_error_on_one_line() -> None:
    refusal = ValidationError({"name": ["Taken."], "kind": ["Unknown kind."]})
    with pytest.raises(CommandError) as caught, service_errors():
        raise refusal
    assert str(caught.value) == "Taken. Unknown kind."
    assert caught.value.returncode == 1
    assert caught.value.__cause__ is refusal


def test_it_reports_a_missing_forum_with_how_to_create_it() -> None:
    with pytest.raises(CommandError) as caught, service_errors():
        raise ForumMissing
    assert str(caught.value) == str(ForumMissing())
    assert "Create it first" in str(caught.value)


def test_it_lets_any_other_error_through_unchanged() -> None:
    with pytest.raises(KeyError), service_errors():
        raise KeyError("bug")


# --- MemberCommand ---------------------------------------------------------------------------


def test_it_hands_act_the_named_member_and_the_commands_own_options(lab_a: Member) -> None:
    command = Recorder()
    call_command(command, "--member", "lab-a", "--label", "ci")
    ((member, options),) = command.calls
    assert member == lab_a
    assert options["label"] == "ci"
    assert "member" not in options


def test_it_names_a_member_it_does_not_know_and_does_not_act(lab_a: Member) -> None:
    command = Recorder()
    with pytest.raises(CommandError, match=r"^No member named 'lab-z'\.$"):
        call_command(command, "--member", "lab-z")
    assert command.calls == []


def test_it_needs_the_member_argument(lab_a: Member) -> None:
    command = Recorder()
    with pytest.raises(CommandError, match="--member"):
        call_command(command)
    assert command.calls == []


@pytest.mark.parametrize(
    ("raised", "reported"),
    [
        (ValidationError("lab-a has no active registered key."), "lab-a has no active"),
        (ForumMissing(), "no Forum member yet"),
    ],
)
def test_it_reports_a_refusal_from_act_as_a_command_error(
    lab_a: Member, raised: Exception, reported: str
) -> None:
    with pytest.raises(CommandError, match=reported):
        call_command(Recorder(raises=raised), "--member", "lab-a")
