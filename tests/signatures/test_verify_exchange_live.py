"""isac-verify against a live exchange: its one key set verifies every publisher, and a key
outside the sets given is "unverified", never "invalid" (docs/signing.md section 9)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from pytest_django.live_server_helper import LiveServer

from members.models import Member
from signatures.selectors import collection_default
from tests import stix_samples as samples
from tests.factories import token_for

TAXII = "application/taxii+json;version=2.1"

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    """``isac-verify`` as a user runs it: its own process, the installed entry point."""
    command = [str(Path(sys.executable).with_name("isac-verify")), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _publish(live_server: LiveServer, lab: Member) -> str:
    sent = samples.ip_range_indicator(lab.identity_id, id=f"indicator--{uuid.uuid4()}")
    answer = requests.post(
        f"{live_server.url}/api/v1/objects/",
        json=samples.bundle(sent),
        headers={"Authorization": f"Bearer {token_for(lab, 'publish')}"},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    return str(sent["id"])


def test_it_verifies_a_partners_download_from_every_publisher_with_the_exchange_key_set(
    live_server: LiveServer, tmp_path: Path, lab_a: Member, lab_b: Member, partner: Member
) -> None:
    from_a, from_b = _publish(live_server, lab_a), _publish(live_server, lab_b)
    token = token_for(partner, "read")
    feed = collection_default()
    page = requests.get(
        f"{live_server.url}/{feed.api_root}/collections/{feed.id}/objects/",
        params={"match[type]": "indicator"},
        headers={"Authorization": f"Bearer {token}", "Accept": TAXII},
        timeout=30,
    )
    assert page.status_code == 200
    download = tmp_path / "page.json"
    download.write_bytes(page.content)

    everything = _verify(str(download), "--exchange", live_server.url, "--token", token)
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert "2 objects: 2 valid, 0 invalid, 0 unverified" in everything.stdout

    only_a = f"{live_server.url}/api/v1/members/{lab_a.identity_id}/jwks.json"
    partial = _verify(str(download), "--jwks", only_a, "--token", token)
    assert partial.returncode == 3, partial.stdout + partial.stderr
    lines = {line.split()[0]: line for line in partial.stdout.splitlines()}
    assert " valid (" in lines[from_a]
    assert " unverified: signature 1: unknown key thumbprint" in lines[from_b]
    assert "2 objects: 1 valid, 0 invalid, 1 unverified" in partial.stdout

    envelope = json.loads(page.content)
    for obj in envelope["objects"]:
        obj["confidence"] = 5  # changed after signing
    download.write_text(json.dumps(envelope))
    tampered = _verify(str(download), "--exchange", live_server.url + "/", "--token", token)
    assert tampered.returncode == 1
    assert "2 objects: 0 valid, 2 invalid, 0 unverified" in tampered.stdout
