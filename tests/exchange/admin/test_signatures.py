"""exchange/admin/signatures.py: the admin changes collections only through the services,
over HTTP, signed in through /admin/login/ as a Forum operator."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from members.models import AuditEvent, Member
from signatures.models import Collection
from signatures.selectors import collection_default

#: The default collection's title (signatures/migrations/0002_default_collection).
FEED_TITLE = "Distillation signatures"


def _collection_form(collection: Collection, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": collection.title,
        "description": collection.description,
        "alias": collection.alias,
        "api_root": collection.api_root,
        "readers": [m.pk for m in collection.readers.all()],
        "writers": [m.pk for m in collection.writers.all()],
        "_save": "Save",
    }
    if collection.partners_read_amber_strict:
        data["partners_read_amber_strict"] = "on"
    data.update(changes)
    return data


def test_it_refuses_an_api_root_the_server_does_not_serve(admin_browser: Client) -> None:
    feed = collection_default()
    response = admin_browser.post(
        f"/admin/signatures/collection/{feed.pk}/change/",
        _collection_form(feed, api_root="nowhere"),
    )
    assert response.status_code == 200
    assert "is not served" in response.content.decode()
    feed.refresh_from_db()
    assert feed.api_root == "feed"
    assert not AuditEvent.objects.filter(target=str(feed.pk)).exists()


def test_it_refuses_a_partner_as_writer(admin_browser: Client, partner: Member) -> None:
    feed = collection_default()
    writers = [*feed.writers.values_list("pk", flat=True), partner.pk]
    response = admin_browser.post(
        f"/admin/signatures/collection/{feed.pk}/change/", _collection_form(feed, writers=writers)
    )
    assert "Read-only members cannot be writers: partner." in response.content.decode()
    assert not feed.writers.filter(pk=partner.pk).exists()
    assert not AuditEvent.objects.filter(target=str(feed.pk)).exists()


def test_it_audits_each_grant_and_setting_changed(
    admin_browser: Client, operator: User, partner: Member, lab_a: Member, settings: Any
) -> None:
    settings.TAXII_API_ROOTS = ["feed", "research"]
    feed = collection_default()
    readers = [pk for pk in feed.readers.values_list("pk", flat=True) if pk != partner.pk]
    response = admin_browser.post(
        f"/admin/signatures/collection/{feed.pk}/change/",
        _collection_form(feed, readers=readers, api_root="research", title="Renamed"),
    )
    assert response.status_code == 302
    feed.refresh_from_db()
    assert (feed.api_root, feed.title) == ("research", "Renamed")
    assert not feed.readers.filter(pk=partner.pk).exists()
    events = {e.action: e for e in AuditEvent.objects.filter(target=str(feed.pk))}
    assert set(events) == {"collection-update", "collection-reader-withdraw"}
    assert events["collection-update"].before == {"api_root": "feed", "title": FEED_TITLE}
    assert events["collection-update"].after == {"api_root": "research", "title": "Renamed"}
    assert events["collection-reader-withdraw"].after == {"member": "partner", "reader": False}
    assert all(e.actor_user == operator for e in events.values())


def test_it_creates_a_collection_through_the_service(
    admin_browser: Client, lab_a: Member, partner: Member
) -> None:
    response = admin_browser.post(
        "/admin/signatures/collection/add/",
        {
            "title": "Lab A and partner",
            "description": "",
            "alias": "",
            "api_root": "feed",
            "readers": [lab_a.pk, partner.pk],
            "writers": [lab_a.pk],
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    created = Collection.objects.get(title="Lab A and partner")
    assert created.media_types  # set by collection_create
    event = AuditEvent.objects.get(action="collection-create", target=str(created.pk))
    assert event.after is not None
    assert (event.after["readers"], event.after["writers"]) == (["lab-a", "partner"], ["lab-a"])
    assert (
        admin_browser.get(f"/admin/signatures/collection/{created.pk}/delete/").status_code == 403
    )
