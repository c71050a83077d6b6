"""rotate_key --member NAME: a new custodial signing key; the previous one is retired now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from members.management.base import MemberCommand
from members.models import Member
from signatures.services import signing_key_rotate


class Command(MemberCommand):
    help = (
        "Create a new active custodial signing key for a member and retire its previous "
        "custodial key (valid_until = now). Prints the new key's kid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)

    def act(self, member: Member, **options: Any) -> None:
        key = signing_key_rotate(member=member)
        self.stdout.write(key.kid)
