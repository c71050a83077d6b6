"""Everything the seeded demo serves, to every member, is valid STIX 2.1.

Each member reads every collection it can see over real HTTP with taxii2-client (all
pages), and every object must pass the OASIS validator (stix2-validator) with no error
and parse with ``stix2.parse(..., allow_custom=False)``; stix2's own TAXII data source
must read the whole feed too.

The one exception is stated where it applies: the profile's own observables
(``prompt-pattern``, ``payment-instrument``, ``api-session-profile``,
``account-cluster``) are ``new-sco`` types declared by the Forum's extension-definitions.
STIX 2.1 section 7.3 makes them legal, but stix2 cannot parse a type it has not been told
about without ``allow_custom``, so they are parsed with it, and the validator still checks
them in full.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import stix2
from django.core.management import call_command
from pytest_django.live_server_helper import LiveServer
from stix2.datastore.filters import Filter
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Collection, Server, as_pages

from signatures.sdk.jss import official_objects
from signatures.sdk.profile import load_profile

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PROFILE_TYPES = load_profile().types


def seed() -> dict[str, str]:
    """Run seed_demo; the demo tokens by member name."""
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()[1:]
    return {line.split()[0]: line.split()[-1] for line in lines}


@pytest.fixture
def servers(live_server: LiveServer, settings: Any) -> Iterator[dict[str, Server]]:
    """A taxii2-client Server per demo member, authenticated with its demo token."""
    # Discovery advertises API roots under SITE_URL; here that is the test server.
    settings.SITE_URL = live_server.url
    by_member = {
        name: Server(f"{live_server.url}/taxii2/", user=name, password=token)
        for name, token in seed().items()
    }
    yield by_member
    for server in by_member.values():
        server.close()


def readable(server: Server) -> list[Collection]:
    return [
        collection
        for api_root in server.api_roots
        for collection in api_root.collections
        if collection.can_read
    ]


def served(collection: Collection) -> list[dict[str, Any]]:
    """Every object of the collection, following ``next`` to the last page."""
    objects: list[dict[str, Any]] = []
    for envelope in as_pages(collection.get_objects, per_request=50):
        objects += envelope.get("objects", [])
    return objects


def test_it_serves_only_valid_stix_to_every_member(servers: dict[str, Server]) -> None:
    options = ValidationOptions(version="2.1")
    checked: dict[str, dict[str, dict[str, Any]]] = {}
    problems: list[str] = []
    for name, server in servers.items():
        collections = readable(server)
        assert collections, f"{name} reads no collection"
        for collection in collections:
            for obj in served(collection):
                checked.setdefault(name, {})[obj["id"]] = obj
                result = validate_instance(obj, options)
                problems += [f"{name}: {obj['id']}: {error}" for error in result.errors]
                try:
                    stix2.parse(obj, allow_custom=obj["type"] in PROFILE_TYPES, version="2.1")
                except stix2.exceptions.STIXError as exc:
                    problems.append(f"{name}: {obj['id']}: stix2.parse: {exc}")
    assert not problems, "\n".join(problems)
    assert set(checked) == set(servers)
    for name, objects in checked.items():
        types = {obj["type"] for obj in objects.values()}
        assert {"indicator", "identity", "marking-definition", "extension-definition"} <= types
        assert not any(
            "extensions" in obj for obj in objects.values() if obj["type"] == "extension-definition"
        ), name


def test_it_serves_the_official_tlp_objects_to_every_member_as_oasis_publishes_them(
    servers: dict[str, Server],
) -> None:
    # Unsigned and unchanged: their integrity is their content (docs/signing.md section 12).
    for name, server in servers.items():
        objects = {obj["id"]: obj for c in readable(server) for obj in served(c)}
        assert {i: objects.get(i) for i in official_objects()} == official_objects(), name


def test_stix2_reads_the_whole_feed_through_its_taxii_data_source(
    servers: dict[str, Server],
) -> None:
    for name, server in servers.items():
        for collection in readable(server):
            # allow_custom=False: only the profile's own observable types are left out, by a
            # local filter applied before stix2 parses anything.
            source = stix2.TAXIICollectionSource(collection, allow_custom=False)
            leave_out = [Filter("type", "!=", object_type) for object_type in PROFILE_TYPES]
            parsed = source.query(leave_out)
            raw = [obj for obj in served(collection) if obj["type"] not in PROFILE_TYPES]
            assert sorted(obj.id for obj in parsed) == sorted(obj["id"] for obj in raw), name
