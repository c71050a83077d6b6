"""rotate_key: a new custodial key, the old one retired, both audited."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from members.models import AuditEvent, KeyState, Member, SigningKey


def test_it_rotates_a_custodial_key_from_the_command(lab_a: Member) -> None:
    old = SigningKey.objects.get(member=lab_a)
    out = StringIO()
    call_command("rotate_key", "--member", "lab-a", stdout=out)
    new = SigningKey.objects.get(kid=out.getvalue().strip())
    old.refresh_from_db()
    assert new.custodial and new.state == KeyState.ACTIVE
    assert old.state == KeyState.RETIRED and old.valid_until == new.valid_from
    assert old.encrypted_private_key is None  # a retired key can never sign again
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"signing-key-retire", "signing-key-create"} <= actions
