"""exchange/console/search.py: search by value across the pool, and the queue's sort keys.

These run on SQLite (the ipaddress and LIKE fallback) and on PostgreSQL (the inet function
and the search-text function of migration 0003, with their indexes) alike.
"""

from __future__ import annotations

import uuid

import pytest

from exchange.console.search import SORT_KEYS, as_network, sort_key
from exchange.console.selectors import QueueFilters, forum_member, queue_objects
from exchange.console.services.pool_counts import pool_count
from members.models import Member
from signatures.sdk import indicators
from tests import stix_samples
from tests.exchange.console.conftest import publish


def queued(**filters: object) -> list[str]:
    pool_count()  # the corroboration sort reads the last count
    return [obj.stix_id for obj in queue_objects(forum_member(), QueueFilters(**filters))]  # type: ignore[arg-type]


@pytest.fixture
def addresses(lab_a: Member, lab_b: Member, slice_ids: dict[str, str]) -> dict[str, str]:
    """One address indicator, an IPv6 network indicator and an address observable."""
    single = indicators.indicator(
        indicators.ip_pattern("198.51.100.7"),
        created_by_ref=lab_a.identity_id,
        name="Proxy exit",
        phases=["access-provisioning"],
        confidence=70,
        tlp="green",
    )
    v6 = indicators.indicator(
        indicators.ip_pattern("2001:db8::/32"),
        created_by_ref=lab_b.identity_id,
        name="IPv6 hosting block",
        phases=["access-provisioning"],
        confidence=50,
        tlp="clear",
    )
    observable = stix_samples.ipv4_range("192.0.2.0/28")
    publish(lab_a, single, observable)
    publish(lab_b, v6)
    return {**slice_ids, "single": single["id"], "v6": v6["id"], "observable": observable["id"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # An address finds the ranges around it; a range finds what lies inside it.
        ("203.0.113.9", {"range", "same_pattern"}),
        ("203.0.0.0/16", {"range", "same_pattern"}),
        ("198.51.100.0/24", {"single"}),
        ("198.51.100.7", {"single"}),
        ("198.51.100.8", set()),
        ("192.0.2.5", {"observable"}),
        ("2001:db8:1::1", {"v6"}),
        ("2001:db8::/16", {"v6"}),
        ("10.0.0.0/8", set()),
    ],
)
def test_it_finds_addresses_inside_a_cidr_and_ranges_around_an_address(
    addresses: dict[str, str], query: str, expected: set[str]
) -> None:
    assert set(queued(q=query)) == {addresses[name] for name in expected}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ab12ab12ab12", {"prompt"}),  # prompt template hash, part of it
        ("FFFFFFFFFFFF", {"payment"}),  # payment fingerprint, any case
        ("cot extraction", {"prompt"}),  # name
        ("egress range", {"range", "same_pattern"}),  # names of two labs' indicators
        ("6f1d8a2e-3c1b", {"range"}),  # part of an id
        ("no such thing", set()),
    ],
)
def test_it_finds_hashes_fingerprints_names_and_text(
    slice_ids: dict[str, str], query: str, expected: set[str]
) -> None:
    assert set(queued(q=query)) == {slice_ids[name] for name in expected}


def test_it_finds_one_object_by_its_whole_id(slice_ids: dict[str, str]) -> None:
    assert queued(q=slice_ids["sighting"]) == [slice_ids["sighting"]]
    assert queued(q=f"  {slice_ids['payment']} ") == [slice_ids["payment"]]


def test_it_combines_a_search_with_the_filters(addresses: dict[str, str]) -> None:
    assert queued(q="203.0.113.0/24", lab="lab-b") == [addresses["same_pattern"]]
    assert queued(q="range", tlp="green", lab="lab-a") == [addresses["range"]]


