"""rotate_key --member NAME: a new custodial signing key; the previous one is retired now."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.models import Member
from members.services import signing_key_rotate


class Command(BaseCommand):
    help = (
        "Create a new active custodial signing key for a member and retire its previous "
        "custodial key (valid_until = now). Prints the new key's kid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--member", required=True, help="The member's account name.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            member = Member.objects.get(name=options["member"])
        except Member.DoesNotExist as exc:
            raise CommandError(f"No member named {options['member']!r}.") from exc
        try:
            key = signing_key_rotate(member=member)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(key.kid)
