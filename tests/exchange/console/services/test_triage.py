"""exchange.console.services.triage: every workflow move through the console's views, down
to what partners are served over TAXII and the REST API."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from exchange.console.models import Triage, TriageState
from exchange.console.selectors import partner_feed
from exchange.console.services import triage
from members.models import AuditEvent, Member
from members.selectors import member_jwks
from signatures.models import Collection, CollectionEntry, StixObject
from signatures.sdk import jss
from signatures.sdk.constants import TLP2_GREEN
from tests import stix_samples
from tests.exchange.console.conftest import act, last_event, partner_sees, publish


def test_it_releases_every_version_to_the_partner_feed(
    analyst_client: Client,
    analyst: User,
    slice_ids: dict[str, str],
    lab_a: Member,
    partner: Member,
    client_for: Callable[..., APIClient],
) -> None:
    target = slice_ids["range"]
    assert partner_sees(client_for, partner) == []

    assert act(analyst_client, target, "release", note="egress range confirmed") == [
        "Released to partners: the object is in the partner feed."
    ]
    assert [obj["id"] for obj in partner_sees(client_for, partner)] == [target]
    assert Triage.objects.get(stix_id=target).state == TriageState.RELEASED
    event = last_event("object-release")
    assert (event.actor_user, event.actor_member.name if event.actor_member else None) == (
        analyst,
        "forum",
    )
    assert event.before == {"state": "new"} and event.after is not None
    assert event.after["state"] == "released" and len(event.after["versions_added"]) == 1
    assert event.note == "egress range confirmed"
    feed = partner_feed()
    assert feed is not None and not feed.writers.exclude(name="forum").exists()

    # A version the lab publishes later reaches partners when released again.
    newer = stix_samples.ip_range_indicator(
        lab_a.identity_id, modified="2026-11-21T10:00:00.000Z", confidence=95
    )
    publish(lab_a, newer)
    act(analyst_client, target, "release")
    served = partner_sees(client_for, partner)
    assert [(obj["id"], obj["confidence"]) for obj in served] == [(target, 95)]
    assert CollectionEntry.objects.filter(collection=feed, stix_id=target).count() == 2


def test_it_refuses_to_release_what_partners_may_not_be_served(
    analyst_client: Client,
    slice_ids: dict[str, str],
    partner: Member,
    client_for: Callable[..., APIClient],
) -> None:
    messages = act(analyst_client, slice_ids["payment"], "release")
    assert messages == [
        "TLP:AMBER+STRICT objects are not served to partners; keep it members-only."
    ]
    assert not Triage.objects.filter(stix_id=slice_ids["payment"], state="released").exists()
    assert partner_sees(client_for, partner) == []


def test_it_walks_the_workflow_and_refuses_moves_out_of_retired(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    target = slice_ids["prompt"]
    assert act(analyst_client, target, "review") == ["Under review."]
    assert act(analyst_client, target, "members-only") == ["Kept members-only."]
    assert act(analyst_client, target, "retire", reason="template is benign") == [
        "Retired: partners no longer get it."
    ]
    assert act(analyst_client, target, "release") == [
        "An object that is retired cannot become released to partners."
    ]
    assert act(analyst_client, target, "retire", reason="again") == [
        "An object that is retired cannot become retired."
    ]
    states = [
        (e.before or {}).get("state")
        for e in AuditEvent.objects.filter(target=target).order_by("pk")
    ]
    assert states == ["new", "under-review", "members-only"]


def test_it_takes_a_retired_or_members_only_object_off_the_partner_feed(
    analyst_client: Client,
    slice_ids: dict[str, str],
    partner: Member,
    client_for: Callable[..., APIClient],
) -> None:
    for target in (slice_ids["range"], slice_ids["prompt"]):
        act(analyst_client, target, "release")
    assert len(partner_sees(client_for, partner)) == 2

    act(analyst_client, slice_ids["range"], "members-only")
    act(analyst_client, slice_ids["prompt"], "retire", reason="stale")
    assert partner_sees(client_for, partner) == []
    assert last_event("object-retire").after == {
        "state": "retired",
        "partner_feed_versions_removed": 1,
    }
    # Members keep their copies: retirement is about partners.
    assert StixObject.objects.filter(stix_id=slice_ids["prompt"]).exists()


def test_it_revokes_through_a_forum_signed_opinion(
    analyst_client: Client,
    slice_ids: dict[str, str],
    forum: Member,
    partner: Member,
    client_for: Callable[..., APIClient],
) -> None:
    target = slice_ids["range"]
    act(analyst_client, target, "release")
    act(analyst_client, target, "revoke", reason="reassigned to a university")

    opinion_row = StixObject.objects.get(type="opinion")
    opinion = orjson.loads(opinion_row.raw)
    assert opinion["created_by_ref"] == forum.identity_id
    assert (opinion["opinion"], opinion["labels"], opinion["object_refs"]) == (
        "strongly-disagree",
        ["revocation"],
        [target],
    )
    assert opinion["explanation"] == "reassigned to a university"
    assert opinion["object_marking_refs"] == [TLP2_GREEN]
    report = jss.verify_object(opinion, member_jwks(forum))
    assert report.status == "valid" and report.signees == (forum.identity_id,)

    assert Triage.objects.get(stix_id=target).state == TriageState.RETIRED
    served = partner_sees(client_for, partner)
    assert [obj["id"] for obj in served] == [opinion["id"]]
    assert last_event("object-revoke").note == "reassigned to a university"
    assert last_event("opinion-publish").target == opinion["id"]


def test_it_only_ever_makes_tlp_stricter_and_serves_the_json_unchanged(
    analyst_client: Client,
    slice_ids: dict[str, str],
    partner: Member,
    client_for: Callable[..., APIClient],
) -> None:
    target = slice_ids["range"]
    before = StixObject.objects.get(stix_id=target)
    act(analyst_client, target, "release")

    refused = act(analyst_client, target, "tlp", level="green", reason="no-op")
    assert refused == [
        "TLP can only be made more restrictive: the object is TLP:GREEN, TLP:GREEN is not stricter."
    ]
    assert act(analyst_client, target, "tlp", level="clear", reason="wider") == [
        "Select a valid choice. clear is not one of the available choices."
    ]

    assert act(analyst_client, target, "tlp", level="amber", reason="lab asked") == [
        "TLP restricted."
    ]
    after = StixObject.objects.get(stix_id=target)
    assert (after.tlp, after.raw) == ("amber", before.raw)
    assert [obj["id"] for obj in partner_sees(client_for, partner)] == [target]

    act(analyst_client, target, "tlp", level="amber+strict", reason="ongoing case")
    assert partner_sees(client_for, partner) == []
    triage = Triage.objects.get(stix_id=target)
    assert (triage.state, triage.publisher_tlp) == (TriageState.MEMBERS_ONLY, "green")
    event = last_event("object-tlp-restrict")
    assert event.before is not None and event.after is not None
    assert (event.before["tlp"], event.after["tlp"]) == ("amber", "amber+strict")
    assert event.after["partner_feed_versions_removed"] == 1
    assert event.note == "ongoing case"
    # The REST API applies the same restriction: the partner cannot read it there either.
    response = client_for(partner).get(f"/api/v1/objects/{target}/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("release", {}),
        ("retire", {"reason": "x", "confirm": "yes"}),
        ("revoke", {"reason": "x", "confirm": "yes"}),
        ("tlp", {"level": "amber", "reason": "x"}),
        ("note", {"content": "x"}),
    ],
)
def test_it_answers_404_for_objects_the_forum_cannot_see(
    analyst_client: Client, lab_a: Member, action: str, data: dict[str, str]
) -> None:
    hidden = stix_samples.ip_range_indicator(
        lab_a.identity_id,
        id="indicator--0d0d0d0d-0000-4000-8000-000000000001",
        object_marking_refs=["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],
    )
    publish(lab_a, hidden)
    assert analyst_client.get(f"/console/objects/{hidden['id']}/").status_code == 404
    if "confirm" in data:
        # Its confirmation page is as unknown as its detail page.
        assert analyst_client.get(f"/console/objects/{hidden['id']}/{action}/").status_code == 404
    response = analyst_client.post(f"/console/objects/{hidden['id']}/{action}/", data)
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [f"No object {hidden['id']} is visible to the Forum."]
    assert not AuditEvent.objects.filter(target=hidden["id"]).exists()


def test_it_ranks_an_unmarked_object_as_amber_when_restricting(
    analyst_client: Client, lab_a: Member
) -> None:
    unmarked = stix_samples.ip_range_indicator(lab_a.identity_id, object_marking_refs=[])
    del unmarked["object_marking_refs"]
    publish(lab_a, unmarked)

    assert act(analyst_client, unmarked["id"], "tlp", level="amber", reason="same") == [
        "TLP can only be made more restrictive: the object is unmarked, TLP:AMBER is not stricter."
    ]
    assert act(analyst_client, unmarked["id"], "tlp", level="amber+strict", reason="case") == [
        "TLP restricted."
    ]


def test_it_releases_amber_strict_where_the_partner_feed_serves_it_to_partners(
    analyst_client: Client,
    slice_ids: dict[str, str],
    lab_b: Member,
    partner: Member,
    client_for: Callable[..., APIClient],
) -> None:
    # The partner feed exists (first release), then its policy admits AMBER+STRICT and the
    # publisher names the partner in its allowed set: the release check asks the same rule
    # the feed serves by (signatures.selectors.partners_may_be_served).
    act(analyst_client, slice_ids["range"], "release")
    feed = partner_feed()
    assert feed is not None
    Collection.objects.filter(pk=feed.pk).update(partners_read_amber_strict=True)
    lab_b.amber_strict_recipients.add(partner)

    assert act(analyst_client, slice_ids["payment"], "release") == [
        "Released to partners: the object is in the partner feed."
    ]
    served = {obj["id"] for obj in partner_sees(client_for, partner)}
    assert served == {slice_ids["range"], slice_ids["payment"]}


def test_it_releases_many_objects_in_one_call_auditing_each_and_skipping_refusals(
    analyst: User,
    slice_ids: dict[str, str],
    partner: Member,
    client_for: Callable[..., APIClient],
) -> None:
    chosen = [slice_ids["range"], slice_ids["payment"], slice_ids["prompt"], slice_ids["range"]]
    outcome = triage.objects_release(stix_ids=chosen, user=analyst, note="campaign 7")
    assert outcome.done == [slice_ids["range"], slice_ids["prompt"]]
    assert list(outcome.refused) == [slice_ids["payment"]]
    assert "not served to partners" in outcome.refused[slice_ids["payment"]]
    # The refused object left nothing behind: its savepoint was rolled back.
    assert not Triage.objects.filter(stix_id=slice_ids["payment"]).exists()
    assert [e.target for e in AuditEvent.objects.filter(action="object-release")] == [
        slice_ids["prompt"],
        slice_ids["range"],
    ]
    served = {obj["id"] for obj in partner_sees(client_for, partner)}
    assert served == {slice_ids["range"], slice_ids["prompt"]}


def test_it_retires_and_restricts_many_objects_with_one_reason(
    analyst: User, slice_ids: dict[str, str]
) -> None:
    retired = triage.objects_retire(
        stix_ids=[slice_ids["range"], slice_ids["sighting"]], user=analyst, reason="stale"
    )
    assert retired.refused == {}
    assert {e.note for e in AuditEvent.objects.filter(action="object-retire")} == {"stale"}
    restricted = triage.objects_tlp_restrict(
        stix_ids=[slice_ids["prompt"], slice_ids["payment"]],
        level="amber+strict",
        user=analyst,
        reason="case",
    )
    assert restricted.done == [slice_ids["prompt"]]
    assert "not stricter" in restricted.refused[slice_ids["payment"]]
    assert StixObject.objects.get(stix_id=slice_ids["prompt"]).tlp == "amber+strict"


@pytest.mark.parametrize(
    ("ids", "reason", "message"),
    [
        ([], "stale", "Select at least one object."),
        (["indicator--0d0d0d0d-0000-4000-8000-000000000001"], " ", "Give a reason to retire them."),
    ],
)
def test_it_refuses_an_empty_selection_or_reason(
    analyst: User, ids: list[str], reason: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        triage.objects_retire(stix_ids=ids, user=analyst, reason=reason)


def test_it_refuses_more_than_the_bulk_limit(analyst: User) -> None:
    ids = [f"indicator--{n:08x}-0000-4000-8000-000000000000" for n in range(triage.BULK_LIMIT + 1)]
    with pytest.raises(ValidationError, match="at most 500"):
        triage.objects_release(stix_ids=ids, user=analyst)
