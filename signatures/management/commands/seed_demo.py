"""seed_demo: the Forum, three labs, a partner, the TLP 2.0 markings and a campaign.

Safe to run again: members are reused and every demo object has a fixed id, so a second
run publishes nothing new. Fresh demo tokens are printed on every run, with each member's
identity id; the demo tokens of earlier runs are revoked, so they do not pile up.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from members.choices import MemberKind
from members.models import ApiToken, Member
from members.services import ALLOWED_SCOPES, token_issue, token_revoke
from signatures import demo
from signatures.services import member_create, objects_publish

MEMBERS = [
    ("forum", MemberKind.FORUM, "AI-ISAC Forum"),
    ("lab-aurora", MemberKind.LAB, "Aurora AI"),
    ("lab-borealis", MemberKind.LAB, "Borealis Research"),
    ("lab-cirrus", MemberKind.LAB, "Cirrus Labs"),
    ("sentinel-detect", MemberKind.PARTNER, "Sentinel Detection (partner)"),
]

#: The name of the tokens seed_demo issues; a new run revokes the unrevoked ones.
DEMO_TOKEN_NAME = "demo"


class Command(BaseCommand):
    help = "Load demo members and a realistic distillation campaign; print demo tokens."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        members: dict[str, Member] = {}
        for name, kind, display_name in MEMBERS:
            # The Forum bootstrap made is the demo's Forum, whatever its name.
            found = Member.objects.filter(kind=kind) if kind == MemberKind.FORUM else None
            existing = (found or Member.objects.filter(name=name)).first()
            members[name] = existing or member_create(
                name=name, kind=kind, display_name=display_name
            )

        aurora, borealis, cirrus = (
            members[n] for n in ("lab-aurora", "lab-borealis", "lab-cirrus")
        )
        aurora_objects = demo.lab_aurora(aurora.identity_id)
        range_indicator = next(
            o["id"]
            for o in aurora_objects
            if o["type"] == "indicator" and "ipv4-addr" in o["pattern"]
        )
        slices = [
            (aurora, aurora_objects),
            (borealis, demo.lab_borealis(borealis.identity_id, range_indicator)),
            (cirrus, demo.lab_cirrus(cirrus.identity_id, aurora.identity_id)),
        ]
        for lab, objects in slices:
            report = objects_publish(member=lab, objects=objects)
            if report.count("refused"):
                reasons = "; ".join(o.reason for o in report.outcomes if o.status == "refused")
                raise CommandError(f"Demo data refused for {lab.name}: {reasons}")
            accepted, present = report.count("accepted"), report.count("present")
            self.stderr.write(f"{lab.name}: {accepted} accepted, {present} present")

        previous = ApiToken.objects.filter(
            member__in=members.values(), name=DEMO_TOKEN_NAME, revoked_at__isnull=True
        ).select_related("member")
        revoked = [token_revoke(token=token) for token in previous]
        self.stdout.write(
            "Demo tokens (shown once; Bearer, or Basic with the member name; "
            f"{len(revoked)} demo tokens of earlier runs revoked), with each member's identity:"
        )
        for name, kind, _ in MEMBERS:
            member = members[name]
            _, raw = token_issue(
                member=member, scopes=sorted(ALLOWED_SCOPES[kind]), name=DEMO_TOKEN_NAME
            )
            self.stdout.write(f"  {member.name:<16} {kind:<8} {member.identity_id}  {raw}")
