"""load_profile: (re)publish the Forum's profile and the TLP 2.0 markings.

The Forum member publishes them when it is created; run this after an upgrade that
ships new extension definitions. Stored versions are reported as present.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from members.models import ForumMissing, Member
from signatures.services import profile_publish


class Command(BaseCommand):
    help = "Publish the distillation profile's extension definitions and the TLP 2.0 markings."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            forum = Member.objects.forum()
        except ForumMissing as exc:
            raise CommandError(str(exc)) from exc
        report = profile_publish(forum=forum)
        refused = [o for o in report.outcomes if o.status == "refused"]
        for outcome in refused:
            self.stderr.write(f"refused {outcome.id}: {outcome.reason}")
        self.stdout.write(
            f"{report.count('accepted')} accepted, {report.count('present')} present, "
            f"{len(refused)} refused"
        )
        if refused:
            raise CommandError("Some profile objects were refused.")
