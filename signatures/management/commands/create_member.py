"""create_member --name NAME --kind lab|partner|forum [--display-name TEXT]: prints the member's
identity id.

``--name`` is the account name, also the user name for HTTP Basic, so it is a slug
(letters, digits, ``-`` and ``_``); the organisation's own name goes in ``--display-name``. A
name that is not a slug is refused with the command to type instead, never changed silently:
a script must know the account name it created.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug
from django.utils.text import slugify

from members.choices import MemberKind
from members.management.base import service_errors
from signatures.services import member_create


class Command(BaseCommand):
    help = "Create a member organisation and print its STIX identity id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name",
            required=True,
            help="Account name, a slug such as google-deepmind; also the HTTP Basic user name.",
        )
        parser.add_argument("--kind", required=True, choices=MemberKind.values)
        parser.add_argument(
            "--display-name",
            default="",
            help='The organisation\'s name, such as "Google DeepMind" (default: --name).',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        try:
            validate_slug(name)
        except ValidationError as exc:
            display_name = options["display_name"] or name
            raise CommandError(
                f"--name {name!r} is not an account name: use letters, digits, '-' and '_' "
                f"only, and put the organisation's name in --display-name, e.g. "
                f'--name {slugify(name) or "my-lab"} --display-name "{display_name}"'
            ) from exc
        with service_errors():
            member = member_create(
                name=name, kind=options["kind"], display_name=options["display_name"]
            )
        self.stdout.write(member.identity_id)
