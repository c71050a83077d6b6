"""issue_token --member NAME --scopes read,publish [--expires-days N]: prints the token last.

The token is issued, and recorded in the audit log, by ``members.services.token_issue``,
the service the console uses too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from members.management.base import MemberCommand
from members.models import Member
from members.services import token_issue


class Command(MemberCommand):
    help = "Issue an API token. The token is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--scopes", required=True, help="Comma-separated: read,publish,admin.")
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--name", default="", help="A label for the token.")

    def act(self, member: Member, **options: Any) -> None:
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1.")
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        token, raw = token_issue(
            member=member,
            scopes=scopes,
            expires_in=timedelta(days=days) if days else None,
            name=options["name"],
        )
        self.stderr.write(
            f"Token {token.prefix}… for {member.name} ({', '.join(token.scopes)}); "
            "store it now, it is not shown again."
        )
        self.stdout.write(raw)
