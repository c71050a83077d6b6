"""register_key --member NAME --jwk FILE: register a lab's own Ed25519 public key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from members.management.base import MemberCommand
from members.models import Member
from signatures.services import signing_key_register


class Command(MemberCommand):
    help = (
        "Register a member's own Ed25519 public key (an OKP JWK, RFC 8037) for client-side "
        "signing. Prints the key's kid (its RFC 7638 thumbprint)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--jwk", required=True, help="File holding the public JWK.")

    def act(self, member: Member, **options: Any) -> None:
        try:
            jwk = json.loads(Path(options["jwk"]).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read a JWK from {options['jwk']}: {exc}") from exc
        key = signing_key_register(member=member, jwk=jwk)
        self.stdout.write(key.kid)
