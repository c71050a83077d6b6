"""What the members' management commands share: the --member argument and error reporting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.choices import MemberKind
from members.models import ForumMissing, Member


@contextmanager
def service_errors() -> Iterator[None]:
    """Report a service's ValidationError, or a missing Forum, as a command error (exit
    status 1, no traceback)."""
    try:
        yield
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc
    except ForumMissing as exc:
        raise CommandError(str(exc)) from exc


def member_missing(names: str) -> CommandError:
    """The error for member names that do not exist, pointing to ``bootstrap`` when the
    exchange has no Forum yet (a fresh install has no members at all)."""
    message = f"No member named {names}."
    if not Member.objects.filter(kind=MemberKind.FORUM).exists():
        message += f" {ForumMissing()}"
    return CommandError(message)


class MemberCommand(BaseCommand):
    """A command about one member, named with ``--member``; subclasses implement ``act``."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--member", required=True, help="The member's account name.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options.pop("member")
        try:
            member = Member.objects.get(name=name)
        except Member.DoesNotExist as exc:
            raise member_missing(repr(name)) from exc
        with service_errors():
            self.act(member, **options)

    act: Callable[..., None]
