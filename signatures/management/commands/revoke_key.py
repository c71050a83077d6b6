"""revoke_key --kid KID --reason TEXT [--at TIMESTAMP]: stop trusting a signing key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.management.base import service_errors
from members.models import SigningKey
from signatures.services import signing_key_revoke
from signatures.validation import ObjectRefused, timestamp_parse


class Command(BaseCommand):
    help = (
        "Revoke a signing key: signatures it made at or after the revocation time are "
        "invalid, earlier ones stay valid. Revoke from the earliest moment the key may have "
        "been out of its owner's control (--at, default now)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kid",
            required=True,
            help="The key's RFC 7638 thumbprint; write --kid=KID, as a thumbprint may start "
            "with '-'.",
        )
        parser.add_argument("--reason", required=True, help='e.g. "key compromise".')
        parser.add_argument("--at", default=None, help="Revocation time, a STIX timestamp.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = SigningKey.objects.get(kid=options["kid"])
        except SigningKey.DoesNotExist as exc:
            raise CommandError(f"No signing key {options['kid']!r}.") from exc
        at = None
        if options["at"]:
            try:
                at = timestamp_parse(options["at"], object_id="--at", prop="at").value
            except ObjectRefused as exc:
                raise CommandError(str(exc)) from exc
        with service_errors():
            key = signing_key_revoke(key=key, reason=options["reason"], at=at)
        self.stdout.write(f"{key.kid} revoked at {key.revoked_at:%Y-%m-%dT%H:%M:%S.%fZ}")
