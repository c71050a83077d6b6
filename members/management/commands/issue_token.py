"""issue_token --member NAME --scopes read,publish [--expires-days N]: prints the token last.

The token is issued, and recorded in the audit log, by ``members.services.token_issue``,
the service the console uses too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from members.choices import TokenScope
from members.management.base import MemberCommand
from members.models import Member
from members.services import ALLOWED_SCOPES, token_issue


class Command(MemberCommand):
    help = "Issue an API token. The token is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--scopes",
            required=True,
            help="Comma-separated: read, publish, admin (a lab read,publish; a partner read).",
        )
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--name", default="", help="A label for the token.")

    def act(self, member: Member, **options: Any) -> None:
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1.")
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        allowed = [scope for scope in TokenScope.values if scope in ALLOWED_SCOPES[member.kind]]
        hint = f"a {member.kind} member may hold {', '.join(allowed)}: --scopes {','.join(allowed)}"
        unknown = [scope for scope in scopes if scope not in TokenScope.values]
        if unknown or not scopes:
            raise CommandError(
                f"--scopes: unknown scope(s) {', '.join(unknown) or '(none given)'}. The scopes "
                f"are {', '.join(TokenScope.values)}; {hint}."
            )
        refused = [scope for scope in scopes if scope not in allowed]
        if refused:
            raise CommandError(
                f"--scopes: {member.name} cannot hold the scope(s) {', '.join(refused)}; {hint}."
            )
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
