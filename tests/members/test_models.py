"""members/models.py: behaviour of single rows."""

from __future__ import annotations

import pytest

from members.models import AuditEvent, Member, SigningKey


def test_it_keeps_the_audit_log_append_only(lab_a: Member) -> None:
    event = AuditEvent.objects.filter(target=SigningKey.objects.get(member=lab_a).kid).first()
    assert event is not None
    event.note = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
