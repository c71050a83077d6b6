"""demo_traffic: seeded API traffic in which the demo campaign's own indicators find the
campaign and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from signatures import demo
from signatures.sdk.detect import Detector, event_from_raw
from signatures.sdk.detect.events import parse_time_us
from tests.conftest import LAB_A_ID, LAB_B_ID, PARTNER_ID, run

EVENTS = 400
CADENCE = 1500  # the cadence account's requests, written whatever --events says


def records(*args: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in run("demo_traffic", "--events", str(EVENTS), *args).splitlines()
    ]


def campaign(record: dict[str, Any]) -> bool:
    """Whether the command wrote the record as part of the campaign (its n % 40 slots)."""
    found = re.fullmatch(r"evt-([0-9]+)", record["event_id"], re.ASCII)
    if found is None:
        return False
    n = int(found[1])
    return n % 40 in (7, 17, 27) or n % 400 == 37


def demo_detector() -> tuple[Detector, str]:
    """A detector loaded with every demo indicator, and the id of the cadence one."""
    aurora = demo.lab_aurora(LAB_A_ID)
    ranges = next(o["id"] for o in aurora if o["type"] == "indicator" and "ipv4" in o["pattern"])
    objects = [
        *aurora,
        *demo.lab_borealis(LAB_B_ID, ranges),
        *demo.lab_cirrus(PARTNER_ID, LAB_A_ID),
    ]
    detector, cadence = Detector(), ""
    for obj in objects:
        if obj["type"] == "indicator":
            assert detector.load(obj).status == "compiled", obj["pattern"]
            if "api-session-profile" in obj["pattern"]:
                cadence = obj["id"]
    return detector, cadence


def test_it_writes_the_same_traffic_for_the_same_seed() -> None:
    first = records()
    assert records() == first
    assert records("--seed", "7") != first
    assert len(first) == EVENTS + CADENCE
    assert len({r["event_id"] for r in first}) == len(first)


def test_it_writes_events_in_time_order_that_a_lab_would_record() -> None:
    written = records()
    times = [parse_time_us(r["time"], "time") for r in written]
    assert times == sorted(times)
    for record in written:
        event_from_raw(record, sharing_key=demo.DEMO_SHARING_KEY)  # raises if malformed


def test_the_demo_indicators_find_the_campaign_traits_and_nothing_else() -> None:
    detector, cadence = demo_detector()
    flagged, cadence_accounts = [], set()
    written = records()
    for record in written:
        event = event_from_raw(record, sharing_key=demo.DEMO_SHARING_KEY)
        for match in detector.observe(event):
            if match.indicator_id == cadence:
                cadence_accounts.add(match.account_id)
            else:
                flagged.append(record["event_id"])
    expected = [r["event_id"] for r in written if campaign(r)]
    assert flagged == expected
    assert len(expected) == 3 * EVENTS // 40 + EVENTS // 400
    assert cadence_accounts == {"acct-cadence-0001"}


def test_it_writes_to_a_file_when_asked(tmp_path: Path) -> None:
    out = tmp_path / "traffic.jsonl"
    assert run("demo_traffic", "--events", "40", "--out", str(out)) == ""
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40 + CADENCE
    assert json.loads(lines[0])["event_id"] == "evt-000000"
