"""FeedSync against a live exchange: TAXII polling, signatures, revocation, expiry, TLP and
webhook push from a real Celery worker."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings

from members.models import Member
from signatures.models import StixObject
from signatures.sdk import indicators, webhook_signing
from signatures.sdk.constants import DISTRIBUTION_EXTENSION_ID
from signatures.sdk.detect.engine import Detector
from signatures.sdk.detect.events import TelemetryEvent
from signatures.sdk.detect.feed import FeedSync, WebhookReceiver
from tests.exchange.fanout.conftest import Worker
from tests.factories import token_for
from tests.signatures.sdk.detect.exchange_live import ip_indicator, live, publish, wait_until

__all__ = ["live"]

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def event(source_ip: str, n: int = 1) -> TelemetryEvent:
    return TelemetryEvent(
        event_id=f"evt-{n}",
        time_us=1_795_000_000_000_000 + n,
        account_id="acct-1",
        source_ip=source_ip,
    )


@pytest.fixture
def feed(live: str, lab_b: Member) -> Iterator[FeedSync]:
    sync = FeedSync(Detector(), live, token_for(lab_b, "read"))
    yield sync
    sync.stop()


def test_it_loads_what_the_token_reads_and_matches_with_it(
    feed: FeedSync, lab_a: Member, lab_b: Member
) -> None:
    indicator = ip_indicator(lab_a, "198.51.100.0/24")
    publish(lab_a, indicator)

    applied = feed.sync()

    assert [(a.indicator_id, a.action) for a in applied] == [(indicator["id"], "loaded")]
    [match] = feed.observe(event("198.51.100.9"))
    assert match.indicator_id == indicator["id"]
    assert match.publisher == lab_a.identity_id and match.tlp == "green"
    assert feed.observe(event("192.0.2.1", 2)) == []


def test_it_reads_only_what_was_added_since_the_last_poll(feed: FeedSync, lab_a: Member) -> None:
    publish(lab_a, ip_indicator(lab_a, "198.51.100.0/24"))
    feed.sync()
    later = ip_indicator(lab_a, "203.0.113.0/24")
    publish(lab_a, later)

    assert [a.indicator_id for a in feed.sync()] == [later["id"]]
    assert feed.sync() == []
    assert feed.loaded == 2


def test_it_drops_a_revoked_indicator_and_never_brings_it_back(
    feed: FeedSync, lab_a: Member
) -> None:
    indicator = ip_indicator(lab_a, "198.51.100.0/24", created="2026-11-20T09:00:00.000Z")
    publish(lab_a, indicator)
    feed.sync()
    revoked = {**indicator, "modified": "2026-11-21T09:00:00.000Z", "revoked": True}
    publish(lab_a, revoked)

    assert [(a.action, a.reason) for a in feed.sync()] == [("dropped", "revoked by its publisher")]
    assert feed.observe(event("198.51.100.9")) == []
    # The older version arriving late (a replayed push) does not resurrect it.
    served = StixObject.objects.get(stix_id=indicator["id"], revoked=False).data
    assert feed.apply([served]) == []
    assert feed.loaded == 0


def test_it_drops_indicators_past_valid_until(feed: FeedSync, lab_a: Member) -> None:
    expired = ip_indicator(
        lab_a, "198.51.100.0/24", valid_from="2026-01-01T00:00:00.000Z",
        valid_until="2026-02-01T00:00:00.000Z",
    )  # fmt: skip
    publish(lab_a, expired)

    [applied] = feed.sync()

    assert applied.action == "dropped" and "valid_until" in applied.reason
    assert feed.observe(event("198.51.100.9")) == []


def test_it_drops_a_loaded_indicator_once_its_valid_until_passes(
    feed: FeedSync, lab_a: Member
) -> None:
    soon = indicators.timestamp(datetime.now(UTC) + timedelta(seconds=2))
    publish(lab_a, ip_indicator(lab_a, "198.51.100.0/24", valid_until=soon))
    feed.sync()
    assert feed.loaded == 1

    wait_until(lambda: bool(feed.expire()), "the indicator to expire", deadline=30)

    assert feed.loaded == 0 and feed.observe(event("198.51.100.9")) == []


def test_it_skips_an_indicator_whose_signature_does_not_verify(
    feed: FeedSync, lab_a: Member
) -> None:
    publish(lab_a, ip_indicator(lab_a, "198.51.100.0/24"))
    served = StixObject.objects.get(type="indicator").data
    tampered = copy.deepcopy(served)
    tampered["pattern"] = "[ipv4-addr:value ISSUBSET '0.0.0.0/0']"
    tampered["id"] = tampered["id"][:-4] + "0000"
    unsigned = {key: value for key, value in tampered.items() if key != "extensions"}

    applied = feed.apply([tampered, unsigned])

    assert [a.action for a in applied] == ["skipped", "skipped"]
    assert "changed after signing" in applied[0].reason
    assert "signature: no signatures" in applied[1].reason
    assert feed.loaded == 0 and feed.observe(event("192.0.2.1")) == []


def test_it_matches_tlp_red_indicators_named_for_it_and_marks_them_red(
    feed: FeedSync, lab_a: Member, lab_b: Member
) -> None:
    named = ip_indicator(lab_a, "192.0.2.64/26", tlp="red")
    named["extensions"] = {
        DISTRIBUTION_EXTENSION_ID: {
            "extension_type": "property-extension",
            "recipients": [lab_b.identity_id],
        }
    }
    withheld = ip_indicator(lab_a, "192.0.2.128/26", tlp="red")
    publish(lab_a, named, withheld)

    assert [a.indicator_id for a in feed.sync()] == [named["id"]]
    [match] = feed.observe(event("192.0.2.70"))
    assert match.tlp == "red"


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    started = Worker(tmp_path, settings.CELERY_BROKER_URL, {})
    started.start()
    yield started
    started.stop()


def test_it_applies_pushed_indicators_without_polling(
    feed: FeedSync, worker: Worker, lab_a: Member
) -> None:
    receiver = WebhookReceiver(feed)
    receiver.start()
    subscription = feed.subscribe(receiver)
    try:
        feed.sync()
        pushed = ip_indicator(lab_a, "203.0.113.0/24")
        publish(lab_a, pushed)

        wait_until(lambda: bool(feed.observe(event("203.0.113.5"))), "the pushed indicator")

        # A push that is not signed with the subscription's secret changes nothing.
        forged = ip_indicator(lab_a, "0.0.0.0/0")
        body = json.dumps({"type": "bundle", "objects": [forged]}).encode()
        header = webhook_signing.signature_header("whsec_wrong", body)
        answer = requests.post(
            receiver.url, data=body, headers={webhook_signing.SIGNATURE_HEADER: header}, timeout=10
        )
        assert answer.status_code == 401
        assert feed.observe(event("192.0.2.1")) == []
    finally:
        feed.unsubscribe(subscription)
        receiver.stop()
