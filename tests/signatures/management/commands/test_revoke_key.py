"""revoke_key: a key revoked with its reason, audited, and never twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from members.models import AuditEvent, KeyState, Member, SigningKey


def test_it_revokes_a_key_from_the_command(lab_a: Member) -> None:
    key = SigningKey.objects.get(member=lab_a)
    # --kid=…: a thumbprint may start with "-", which argparse would read as an option.
    call_command("revoke_key", f"--kid={key.kid}", "--reason", "laptop stolen", stdout=StringIO())
    key.refresh_from_db()
    assert key.state == KeyState.REVOKED and key.revocation_reason == "laptop stolen"
    assert key.published_jwk()["revocation_reason"] == "laptop stolen"
    event = AuditEvent.objects.get(action="signing-key-revoke", target=key.kid)
    assert event.before["state"] == "active" and event.after["state"] == "revoked"
    with pytest.raises(CommandError, match="revoked already"):
        call_command("revoke_key", f"--kid={key.kid}", "--reason", "again", stdout=StringIO())
