"""exchange.console.services.forum_objects: the Forum's notes, campaigns and relationships,
built by one helper and published (signed) through the one publish path."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import User
from django.test import Client

from exchange.console.forms import CampaignLinkForm
from exchange.console.services.forum_objects import (
    forum_object_build,
    object_note_add,
    objects_note_add,
)
from members.models import AuditEvent, Member
from signatures.models import StixObject
from signatures.sdk.constants import TLP2_AMBER, TLP2_BY_LEVEL
from tests import stix_samples
from tests.exchange.console.conftest import act, last_event, publish


def test_it_builds_the_common_properties_of_every_forum_object(forum: Member) -> None:
    built = forum_object_build("campaign", forum=forum, markings=[TLP2_AMBER], name="HYDRA-2611")
    assert list(built) == [
        "type",
        "spec_version",
        "id",
        "created",
        "modified",
        "created_by_ref",
        "name",
        "object_marking_refs",
    ]
    assert (built["type"], built["spec_version"], built["created_by_ref"]) == (
        "campaign",
        "2.1",
        forum.identity_id,
    )
    prefix, _, value = built["id"].partition("--")
    assert (prefix, uuid.UUID(value).version) == ("campaign", 4)
    assert built["created"] == built["modified"]
    # The exchange writes exactly millisecond precision with Z (docs/profile.md).
    assert datetime.strptime(built["created"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(built["created"]) == len("2026-01-01T00:00:00.000Z")
    assert (built["name"], built["object_marking_refs"]) == ("HYDRA-2611", [TLP2_AMBER])
    assert forum_object_build("note", forum=forum, markings=[])["id"] != built["id"]


def test_it_publishes_notes_as_the_forum_marked_like_their_subject(
    analyst_client: Client, slice_ids: dict[str, str], forum: Member
) -> None:
    target = slice_ids["prompt"]
    act(analyst_client, target, "note", abstract="Seen in 3 labs", content="Same template.")
    # The profile's signature notes are notes too: find the analyst's by its audit record.
    note = StixObject.objects.get(stix_id=last_event("note-publish").after["note"])
    assert note.created_by_ref == forum.identity_id
    assert note.data["object_refs"] == [target]
    assert note.data["object_marking_refs"] == [TLP2_AMBER]
    assert note.data["authors"] == ["ana"]
    page = analyst_client.get(f"/console/objects/{target}/").content.decode()
    assert "Same template." in page and "Seen in 3 labs" in page
    assert last_event("note-publish").after == {"note": note.stix_id, "abstract": "Seen in 3 labs"}


def test_it_links_objects_to_forum_campaigns(
    analyst_client: Client, slice_ids: dict[str, str], forum: Member
) -> None:
    assert act(analyst_client, slice_ids["range"], "campaign") == [
        "Choose a campaign or name a new one."
    ]
    act(analyst_client, slice_ids["range"], "campaign", new_campaign="HYDRA-2611")
    campaign = StixObject.objects.get(type="campaign")
    assert (campaign.data["name"], campaign.created_by_ref) == ("HYDRA-2611", forum.identity_id)

    assert act(analyst_client, slice_ids["prompt"], "campaign", campaign=campaign.stix_id) == [
        "Linked to the campaign."
    ]
    assert act(analyst_client, slice_ids["sighting"], "campaign", campaign=campaign.stix_id) == [
        "A relationship cannot start from a sighting or a relationship (STIX 2.1 section 5.1); "
        "link the object it is about instead."
    ]
    links = {
        (r.data["source_ref"], r.data["relationship_type"], r.data["target_ref"])
        for r in StixObject.objects.filter(type="relationship")
    }
    assert links == {
        (slice_ids["range"], "indicates", campaign.stix_id),
        (slice_ids["prompt"], "indicates", campaign.stix_id),
    }
    assert StixObject.objects.filter(type="campaign").count() == 1
    page = analyst_client.get(f"/console/objects/{slice_ids['range']}/").content.decode()
    assert "indicates" in page


def test_it_publishes_one_note_about_many_objects_marked_like_the_strictest(
    analyst: User, slice_ids: dict[str, str]
) -> None:
    chosen = [slice_ids["range"], slice_ids["payment"], slice_ids["prompt"]]
    note = objects_note_add(stix_ids=chosen, user=analyst, content="One campaign.")
    assert note.data["object_refs"] == chosen
    assert note.data["object_marking_refs"] == [TLP2_BY_LEVEL["amber+strict"]]
    events = AuditEvent.objects.filter(action="note-publish").order_by("pk")
    assert [e.target for e in events] == chosen
    assert {e.after["note"] for e in events if e.after} == {note.stix_id}


def test_it_marks_a_note_about_an_unmarked_and_an_amber_object_amber(
    analyst: User, lab_a: Member, slice_ids: dict[str, str]
) -> None:
    unmarked = stix_samples.ip_range_indicator(
        lab_a.identity_id,
        id="indicator--0e0e0e0e-0000-4000-8000-000000000002",
        object_marking_refs=[],
    )
    publish(lab_a, unmarked)
    note = objects_note_add(
        stix_ids=[unmarked["id"], slice_ids["prompt"]], user=analyst, content="x"
    )
    assert note.data["object_marking_refs"] == [TLP2_AMBER]


def test_it_offers_and_links_a_labs_campaign(
    analyst_client: Client, slice_ids: dict[str, str], lab_b: Member
) -> None:
    assert CampaignLinkForm().fields["campaign"].choices == [  # type: ignore[attr-defined]
        ("", "No campaign yet: name one below")
    ]
    campaign = forum_object_build("campaign", forum=lab_b, markings=[TLP2_AMBER], name="HYDRA")
    publish(lab_b, campaign)
    assert CampaignLinkForm().fields["campaign"].choices == [  # type: ignore[attr-defined]
        ("", "—"),
        (campaign["id"], "HYDRA (lab-b)"),
    ]
    assert act(analyst_client, slice_ids["range"], "campaign", campaign=campaign["id"]) == [
        "Linked to the campaign."
    ]
    assert last_event("campaign-link").after["campaign"] == campaign["id"]  # type: ignore[index]


def test_it_marks_a_note_about_an_unmarked_object_amber_as_the_policy_reads_it(
    analyst: User, lab_a: Member
) -> None:
    """Unmarked counts as TLP:AMBER (signatures/choices.py): a GREEN note would tell a
    GREEN reader what the object's own readers alone may know."""
    unmarked = stix_samples.ip_range_indicator(
        lab_a.identity_id,
        id="indicator--0e0e0e0e-0000-4000-8000-000000000003",
        object_marking_refs=[],
    )
    publish(lab_a, unmarked)
    note = object_note_add(stix_id=unmarked["id"], user=analyst, content="x")
    assert note.data["object_marking_refs"] == [TLP2_AMBER]
