"""What the queue, the detail page, the dashboard and the audit log show."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from django.utils import timezone

from exchange.console.models import Triage
from exchange.console.services import pool_counts
from exchange.console.services.pool_counts import pool_count_if_due
from exchange.fanout.models import Channel, Delivery, DeliveryState, Subscription
from members.models import AuditEvent, KeyState, Member, SigningKey
from signatures.sdk.constants import TLP2_AMBER, TLP2_EXTENSION_ID
from signatures.sdk.profile import load_profile
from tests import stix_samples
from tests.exchange.console.conftest import publish
from tests.factories import token_for, token_row


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


# --- confirmation of destructive actions -------------------------------------------------------


@pytest.mark.parametrize("action", ["retire", "revoke"])
def test_it_shows_what_retire_and_revoke_will_do_before_doing_it(
    analyst_client: Client, slice_ids: dict[str, str], action: str
) -> None:
    target = slice_ids["range"]
    analyst_client.post(f"/console/objects/{target}/release/")
    url = f"/console/objects/{target}/{action}/"

    page = analyst_client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "What will happen" in text and "Account-farm egress range" in text
    assert "The 1 version in the partner feed is withdrawn: partners no longer get it." in text
    assert ("opinion of strongly-disagree" in text) is (action == "revoke")
    assert 'name="confirm" value="yes"' in text

    # The detail page's form posts here without the confirmation: still nothing happens,
    # and the reason typed is kept on the confirmation page.
    posted = analyst_client.post(url, {"reason": "reassigned"})
    assert posted.status_code == 200 and "reassigned</textarea>" in posted.content.decode()
    assert Triage.objects.get(stix_id=target).state == "released"

    # A confirmation without a reason shows the error on the same page.
    missing = analyst_client.post(url, {"confirm": "yes"})
    assert missing.status_code == 200 and "This field is required." in missing.content.decode()
    assert Triage.objects.get(stix_id=target).state == "released"

    done = analyst_client.post(url, {"reason": "reassigned", "confirm": "yes"})
    assert done.status_code == 302
    assert Triage.objects.get(stix_id=target).state == "retired"


def test_it_keeps_retire_and_revoke_in_separate_forms_with_their_own_ids(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    page = analyst_client.get(f"/console/objects/{slice_ids['range']}/").content.decode()
    retire = page[
        page.index('id="form-retire"') : page.index("</form>", page.index('id="form-retire"'))
    ]
    assert "act-retire" in retire and "act-revoke" not in retire
    assert 'id="form-revoke"' in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 'id="id_reason"' not in page
    assert '<details class="action-details">' not in page  # no action hidden in a fold


def test_it_confirms_token_revocation_key_rotation_and_key_revocation(
    admin_client: Client, lab_a: Member
) -> None:
    token = token_row(token_for(lab_a, "read"))
    page = admin_client.get(f"/console/tokens/{token.pk}/revoke/").content.decode()
    assert f"{token.prefix}…" in page and "stops working at once" in page
    admin_client.post(f"/console/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is None

    key = SigningKey.objects.get(member=lab_a, state=KeyState.ACTIVE)
    page = admin_client.post("/console/members/lab-a/keys/rotate/").content.decode()
    assert key.kid in page and "never sign again" in page
    page = admin_client.post(f"/console/keys/{key.pk}/revoke/", {"reason": "lost"}).content
    assert b"Revocation is final" in page and b'value="lost"' in page
    key.refresh_from_db()
    assert key.state == KeyState.ACTIVE
    assert not AuditEvent.objects.filter(actor_user__isnull=False).exists()


def test_it_confirms_replaying_every_dead_letter(admin_client: Client, partner: Member) -> None:
    subscription = Subscription.objects.create(
        owner=partner, name="SIEM", channel=Channel.WEBHOOK, url="https://siem.example/hook"
    )
    dead = Delivery.objects.create(
        subscription=subscription, state=DeliveryState.DEAD, first_seq=1, object_count=3
    )
    page = admin_client.post("/console/subscriptions/replay/")
    assert page.status_code == 200
    assert "1 dead letter are queued again and sent to 1 subscription: SIEM." in (
        page.content.decode()
    )
    dead.refresh_from_db()
    assert dead.state == DeliveryState.DEAD
    admin_client.post("/console/subscriptions/replay/", {"confirm": "yes"})
    dead.refresh_from_db()
    assert dead.state == DeliveryState.PENDING


# --- sorting, search and shareable filters ----------------------------------------------------


def test_it_links_each_column_header_to_its_sort_keeping_the_filters(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    response = analyst_client.get("/console/", {"lab": "lab-b", "sort": "-confidence", "page": "1"})
    headers = {h.key: h for h in response.context["headers"]}
    assert headers["confidence"].current == "descending"
    assert headers["confidence"].url == "?lab=lab-b&sort=confidence"
    assert headers["lab"].url == "?lab=lab-b&sort=lab" and headers["lab"].current == "none"
    assert headers["received"].url == "?lab=lab-b&sort=-received"
    page = response.content.decode()
    assert 'aria-sort="descending"' in page and 'id="sort-corroboration"' in page
    assert [row.obj.stix_id for row in response.context["rows"]] == [
        slice_ids[name] for name in ("payment", "same_pattern", "sighting")
    ]


def test_it_shares_a_search_as_a_url(analyst_client: Client, slice_ids: dict[str, str]) -> None:
    response = analyst_client.get("/console/", {"q": "203.0.113.40", "sort": "lab"})
    assert [row.obj.stix_id for row in response.context["rows"]] == [
        slice_ids["range"],
        slice_ids["same_pattern"],
    ]
    page = response.content.decode()
    assert 'href="?q=203.0.113.40&amp;sort=lab" id="share-link"' in page
    assert 'value="203.0.113.40"' in page  # the search box keeps it


def test_it_names_queue_rows_and_tells_them_apart(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    rows = {row.obj.stix_id: row for row in analyst_client.get("/console/").context["rows"]}
    assert (rows[slice_ids["range"]].name, rows[slice_ids["range"]].summary) == (
        "Account-farm egress range",
        "IPv4 in 203.0.113.0/24",
    )
    assert rows[slice_ids["same_pattern"]].name == "Egress range seen here too"


# --- bulk triage ------------------------------------------------------------------------------


def test_it_releases_selected_rows_in_one_post_and_reports_refusals(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    chosen = [slice_ids["range"], slice_ids["prompt"], slice_ids["payment"]]
    response = analyst_client.post(
        "/console/bulk/",
        {"action": "release", "ids": chosen, "reason": "campaign 7", "next": "lab=lab-a"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/console/?lab=lab-a"
    shown = [str(m) for m in response.context["messages"]]
    assert shown[0] == "2 object(s) released to partners."
    assert "TLP:AMBER+STRICT objects are not served to partners" in shown[1]
    released = AuditEvent.objects.filter(action="object-release").order_by("pk")
    assert [(e.target, e.note) for e in released] == [
        (slice_ids["range"], "campaign 7"),
        (slice_ids["prompt"], "campaign 7"),
    ]


def test_it_confirms_a_bulk_retire_listing_the_objects(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    chosen = [slice_ids["range"], slice_ids["prompt"]]
    data = {"action": "retire", "ids": chosen, "reason": "benign"}
    page = analyst_client.post("/console/bulk/", data)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Retire 2 objects" in text and "CoT extraction template" in text
    assert text.count('name="ids"') == 2
    assert not Triage.objects.exists()

    analyst_client.post("/console/bulk/", {**data, "confirm": "yes"})
    assert set(Triage.objects.values_list("stix_id", "state")) == {
        (slice_ids["range"], "retired"),
        (slice_ids["prompt"], "retired"),
    }
    assert AuditEvent.objects.filter(action="object-retire").count() == 2


def test_it_refuses_bulk_actions_outside_the_role(
    forum: Member, make_user: Any, slice_ids: dict[str, str]
) -> None:
    reader = make_user("reader", forum)
    reader.user_permissions.add(
        *Group.objects.get(name="analyst").permissions.exclude(codename="release_object")
    )
    client = Client()
    client.force_login(reader)
    response = client.post("/console/bulk/", {"action": "release", "ids": [slice_ids["range"]]})
    assert response.status_code == 403
    assert b"You may not open this page" in response.content  # the styled 403 page
    assert not Triage.objects.exists()


def test_it_asks_for_a_selection_and_a_reason(
    analyst_client: Client, slice_ids: dict[str, str]
) -> None:
    response = analyst_client.post("/console/bulk/", {"action": "retire"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert "Select some rows." in shown
    assert "Give a reason: it goes in the audit log." in shown


# --- accessibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/console/", "/console/members/", "/console/collections/"])
def test_it_gives_every_control_a_unique_id_and_a_label(
    admin_client: Client, slice_ids: dict[str, str], url: str
) -> None:
    page = admin_client.get(url).content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    for tag in re.findall(r"<(?:select|textarea|input)\b[^>]*>", page):
        if 'type="hidden"' in tag or "aria-label=" in tag or 'type="checkbox"' in tag:
            continue
        control = re.search(r'\sid="([^"]+)"', tag)
        assert control and control.group(1) in labelled, tag
    assert 'rel="icon" href="/static/console/favicon.svg"' in page


def test_it_counts_the_queue_only_ten_pages_ahead(
    analyst_client: Client, slice_ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("exchange.console.views.QUEUE_PAGE_SIZE", 1)
    monkeypatch.setattr("exchange.console.views.QUEUE_PAGES_AHEAD", 2)
    first = analyst_client.get("/console/")
    assert (first.context["page"].paginator.count, first.context["page"].paginator.capped) == (
        3,
        True,
    )
    assert "3+ objects" in first.content.decode()
    # Further on, the count reaches the end of the queue: exact, no "+".
    last = analyst_client.get("/console/", {"page": "4"})
    assert (last.context["page"].paginator.count, last.context["page"].paginator.capped) == (
        5,
        False,
    )
    assert [row.obj.stix_id for row in last.context["rows"]] == [slice_ids["prompt"]]


def test_it_counts_a_small_pool_again_as_soon_as_it_changes(
    analyst_client: Client, slice_ids: dict[str, str], lab_a: Member
) -> None:
    assert analyst_client.get("/console/dashboard/").context["data"].indicators == 4
    publish(
        lab_a,
        stix_samples.ip_range_indicator(
            lab_a.identity_id, id="indicator--0f0f0f0f-0000-4000-8000-000000000003"
        ),
    )
    assert analyst_client.get("/console/dashboard/").context["data"].indicators == 5


@override_settings(CONSOLE_COUNT_INLINE_SECONDS=-1)
def test_it_shows_a_large_pools_last_count_with_current_triage_states(
    analyst_client: Client, slice_ids: dict[str, str], lab_a: Member
) -> None:
    """A pool too large to count in a request (here: any) keeps its last count until the
    worker recounts; triage states are always current."""
    first = analyst_client.get("/console/dashboard/").context["data"]
    assert first.indicators == 4
    publish(
        lab_a,
        stix_samples.ip_range_indicator(
            lab_a.identity_id, id="indicator--0f0f0f0f-0000-4000-8000-000000000003"
        ),
    )
    analyst_client.post(f"/console/objects/{slice_ids['prompt']}/review/")
    data = analyst_client.get("/console/dashboard/").context["data"]
    assert (data.indicators, data.counted_at) == (4, first.counted_at)
    assert dict(data.states)["Under review"] == 1
    # Past the wait after the last count (four times its duration).
    assert pool_count_if_due(now=timezone.now() + timedelta(minutes=1))
    assert analyst_client.get("/console/dashboard/").context["data"].indicators == 5


def test_the_dashboard_says_so_while_a_large_pool_waits_for_its_first_count(
    analyst_client: Client, slice_ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_counts, "INLINE_FIRST_COUNT_OBJECTS", 3)
    analyst_client.post(f"/console/objects/{slice_ids['range']}/release/")
    response = analyst_client.get("/console/dashboard/")
    data = response.context["data"]
    assert (data.counted_at, data.indicators, data.labs) == (None, 0, [])
    assert len(data.days) == 14
    assert dict(data.states)["Released to partners"] == 1  # counted now, not by the worker
    assert "the pool is not counted yet" in response.content.decode()


@pytest.mark.parametrize("page", ["99999999999999999999", "-5", "x", "1" * 5000])
def test_it_shows_a_queue_page_for_any_page_number(
    analyst_client: Client, slice_ids: dict[str, str], page: str
) -> None:
    """A number past a bigint once reached the count's LIMIT and answered 500."""
    response = analyst_client.get("/console/", {"page": page})
    assert response.status_code == 200
    assert response.context["rows"]
