"""set_custodial --member NAME --on|--off: whether the exchange signs the member's objects."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.models import Member
from members.services import custodial_signing_set


class Command(BaseCommand):
    help = (
        "Switch custodial signing on or off for a member. Off: its unsigned objects are "
        "refused; it needs an active registered key first (register_key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--member", required=True, help="The member's account name.")
        switch = parser.add_mutually_exclusive_group(required=True)
        switch.add_argument("--on", dest="enabled", action="store_true")
        switch.add_argument("--off", dest="enabled", action="store_false")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            member = Member.objects.get(name=options["member"])
        except Member.DoesNotExist as exc:
            raise CommandError(f"No member named {options['member']!r}.") from exc
        try:
            member = custodial_signing_set(member=member, enabled=options["enabled"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        state = "on" if member.custodial_signing else "off"
        self.stdout.write(f"Custodial signing for {member.name}: {state}")
