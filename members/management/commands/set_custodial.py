"""set_custodial --member NAME --on|--off: whether the exchange signs the member's objects."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from members.management.base import MemberCommand
from members.models import Member
from members.services import custodial_signing_set


class Command(MemberCommand):
    help = (
        "Switch custodial signing on or off for a member. Off: its unsigned objects are "
        "refused; it needs an active registered key first (register_key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        switch = parser.add_mutually_exclusive_group(required=True)
        switch.add_argument("--on", dest="enabled", action="store_true")
        switch.add_argument("--off", dest="enabled", action="store_false")

    def act(self, member: Member, **options: Any) -> None:
        member = custodial_signing_set(member=member, enabled=options["enabled"])
        state = "on" if member.custodial_signing else "off"
        self.stdout.write(f"Custodial signing for {member.name}: {state}")
