"""register_key --member NAME --jwk FILE: register a lab's own Ed25519 public key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.models import Member
from members.services import signing_key_register


class Command(BaseCommand):
    help = (
        "Register a member's own Ed25519 public key (an OKP JWK, RFC 8037) for client-side "
        "signing. Prints the key's kid (its RFC 7638 thumbprint)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--member", required=True, help="The member's account name.")
        parser.add_argument("--jwk", required=True, help="File holding the public JWK.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            member = Member.objects.get(name=options["member"])
        except Member.DoesNotExist as exc:
            raise CommandError(f"No member named {options['member']!r}.") from exc
        try:
            jwk = json.loads(Path(options["jwk"]).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read a JWK from {options['jwk']}: {exc}") from exc
        try:
            key = signing_key_register(member=member, jwk=jwk)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(key.kid)
