"""Tests for the ``isac-verify`` command (``signatures.sdk.verify_cli.main``)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from signatures.sdk import jss
from signatures.sdk.constants import FORUM_IDENTITY_ID, TLP2_CLEAR
from signatures.sdk.verify_cli import main
from tests import stix_samples as samples

MEMBER = "identity--7d9d3b61-0d0e-4a8e-9c55-3f1c2b4a5e60"
MEMBER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
FORUM_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
MEMBER_KID = jss.jwk_thumbprint(MEMBER_KEY.public_key())
FORUM_KID = jss.jwk_thumbprint(FORUM_KEY.public_key())
TOKEN = "member-token-123"

JWKS = {
    "keys": [
        jss.public_jwk(MEMBER_KEY.public_key(), signee=MEMBER, valid_from="2026-01-01T00:00:00Z"),
        jss.public_jwk(
            FORUM_KEY.public_key(), signee=FORUM_IDENTITY_ID, valid_from="2026-01-01T00:00:00Z"
        ),
    ]
}


def indicator(number: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{number:012d}",
        "created_by_ref": MEMBER,
        "created": "2026-11-20T14:05:00.000Z",
        "modified": f"2026-11-20T14:0{number}:00.000Z",
        "pattern": f"[ipv4-addr:value = '203.0.113.{number}']",
        "pattern_type": "stix",
        "valid_from": "2026-11-20T14:05:00Z",
    }


VALID = jss.sign_object(indicator(1), MEMBER_KEY, signee=MEMBER)
INVALID = {**jss.sign_object(indicator(2), MEMBER_KEY, signee=MEMBER), "name": "changed"}
UNSIGNED = {"type": "ipv4-addr", "id": "ipv4-addr--3", "value": "203.0.113.3"}


@pytest.fixture
def jwks_file(tmp_path: Path) -> str:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(JWKS))
    return str(path)


def write(tmp_path: Path, content: str | bytes, name: str = "input.json") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return str(path)


def bundle(*objects: dict[str, Any]) -> str:
    return json.dumps(
        {"type": "bundle", "id": "bundle--1b0c5e8e-2a1f-4b7e-9f3d-6c2a8b4d0e11", "objects": objects}
    )


def test_it_reports_each_object_of_a_bundle(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([write(tmp_path, bundle(VALID, INVALID, UNSIGNED)), "--jwks", jwks_file])

    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines == [
        f"{VALID['id']} 2026-11-20T14:01:00.000Z valid ({MEMBER}, key {MEMBER_KID})",
        f"{INVALID['id']} 2026-11-20T14:02:00.000Z invalid: signature 1: "
        "signature value does not match: the object was changed after signing",
        "ipv4-addr--3 - unsigned",
        "3 objects: 1 valid, 1 invalid, 0 unverified, 1 unsigned, 0 official",
    ]


def test_it_exits_0_when_nothing_is_invalid(tmp_path: Path, jwks_file: str) -> None:
    assert main([write(tmp_path, bundle(VALID, UNSIGNED)), "--jwks", jwks_file]) == 0


def test_it_can_require_signatures(tmp_path: Path, jwks_file: str) -> None:
    path = write(tmp_path, bundle(VALID, UNSIGNED))
    assert main([path, "--jwks", jwks_file, "--require-signatures"]) == 1
    path = write(tmp_path, bundle(VALID), "signed.json")
    assert main([path, "--jwks", jwks_file, "--require-signatures"]) == 0


def test_it_reads_a_taxii_envelope(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    envelope = json.dumps({"more": False, "next": "abc", "objects": [VALID, VALID]}, indent=2)
    assert main([write(tmp_path, envelope), "--jwks", jwks_file]) == 0
    assert capsys.readouterr().out.endswith(
        "2 objects: 2 valid, 0 invalid, 0 unverified, 0 unsigned, 0 official\n"
    )


def test_it_reads_an_empty_taxii_envelope(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([write(tmp_path, '{"more": false}'), "--jwks", jwks_file]) == 0
    assert (
        capsys.readouterr().out
        == "0 objects: 0 valid, 0 invalid, 0 unverified, 0 unsigned, 0 official\n"
    )


def test_it_reads_a_single_object(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([write(tmp_path, json.dumps(VALID, indent=1)), "--jwks", jwks_file]) == 0
    assert "1 objects: 1 valid" in capsys.readouterr().out


def test_it_reads_json_lines(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "\n".join(json.dumps(obj) for obj in (VALID, INVALID, UNSIGNED)) + "\n\n"
    assert main([write(tmp_path, lines, "objects.jsonl"), "--jwks", jwks_file]) == 1
    assert capsys.readouterr().out.endswith(
        "3 objects: 1 valid, 1 invalid, 0 unverified, 1 unsigned, 0 official\n"
    )


def test_it_reads_standard_input(
    jwks_file: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(bundle(VALID).encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["-", "--jwks", jwks_file]) == 0
    assert "1 objects: 1 valid" in capsys.readouterr().out


def test_it_verifies_a_detached_jws_over_the_raw_input(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps({"more": False, "objects": [VALID]}, indent=2).encode()
    path = write(tmp_path, body)
    header = jss.jws_detached_sign(body, FORUM_KEY, FORUM_KID)

    assert main([path, "--jwks", jwks_file, "--detached-jws", header]) == 0
    assert capsys.readouterr().out.startswith(f"detached JWS: valid (key {FORUM_KID})\n")

    # Same objects, other bytes: the JWS covers the body exactly as received.
    write(tmp_path, json.dumps({"more": False, "objects": [VALID]}).encode())
    assert main([path, "--jwks", jwks_file, "--detached-jws", header]) == 1
    out = capsys.readouterr().out
    assert "detached JWS: invalid: signature does not match: the payload was changed" in out
    assert "1 objects: 1 valid, 0 invalid, 0 unverified, 0 unsigned, 0 official" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "input is not JSON"),
        ('{"a": 1}\n{oops}\n', "line 2"),
        ("[1, 2]", "must be a STIX bundle, a TAXII envelope or a STIX object"),
        ('{"type": "bundle", "objects": {}}', "'objects' must be a list"),
        ('{"id": "a", "id": "b"}', "duplicate member name 'id'"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_it_exits_2_on_unreadable_input(
    tmp_path: Path,
    jwks_file: str,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes,
    message: str,
) -> None:
    assert main([write(tmp_path, content), "--jwks", jwks_file]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("isac-verify: error: ")
    assert message in captured.err


def test_it_exits_2_on_usage_and_io_errors(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    input_path = write(tmp_path, bundle(VALID))
    assert main([input_path]) == 2  # no keys to verify with
    assert "--exchange URL or --jwks FILE_OR_URL" in capsys.readouterr().err
    assert main([input_path, "--exchange", "exchange.example.org"]) == 2
    assert "is not an http(s) URL" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.json"), "--jwks", jwks_file]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main([input_path, "--jwks", str(tmp_path / "missing-jwks.json")]) == 2
    assert "cannot read the JWK Set" in capsys.readouterr().err
    assert main([input_path, "--jwks", write(tmp_path, '{"keys": {}}', "bad.json")]) == 2
    assert "malformed JWK Set" in capsys.readouterr().err
    assert main([input_path, "--jwks", write(tmp_path, '{"keys": []}', "empty.json")]) == 2
    assert "no usable Ed25519 key" in capsys.readouterr().err


def test_it_warns_about_skipped_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leaked = {**JWKS["keys"][0], "d": "AAAA"}
    jwks = write(tmp_path, json.dumps({"keys": [leaked, JWKS["keys"][1]]}), "jwks.json")
    assert main([write(tmp_path, bundle(VALID)), "--jwks", jwks]) == 3
    captured = capsys.readouterr()
    assert "private key member 'd'" in captured.err
    assert "unverified: signature 1: unknown key thumbprint" in captured.out


class _JWKSHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(JWKS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture
def jwks_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JWKSHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/members/{MEMBER}/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.live
def test_it_fetches_key_sets_over_http_with_a_token(
    tmp_path: Path,
    jwks_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ISAC_TOKEN", raising=False)
    path = write(tmp_path, bundle(VALID))
    assert main([path, "--jwks", jwks_url, "--token", TOKEN]) == 0
    assert "1 objects: 1 valid" in capsys.readouterr().out

    assert main([path, "--jwks", jwks_url]) == 2
    assert "401" in capsys.readouterr().err


def test_it_verifies_an_extension_definition_through_its_note_and_official_content_by_value(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = samples.extension_definition(MEMBER)
    note = jss.sign_object(jss.definition_attestation(definition), MEMBER_KEY, signee=MEMBER)
    official = jss.official_objects()[TLP2_CLEAR]
    status = main([write(tmp_path, bundle(definition, note, official)), "--jwks", jwks_file])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines == [
        f"{definition['id']} 2026-11-20T14:05:00.000Z valid (signed by {MEMBER} in {note['id']})",
        f"{note['id']} 2026-11-20T14:05:00.000Z valid ({MEMBER}, key {MEMBER_KID})",
        f"{TLP2_CLEAR} 2022-10-01T00:00:00.000Z official (OASIS content, checked by value)",
        "3 objects: 2 valid, 0 invalid, 0 unverified, 0 unsigned, 1 official",
    ]
    # Without its note, the definition has no signature.
    main([write(tmp_path, bundle(definition), "alone.json"), "--jwks", jwks_file])
    assert f"{definition['id']} 2026-11-20T14:05:00.000Z unsigned" in capsys.readouterr().out


OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
OTHER = "identity--0e0e0e0e-0000-4000-8000-000000000009"


def test_it_reports_a_key_outside_the_sets_as_unverified_with_its_own_exit_status(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = jss.sign_object({**indicator(4), "created_by_ref": OTHER}, OTHER_KEY, signee=OTHER)
    assert main([write(tmp_path, bundle(VALID, foreign, UNSIGNED)), "--jwks", jwks_file]) == 3
    lines = capsys.readouterr().out.splitlines()
    kid = jss.jwk_thumbprint(OTHER_KEY.public_key())
    assert lines[1] == (
        f"{foreign['id']} 2026-11-20T14:04:00.000Z unverified: signature 1: unknown key "
        f"thumbprint {kid!r} (not in the key sets given)"
    )
    assert lines[-1] == "3 objects: 1 valid, 0 invalid, 1 unverified, 1 unsigned, 0 official"


def test_it_reports_invalid_over_unverified(
    tmp_path: Path, jwks_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = jss.sign_object({**indicator(4), "created_by_ref": OTHER}, OTHER_KEY, signee=OTHER)
    assert main([write(tmp_path, bundle(foreign, INVALID)), "--jwks", jwks_file]) == 1
    # A second signature by an unknown key does not hide one that fails with a known key.
    both = jss.sign_object(INVALID, OTHER_KEY, signee=MEMBER)
    assert main([write(tmp_path, bundle(both)), "--jwks", jwks_file]) == 1
    assert " invalid: signature 1: signature value does not match" in capsys.readouterr().out
