"""SightingReporter: matches become one growing sighting per indicator and window, published
through the publish API of a live exchange."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from members.models import Member
from signatures.models import StixObject
from signatures.sdk import jss
from signatures.sdk.constants import TLP2_AMBER
from signatures.sdk.detect.engine import Match
from signatures.sdk.detect.sightings import SightingReporter, exchange_publisher
from tests.factories import token_for
from tests.signatures.sdk.detect.exchange_live import ip_indicator, live, publish

__all__ = ["live"]

HOUR_US = 3_600_000_000
#: 2026-11-18T09:00:00Z, the start of a window.
T0 = 1_794_992_400_000_000


def match(indicator_id: str, time_us: int, tlp: str = "green") -> Match:
    return Match(
        indicator_id=indicator_id,
        publisher="identity--a11ce000-0000-4000-8000-000000000001",
        tlp=tlp,
        account_id="acct-0001",
        event_ids=(f"evt-{time_us}",),
        confidence=80,
        time_us=time_us,
    )


def offline(identity: str, **options: Any) -> SightingReporter:
    """A reporter whose publish accepts everything without a network."""

    def publish(objects: Any) -> Any:
        return [{"id": obj["id"], "status": "accepted"} for obj in objects]

    return SightingReporter(identity=identity, publish=publish, **options)


LAB = "identity--b0b00000-0000-4000-8000-000000000002"


def test_it_never_reports_a_match_on_a_tlp_red_indicator() -> None:
    reporter = offline(LAB)
    assert reporter.add(match("indicator--1", T0, tlp="red")) is False
    assert reporter.pending() == [] and reporter.flush() == 0


def test_it_marks_a_sighting_no_less_restrictive_than_its_indicator() -> None:
    reporter = offline(LAB, tlp="green")
    reporter.add(match("indicator--1", T0, tlp="amber"))
    [sighting] = reporter.pending()
    assert sighting["object_marking_refs"] == [TLP2_AMBER]


def test_it_counts_per_indicator_and_window() -> None:
    reporter = offline(LAB)
    for offset in (0, 5, HOUR_US - 1):
        reporter.add(match("indicator--1", T0 + offset))
    reporter.add(match("indicator--1", T0 + HOUR_US))  # the next window
    reporter.add(match("indicator--2", T0))

    pending = {(s["sighting_of_ref"], s["first_seen"]): s for s in reporter.pending()}

    assert len(pending) == 3
    first = pending[("indicator--1", "2026-11-18T09:00:00.000Z")]
    assert first["count"] == 3 and first["last_seen"] == "2026-11-18T09:59:59.999Z"
    assert first["where_sighted_refs"] == [LAB] and first["created_by_ref"] == LAB


def test_it_signs_with_the_labs_key_when_given_one() -> None:
    key = Ed25519PrivateKey.generate()
    reporter = offline(LAB, signer=jss.Signer(key, signee=LAB))
    reporter.add(match("indicator--1", T0))
    [sighting] = reporter.pending()
    report = jss.Verifier(jss.public_jwk(key.public_key(), signee=LAB)).verify(sighting)
    assert report.valid, report.reason


def test_it_refuses_a_tlp_red_sighting_level() -> None:
    with pytest.raises(ValueError, match="TLP"):
        offline(LAB, tlp="red")


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_publishes_a_new_version_of_the_same_sighting_as_the_count_grows(
    live: str, lab_a: Member, lab_b: Member, client_for: Any
) -> None:
    indicator = ip_indicator(lab_a, "198.51.100.0/24")
    publish(lab_a, indicator)
    log = io.StringIO()
    reporter = SightingReporter(
        identity=lab_b.identity_id,
        publish=exchange_publisher(live, token_for(lab_b, "read", "publish")),
        log=log,
    )
    for n in range(3):
        reporter.add(match(indicator["id"], T0 + n))
    assert reporter.flush() == 1
    assert reporter.flush() == 0  # nothing grew: nothing sent
    for n in range(3, 5):
        reporter.add(match(indicator["id"], T0 + n))
    assert reporter.flush() == 1

    versions = StixObject.objects.filter(type="sighting").order_by("version")
    assert versions.count() == 2 and len({v.stix_id for v in versions}) == 1
    assert [v.data["count"] for v in versions] == [3, 5]
    assert versions[0].data["created"] == versions[1].data["created"]
    assert versions[0].version < versions[1].version
    assert log.getvalue() == ""

    corroboration = client_for(lab_a).get(f"/api/v1/objects/{indicator['id']}/corroboration/")
    assert corroboration.json()["labs"] == [lab_b.identity_id]
    assert corroboration.json()["count"] == 5


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_logs_a_refused_sighting_and_does_not_resend_it(live: str, lab_b: Member) -> None:
    log = io.StringIO()
    # The token's member is not the identity the sightings claim: the exchange refuses them.
    reporter = SightingReporter(
        identity="identity--b0b00000-0000-4000-8000-00000000ffff",
        publish=exchange_publisher(live, token_for(lab_b, "read", "publish")),
        log=log,
    )
    reporter.add(match("indicator--0c7d7a55-2f5e-4b4c-8d4e-0b1a2c3d4e5f", T0))

    assert reporter.flush() == 0
    assert "sighting refused" in log.getvalue()
    assert reporter.pending() == []
    assert not StixObject.objects.filter(type="sighting").exists()
