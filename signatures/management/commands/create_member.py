"""create_member --name NAME --kind lab|partner|forum: prints the member's identity id."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from members.choices import MemberKind
from members.management.base import service_errors
from signatures.services import member_create


class Command(BaseCommand):
    help = "Create a member organisation and print its STIX identity id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Account name (a slug).")
        parser.add_argument("--kind", required=True, choices=MemberKind.values)
        parser.add_argument("--display-name", default="", help="Human name of the organisation.")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            member = member_create(
                name=options["name"], kind=options["kind"], display_name=options["display_name"]
            )
        self.stdout.write(member.identity_id)
