"""bootstrap: the Forum member, its signing key and the profile, on a migrated database.

The one step between ``migrate`` and a working exchange: every identity is signed by the
Forum (docs/signing.md section 11), so it must exist before any lab or partner. Safe to run
any number of times: it creates what is missing, reports what exists, and changes nothing
else. It does not migrate; it refuses to run on a database with unapplied migrations.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from members.choices import MemberKind
from members.keystore import custodial_key
from members.management.base import service_errors
from members.models import Member
from signatures.models import StixObject
from signatures.services import member_create, profile_publish, signing_key_rotate


def _unapplied_migrations() -> int:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class Command(BaseCommand):
    help = (
        "Create the Forum member (the exchange operator), its custodial signing key, and "
        "publish the distillation profile and TLP 2.0 markings. Idempotent; run after migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name", default="forum", help="The Forum's account name (default: forum)."
        )
        parser.add_argument(
            "--display-name",
            default="AI-ISAC Forum",
            help="The Forum's name in its STIX identity (default: AI-ISAC Forum).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pending = _unapplied_migrations()
        if pending:
            raise CommandError(
                f"The database has {pending} unapplied migration(s): run manage.py migrate "
                "first, then manage.py bootstrap."
            )
        with service_errors(), transaction.atomic():
            self._bootstrap(name=options["name"], display_name=options["display_name"])

    def _bootstrap(self, *, name: str, display_name: str) -> None:
        forum = Member.objects.filter(kind=MemberKind.FORUM).first()
        if forum is None:
            if Member.objects.filter(name=name).exists():
                raise CommandError(
                    f"A member named {name!r} exists and is not the Forum; "
                    "choose another name with --name."
                )
            # Creates the key, and publishes the profile and the identity signed with it.
            forum = member_create(name=name, kind=MemberKind.FORUM, display_name=display_name)
            key = custodial_key(forum)
            published = StixObject.objects.filter(publisher=forum).count()
            self.stdout.write(f"created the Forum member {forum.name} ({forum.identity_id})")
            self.stdout.write(f"created the Forum's signing key {key.kid if key else '-'}")
            self.stdout.write(
                f"published the Forum's identity, the profile and the TLP 2.0 markings "
                f"({published} objects)"
            )
        else:
            self.stdout.write(
                f"the Forum member exists: {forum.name} ({forum.identity_id}); kept as it is"
            )
            key = custodial_key(forum)
            if key is None:
                # Revoked or retired without a successor: the Forum could sign nothing.
                key = signing_key_rotate(member=forum)
                self.stdout.write(f"created the Forum's signing key {key.kid}")
            else:
                self.stdout.write(f"the Forum's signing key is active: {key.kid}")
            report = profile_publish(forum=forum)
            refused = [outcome for outcome in report.outcomes if outcome.status == "refused"]
            for outcome in refused:
                self.stderr.write(f"refused {outcome.id}: {outcome.reason}")
            self.stdout.write(
                f"profile and TLP 2.0 markings: {report.count('accepted')} published, "
                f"{report.count('present')} present already, {len(refused)} refused"
            )
            if refused:
                raise CommandError("Some profile objects were refused.")
        self.stdout.write(
            "The exchange is ready: create members with manage.py create_member, "
            "tokens with manage.py issue_token."
        )
