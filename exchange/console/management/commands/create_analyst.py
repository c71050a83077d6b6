"""create_analyst USERNAME [--role analyst|admin] [--superuser] [--password-stdin]: a Forum
console user (with --superuser, also an operator of the Django admin)."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.console.services.users import ROLES, analyst_create


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
            help="Read the password from the first line of stdin instead of prompting.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
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
        self.stdout.write(f"{user.get_username()} ({options['role']}) can sign in at /console/")