def test_it_reads_only_addresses_and_networks_as_such() -> None:
    assert str(as_network("203.0.113.7/24")) == "203.0.113.0/24"
    assert as_network("not an address") is None
    assert as_network("999.1.1.1") is None


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-confidence", ["payment", "prompt", "range", "same_pattern", "sighting"]),
        ("confidence", ["same_pattern", "range", "prompt", "payment", "sighting"]),
        ("-tlp", ["payment", "prompt", "sighting", "same_pattern", "range"]),
        ("lab", ["prompt", "range", "payment", "sighting", "same_pattern"]),
        ("signature", ["range", "prompt", "same_pattern", "payment", "sighting"]),
        ("-corroboration", ["same_pattern", "range", "payment", "sighting", "prompt"]),
        ("kind", ["same_pattern", "range", "sighting", "payment", "prompt"]),
        # Objects without a phase come last, in either direction.
        ("phase", ["same_pattern", "payment", "prompt", "sighting", "range"]),
        ("-phase", ["prompt", "payment", "same_pattern", "sighting", "range"]),
        ("received", ["range", "prompt", "same_pattern", "sighting", "payment"]),
        ("-received", ["payment", "sighting", "same_pattern", "prompt", "range"]),
    ],
)
def test_it_sorts_by_every_column_with_newest_first_on_ties(
    slice_ids: dict[str, str], sort: str, expected: list[str]
) -> None:
    assert queued(sort=sort) == [slice_ids[name] for name in expected]


def test_it_sorts_by_triage_state_and_signature_status(
    slice_ids: dict[str, str], analyst_client: object
) -> None:
    from django.contrib.auth.models import User

    from exchange.console.services.triage import object_review

    object_review(stix_id=slice_ids["prompt"], user=User.objects.get(username="ana"))
    assert queued(sort="state")[-1] == slice_ids["prompt"]  # "under-review" after "new"
    assert queued(sort="-state")[0] == slice_ids["prompt"]
    # Every slice object is signed by its lab: the sort falls back to newest first.
    assert queued(sort="-signed") == queued()


def test_it_sorts_only_by_the_whitelisted_keys() -> None:
    assert sort_key("-confidence") == ("confidence", True)
    assert sort_key("raw") == ("received", True)
    assert sort_key("-publisher__member__password") == ("received", True)
    assert set(SORT_KEYS) == {
        "signature",
        "lab",
        "kind",
        "tlp",
        "confidence",
        "phase",
        "signed",
        "corroboration",
        "state",
        "received",
    }


TRICKY_PATTERNS = [
    "[payment-instrument:fingerprint = 'ab'] AND [ipv4-addr:value = '192.0.2.1']",
    "[x-farm-url:value = 'https://farm.example/']",
    "[file:name = 'a.exe' OR url:value = 'https://farm.example/']",
    "[file:name = 'ipv4-addr:value']",
    "[prompt-pattern:simhash64 = 'ab'] FOLLOWEDBY [email-addr:value = 'a@example.org']",
]


def test_the_database_reads_kinds_as_the_rows_show_them(lab_a: Member) -> None:
    """The kind filter, sort and dashboard counts (in SQL) and the row's label (in Python)
    apply one rule, on SQLite and PostgreSQL alike."""
    from exchange.console.readable import KIND_TYPES, kind_of
    from exchange.console.search import kind_expression, kind_q
    from exchange.console.selectors import visible_objects

    for pattern in TRICKY_PATTERNS:
        publish(
            lab_a,
            stix_samples.ip_range_indicator(
                lab_a.identity_id, id=f"indicator--{uuid.uuid4()}", pattern=pattern
            ),
        )
    pool = visible_objects(forum_member()).filter(type="indicator")
    shown = {obj.stix_id: kind_of(obj.data) for obj in pool}
    assert {shown[obj.stix_id] for obj in pool if obj.data["pattern"] in TRICKY_PATTERNS} == {
        "network",
        "other",
        "prompt",
    }
    assert dict(pool.annotate(kind=kind_expression()).values_list("stix_id", "kind")) == shown
    for kind in [*KIND_TYPES, "other"]:
        assert set(pool.filter(kind_q(kind)).values_list("stix_id", flat=True)) == {
            stix_id for stix_id, shown_kind in shown.items() if shown_kind == kind
        }
