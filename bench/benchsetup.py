"""Set-up shared by the in-process benchmarks: Django, a migrated database, a lab and a token."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from members.models import Member


def django_start() -> None:
    """Import the project from this checkout and set Django up (settings from the env)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
    import django

    django.setup()


def lab_with_token(name: str) -> tuple[Member, str]:
    """Migrate, make sure the Forum exists, and return the lab ``name`` with a fresh token."""
    from django.core.management import call_command

    from members.models import Member
    from members.services import token_issue
    from signatures.services import member_create

    call_command("migrate", verbosity=0)
    if not Member.objects.filter(kind="forum").exists():
        member_create(name="bench-forum", kind="forum")
    lab = Member.objects.filter(name=name).first() or member_create(name=name, kind="lab")
    _, token = token_issue(member=lab, scopes=["read", "publish"], name="bench")
    return lab, token


def database_engine() -> str:
    from django.conf import settings

    return str(settings.DATABASES["default"]["ENGINE"]).rsplit(".", 1)[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
