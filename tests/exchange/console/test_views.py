"""What the queue, the detail page, the dashboard and the audit log show."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest
from django.test import Client

from members.models import Member
from signatures.sdk.constants import TLP2_AMBER, TLP2_EXTENSION_ID
from signatures.sdk.profile import load_profile
from tests import stix_samples
from tests.exchange.console.conftest import publish


def queue_ids(client: Client, **filters: Any) -> list[str]:
    response = client.get("/console/", filters)
    assert response.status_code == 200
    return [row.obj.stix_id for row in response.context["rows"]]


def test_it_lists_new_signatures_newest_first(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    assert queue_ids(analyst_client) == [
        slice_ids[name] for name in ("payment", "sighting", "same_pattern", "prompt", "range")
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"lab": "lab-a"}, ["prompt", "range"]),
        ({"kind": "network"}, ["same_pattern", "range"]),
        ({"kind": "prompt"}, ["prompt"]),
        ({"kind": "payment"}, ["payment"]),
        ({"category": "sighting"}, ["sighting"]),
        ({"tlp": "amber"}, ["prompt"]),
        ({"tlp": "amber+strict"}, ["payment"]),
        ({"min_confidence": "80"}, ["payment", "prompt", "range"]),
        ({"phase": "bulk-extraction"}, ["prompt"]),
        ({"phase": "access-provisioning"}, ["same_pattern"]),
        ({"state": "released"}, []),
        ({"lab": "lab-b", "kind": "network"}, ["same_pattern"]),
    ],
)
def test_it_filters_the_queue(
    analyst_client: Client,
    slice_ids: dict[str, str],
    filters: dict[str, str],
    expected: list[str],
) -> None:
    assert queue_ids(analyst_client, **filters) == [slice_ids[name] for name in expected]


def test_it_filters_by_triage_state(analyst_client: Client, slice_ids: dict[str, str]) -> None:
    analyst_client.post(f"/console/objects/{slice_ids['prompt']}/review/")
    assert queue_ids(analyst_client, state="under-review") == [slice_ids["prompt"]]
    assert slice_ids["prompt"] not in queue_ids(analyst_client, state="new")


@pytest.mark.parametrize(
    ("stix_id", "badge"),
    [(TLP2_EXTENSION_ID, "official"), (TLP2_AMBER, "official")]
    + [(definition, "✔ signed") for definition in sorted(load_profile().extension_definitions)],
)
def test_it_shows_the_forums_definitions_as_signed_and_oasis_content_as_official(
    analyst_client: Client, forum: Member, stix_id: str, badge: str
) -> None:
    response = analyst_client.get(f"/console/objects/{stix_id}/")
    assert response.status_code == 200
    verification = response.context["d"].versions[-1].verification
    if badge == "official":
        assert (verification.status, verification.signed_by) == ("official", ())
    else:
        # Verified through the stored signature note (docs/signing.md section 12).
        assert (verification.status, verification.signed_by) == ("valid", ("forum",))
    assert f'sig-{verification.status}" title="{verification.reason}">{badge}<' in (
        response.content.decode()
    )


def test_it_shows_versions_with_a_property_diff(
    analyst_client: Client, slice_ids: dict[str, str], lab_a: Member, lab_b: Member
) -> None:
    newer = stix_samples.ip_range_indicator(
        lab_a.identity_id, modified="2026-11-21T10:00:00.000Z", confidence=95
    )
    publish(lab_a, newer)
    response = analyst_client.get(f"/console/objects/{slice_ids['range']}/")
    detail = response.context["d"]
    changed = {p.name: (p.change, p.before, p.after) for p in detail.versions[1].diff}
    # The new version is signed anew, so its signing extension differs too.
    assert (detail.versions[0].diff, set(changed)) == ([], {"confidence", "modified", "extensions"})
    assert changed["confidence"] == ("changed", "80", "95")
    assert changed["modified"][0] == "changed"
    assert [s.stix_id for s in detail.sightings] == [slice_ids["sighting"]]
    assert detail.corroborated_by == ["lab-b"]
    page = response.content.decode()
    assert "Changes in" in page and "IPv4 in 203.0.113.0/24" in page


def test_it_draws_the_dashboard(analyst_client: Client, slice_ids: dict[str, str]) -> None:
    analyst_client.post(f"/console/objects/{slice_ids['range']}/release/")
    response = analyst_client.get("/console/dashboard/")
    data = response.context["data"]
    assert data.labs == ["lab-a", "lab-b"]
    assert (sum(data.published["lab-a"]), sum(data.published["lab-b"])) == (2, 3)
    assert dict(data.kinds) == {"network": 2, "prompt": 1, "payment": 1}
    assert (data.indicators, data.corroborated) == (4, 2)
    assert dict(data.states)["Released to partners"] == 1
    assert [obj.stix_id for obj, _, _ in data.top_corroborated] == sorted(
        [slice_ids["range"], slice_ids["same_pattern"]]
    )
    page = response.content.decode()
    assert page.count("<svg") >= 4
    assert "No subscriptions yet" in page and "50%" in page


def test_it_filters_and_exports_the_audit_log(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    analyst_client.post(f"/console/objects/{slice_ids['range']}/release/")
    analyst_client.post(
        f"/console/objects/{slice_ids['prompt']}/retire/",
        {"reason": 'benign, "quoted"', "confirm": "yes"},
    )
    page = analyst_client.get("/console/audit/", {"action": "object-retire"})
    assert [e.target for e in page.context["page"]] == [slice_ids["prompt"]]
    by_actor = analyst_client.get("/console/audit/", {"actor": "ana"}).context["page"]
    assert {e.action for e in by_actor} == {"object-release", "object-retire", "collection-create"}

    exported = analyst_client.get("/console/audit/export.json", {"action": "object-retire"})
    assert exported["Content-Disposition"] == 'attachment; filename="audit-log.json"'
    (event,) = orjson.loads(exported.content)
    assert (event["actor_user"], event["actor_member"], event["note"]) == (
        "ana",
        "forum",
        'benign, "quoted"',
    )
    assert (event["before"], event["after"]["state"]) == ({"state": "new"}, "retired")

    streamed = analyst_client.get("/console/audit/export.csv", {"actor": "ana"})
    rows = list(csv.DictReader(io.StringIO(b"".join(streamed.streaming_content).decode())))
    actions = [row["action"] for row in rows]
    assert actions == ["object-retire", "object-release", "collection-create"]
    assert orjson.loads(rows[0]["before"]) == {"state": "new"}
    assert rows[0]["note"] == 'benign, "quoted"'
