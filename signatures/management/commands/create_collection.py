"""create_collection --title T --readers A,B --writers A: prints the collection's id last."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from members.management.base import member_missing
from members.models import Member
from signatures.services import collection_create


def _members(names: str) -> list[Member]:
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    found = {member.name: member for member in Member.objects.filter(name__in=wanted)}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise member_missing(", ".join(missing))
    return [found[name] for name in wanted]


class Command(BaseCommand):
    help = "Create a TAXII collection with its readers and writers; prints its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--title", required=True)
        parser.add_argument("--readers", default="", help="Member names, comma-separated.")
        parser.add_argument("--writers", default="", help="Member names, comma-separated.")
        parser.add_argument("--api-root", default="feed")
        parser.add_argument("--description", default="")
        parser.add_argument("--alias", default="")
        parser.add_argument(
            "--partners-read-amber-strict",
            action="store_true",
            help="Serve TLP:AMBER+STRICT to partners in the publisher's allowed set.",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        try:
            collection = collection_create(
                title=options["title"],
                readers=_members(options["readers"]),
                writers=_members(options["writers"]),
                api_root=options["api_root"],
                description=options["description"],
                alias=options["alias"],
                partners_read_amber_strict=options["partners_read_amber_strict"],
                note="manage.py create_collection",
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(str(collection.id))
