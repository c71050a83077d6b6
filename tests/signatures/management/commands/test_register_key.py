"""register_key: a lab's own public key, never a private one (with set_custodial to stop
signing for it)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.management import CommandError, call_command

from members.models import AuditEvent, Member, SigningKey
from signatures.sdk import jss


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
