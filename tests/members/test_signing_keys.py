"""Members' signing keys: custodial keys at rest, registration, rotation, revocation, audit."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from members import keystore
from members.models import AuditEvent, KeyState, Member, Membership, SigningKey
from signatures.sdk import jss
from signatures.services import signing_key_rotate
from tests import stix_samples as samples
from tests.factories import MemberFactory


def seed_of(key: SigningKey) -> bytes:
    assert key.encrypted_private_key is not None
    private_key = keystore.unseal(key.encrypted_private_key, kid=key.kid)
    return private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def secret_forms(seed: bytes) -> list[str]:
    """The ways a leaked 32-byte seed could be written down."""
    return [
        seed.hex(),
        seed.hex().upper(),
        base64.b64encode(seed).decode(),
        base64.b64encode(seed).decode().rstrip("="),
        base64.urlsafe_b64encode(seed).decode().rstrip("="),
    ]


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


def test_it_registers_a_key_and_switches_custodial_signing_off_from_commands(
    lab_a: Member, tmp_path: Path
) -> None:
    private_key = Ed25519PrivateKey.generate()
    jwk_file = tmp_path / "lab.jwk"
    jwk_file.write_text(json.dumps(jss.public_jwk(private_key.public_key())))
    out = StringIO()
    call_command("register_key", "--member", "lab-a", "--jwk", str(jwk_file), stdout=out)
    key = SigningKey.objects.get(kid=out.getvalue().strip())
    assert not key.custodial and key.encrypted_private_key is None
    call_command("set_custodial", "--member", "lab-a", "--off", stdout=StringIO())
    lab_a.refresh_from_db()
    assert not lab_a.custodial_signing
    assert AuditEvent.objects.filter(action="custodial-signing-set", target="lab-a").exists()


def test_it_refuses_a_jwk_that_holds_the_private_key(lab_a: Member, tmp_path: Path) -> None:
    private_key = Ed25519PrivateKey.generate()
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    jwk = {**jss.public_jwk(private_key.public_key()), "d": jss._b64encode(seed)}
    jwk_file = tmp_path / "lab.jwk"
    jwk_file.write_text(json.dumps(jwk))
    with pytest.raises(CommandError, match="private key member 'd'"):
        call_command("register_key", "--member", "lab-a", "--jwk", str(jwk_file))


def test_it_keeps_the_audit_log_append_only(lab_a: Member) -> None:
    event = AuditEvent.objects.filter(target=SigningKey.objects.get(member=lab_a).kid).first()
    assert event is not None
    event.note = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_it_shows_no_private_key_on_any_admin_page(lab_a: Member) -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "pw-not-used")
    # Only the Forum's staff reach the admin (exchange.admin_site).
    Membership.objects.create(user=admin, member=Member.objects.get(kind="forum"))
    browser = Client()
    browser.force_login(admin)
    key = SigningKey.objects.get(member=lab_a)
    sealed = bytes(key.encrypted_private_key or b"")
    event = AuditEvent.objects.filter(target=key.kid).first()
    assert event is not None
    pages = [
        "/admin/members/signingkey/",
        f"/admin/members/signingkey/{key.pk}/change/",
        f"/admin/members/member/{lab_a.pk}/change/",
        "/admin/members/auditevent/",
        f"/admin/members/auditevent/{event.pk}/change/",
    ]
    for page in pages:
        response = browser.get(page)
        assert response.status_code == 200, page
        text = response.content.decode()
        assert key.kid in text or lab_a.name in text
        for form in [*secret_forms(seed_of(key)), *secret_forms(sealed)]:
            assert form not in text, page
        assert "encrypted_private_key" not in text
    assert browser.get(f"/admin/members/auditevent/{event.pk}/delete/").status_code == 403
    assert browser.get("/admin/members/signingkey/add/").status_code == 403


def test_it_lets_an_admin_rotate_a_key_with_the_action(lab_a: Member) -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "pw-not-used")
    # Only the Forum's staff reach the admin (exchange.admin_site).
    Membership.objects.create(user=admin, member=Member.objects.get(kind="forum"))
    browser = Client()
    browser.force_login(admin)
    old = SigningKey.objects.get(member=lab_a)
    response = browser.post(
        "/admin/members/member/",
        {"action": "rotate_key", "_selected_action": [lab_a.pk]},
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.state == KeyState.RETIRED
    event = AuditEvent.objects.get(action="signing-key-create", actor_user=admin)
    assert event.note == "rotation"
