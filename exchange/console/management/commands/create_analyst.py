"""create_analyst USERNAME [--role analyst|admin] [--superuser] [--password-stdin]: a Forum
console user (with --superuser, also an operator of the Django admin)."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.console.services.users import ROLES, analyst_create
from members.models import ForumMissing, Member


class Command(BaseCommand):
    help = "Create a Forum staff user for the analyst console, in the analyst or admin role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, default="analyst")
        parser.add_argument(
            "--superuser",
            action="store_true",
            help="Also every permission in the Django admin (/admin/, Forum staff only).",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of stdin instead of prompting "
            "(required without a terminal).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Before asking for a password: a console user belongs to the Forum.
        try:
            Member.objects.forum()
        except ForumMissing as exc:
            raise CommandError(str(exc)) from exc
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("--password-stdin read an empty password from stdin.")
        elif not sys.stdin.isatty():
            raise CommandError(
                "No terminal to ask for the password on: give it on stdin with "
                "--password-stdin, e.g. printf '%s\\n' \"$PASSWORD\" | manage.py "
                f"create_analyst {options['username']} --role {options['role']} --password-stdin"
            )
        else:
            try:
                password = getpass.getpass("Password: ")
                again = getpass.getpass("Password (again): ")
            except (EOFError, KeyboardInterrupt) as exc:
                raise CommandError("No password given; no user created.") from exc
            if password != again:
                raise CommandError("The passwords differ.")
        try:
            user = analyst_create(
                username=options["username"],
                password=password,
                role=options["role"],
                superuser=options["superuser"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except ForumMissing as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{user.get_username()} ({options['role']}) can sign in at /console/")
