"""issue_token --member NAME --scopes read,publish [--expires-days N]: prints the token last."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.models import Member
from members.services import token_issue


class Command(BaseCommand):
    help = "Issue an API token. The token is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--member", required=True, help="The member's account name.")
        parser.add_argument("--scopes", required=True, help="Comma-separated: read,publish,admin.")
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--name", default="", help="A label for the token.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            member = Member.objects.get(name=options["member"])
        except Member.DoesNotExist as exc:
            raise CommandError(f"No member named {options['member']!r}.") from exc
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1.")
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        try:
            token, raw = token_issue(
                member=member,
                scopes=scopes,
                expires_in=timedelta(days=days) if days else None,
                name=options["name"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stderr.write(
            f"Token {token.prefix}… for {member.name} ({', '.join(token.scopes)}); "
            "store it now, it is not shown again."
        )
        self.stdout.write(raw)
