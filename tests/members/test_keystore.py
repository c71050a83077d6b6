"""members/keystore.py: custodial signing keys, sealed at rest under MASTER_KEY, opened only
with their own kid, and never written to a log."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from members import keystore
from members.models import AuditEvent, KeyState, Member, SigningKey
from signatures.sdk import jss
from signatures.services import signing_key_rotate
from tests import stix_samples as samples
from tests.factories import MemberFactory
from tests.members.conftest import secret_forms, seed_of


def row_bytes(key: SigningKey) -> bytes:
    """The key's database row exactly as stored, every column as bytes."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {SigningKey._meta.db_table} WHERE id = %s", [key.pk])
        row = cursor.fetchone()
    parts = []
    for value in row:
        if isinstance(value, memoryview | bytes | bytearray):
            parts.append(bytes(value))
        else:
            parts.append(str(value).encode())
    return b"\x00".join(parts)


def test_it_gives_labs_and_the_forum_a_custodial_key_but_not_partners(
    forum: Member, lab_a: Member, partner: Member
) -> None:
    for member in (forum, lab_a):
        (key,) = SigningKey.objects.filter(member=member)
        assert key.custodial and key.state == KeyState.ACTIVE
        assert key.kid == jss.jwk_thumbprint(key.public_jwk)
    assert not SigningKey.objects.filter(member=partner).exists()
    assert AuditEvent.objects.filter(action="signing-key-create", target=key.kid).exists()


def test_it_keeps_custodial_keys_encrypted_at_rest(lab_a: Member) -> None:
    key = SigningKey.objects.get(member=lab_a)
    seed = seed_of(key)
    stored = row_bytes(key)
    assert seed not in stored
    for form in secret_forms(seed):
        assert form.encode() not in stored
    assert "d" not in key.public_jwk


def test_it_opens_a_sealed_key_only_with_its_own_kid(lab_a: Member, lab_b: Member) -> None:
    key_a = SigningKey.objects.get(member=lab_a)
    key_b = SigningKey.objects.get(member=lab_b)
    assert key_a.encrypted_private_key is not None
    with pytest.raises(keystore.KeyUnsealError) as raised:
        keystore.unseal(key_a.encrypted_private_key, kid=key_b.kid)
    seed = seed_of(key_a)
    assert not any(form in str(raised.value) for form in secret_forms(seed))


@pytest.mark.skipif(
    bool(os.environ.get("MASTER_KEY") or os.environ.get("MASTER_KEY_FILE")),
    reason="the master key comes from the environment",
)
def test_it_generates_the_laptop_master_key_readable_by_its_owner_only() -> None:
    key_file = Path(settings.DATA_DIR) / "master_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == settings.MASTER_KEY


def test_it_logs_no_secret_while_creating_keys_and_signing(
    caplog: pytest.LogCaptureFixture,
    forum: Member,
    client_for: Callable[..., APIClient],
) -> None:
    caplog.set_level(logging.DEBUG)
    lab = MemberFactory(name="lab-logged", kind="lab")
    rotated = signing_key_rotate(member=lab)
    client = client_for(lab)
    body = json.dumps(samples.bundle(samples.ip_range_indicator(lab.identity_id)))
    response = client.post("/api/v1/objects/", data=body, content_type="application/json")
    assert response.status_code == 200
    assert client.get("/api/v1/objects/").status_code == 200  # transport signature too
    seeds = [seed_of(rotated), seed_of(SigningKey.objects.get(member=forum, custodial=True))]
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert caplog.records  # the capture did see the requests
    for seed in seeds:
        for form in secret_forms(seed):
            assert form not in logged
    assert settings.MASTER_KEY not in logged
