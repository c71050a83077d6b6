"""isac-detect against a live exchange: match lines, bad input, sightings, usage errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from members.models import Member
from signatures.models import StixObject
from signatures.sdk.constants import DISTRIBUTION_EXTENSION_ID
from signatures.sdk.detect.cli import main
from tests.factories import token_for
from tests.signatures.sdk.detect.exchange_live import ip_indicator, live, publish

__all__ = ["live"]

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

T0 = 1_794_992_400  # 2026-11-18T09:00:00Z


def write_events(path: Path, *records: dict[str, Any] | str) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def request(n: int, source_ip: str) -> dict[str, Any]:
    return {"event_id": f"evt-{n}", "time": T0 + n, "account_id": "acct-7", "source_ip": source_ip}


@pytest.fixture
def indicators(lab_a: Member, lab_b: Member) -> dict[str, dict[str, Any]]:
    green = ip_indicator(lab_a, "198.51.100.0/24")
    red = ip_indicator(lab_a, "192.0.2.64/26", tlp="red")
    red["extensions"] = {
        DISTRIBUTION_EXTENSION_ID: {
            "extension_type": "property-extension",
            "recipients": [lab_b.identity_id],
        }
    }
    publish(lab_a, green, red)
    return {"green": green, "red": red}


def run(live: str, member: Member, events: Path, *options: str) -> int:
    token = token_for(member, "read", "publish")
    return main(["--feed", live, "--token", token, "--events", str(events), *options])


def test_it_prints_one_line_per_match_and_skips_bad_lines(
    live: str,
    lab_a: Member,
    lab_b: Member,
    indicators: dict[str, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = write_events(
        tmp_path / "events.jsonl",
        request(1, "198.51.100.20"),
        request(2, "100.64.0.1"),
        "{not json",
        {"event_id": "evt-4", "time": T0, "account_id": "a", "card_number": "4000001234567899"},
        request(5, "192.0.2.70"),
    )

    assert run(live, lab_b, events, "--no-sightings") == 0

    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == [
        {
            "indicator": indicators["green"]["id"],
            "publisher": lab_a.identity_id,
            "tlp": "green",
            "account": "acct-7",
            "events": ["evt-1"],
            "confidence": 80,
            "time": "2026-11-18T09:00:01.000Z",
            "shared": True,
        },
        {
            "indicator": indicators["red"]["id"],
            "publisher": lab_a.identity_id,
            "tlp": "red",
            "account": "acct-7",
            "events": ["evt-5"],
            "confidence": 80,
            "time": "2026-11-18T09:00:05.000Z",
            "shared": False,
        },
    ]
    assert "events line 3" in err
    assert "events line 4" in err and "sharing key" in err


def test_it_sends_sightings_back_but_never_for_tlp_red(
    live: str,
    lab_b: Member,
    indicators: dict[str, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = write_events(
        tmp_path / "events.jsonl",
        request(1, "198.51.100.20"),
        request(2, "198.51.100.21"),
        request(3, "192.0.2.70"),
    )

    # No --identity: the token's own is read from /api/v1/members/me/.
    assert run(live, lab_b, events) == 0

    [sighting] = StixObject.objects.filter(type="sighting")
    assert sighting.data["sighting_of_ref"] == indicators["green"]["id"]
    assert sighting.data["count"] == 2
    assert sighting.publisher == lab_b
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_it_sends_nothing_back_with_no_sightings(
    live: str, lab_b: Member, indicators: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    events = write_events(tmp_path / "events.jsonl", request(1, "198.51.100.20"))
    assert run(live, lab_b, events, "--no-sightings") == 0
    assert not StixObject.objects.filter(type="sighting").exists()


def test_it_needs_a_token_the_feed_accepts(
    live: str, lab_b: Member, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = write_events(tmp_path / "events.jsonl", request(1, "198.51.100.20"))

    assert main(["--feed", live, "--token", "wrong", "--events", str(events)]) == 2
    assert "--identity" in capsys.readouterr().err
    assert (
        main(["--feed", live, "--token", "wrong", "--events", str(events), "--no-sightings"]) == 2
    )
    assert "cannot" in capsys.readouterr().err
