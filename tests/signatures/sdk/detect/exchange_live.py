"""A live exchange for the detector's feed tests: the test server on 127.0.0.1, members'
indicators published through the real publish path, and a bounded wait."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from members.models import Member
from signatures.sdk import indicators
from signatures.services import objects_publish
from tests.exchange.fanout.conftest import wait_until

__all__ = ["ip_indicator", "live", "publish", "wait_until"]


@pytest.fixture
def live(live_server: LiveServer, settings: Any) -> str:
    # TAXII discovery advertises API roots under SITE_URL; here that is the test server.
    settings.SITE_URL = live_server.url
    return str(live_server.url)


def ip_indicator(creator: Member, cidr: str, **options: Any) -> dict[str, Any]:
    """An indicator on a source range, signed by the exchange with ``creator``'s custodial key."""
    return indicators.indicator(
        indicators.ip_pattern(cidr),
        created_by_ref=creator.identity_id,
        name=f"egress range {cidr}",
        phases=["access-provisioning"],
        confidence=options.pop("confidence", 80),
        tlp=options.pop("tlp", "green"),
        id=options.pop("id", f"indicator--{uuid.uuid4()}"),
        **options,
    )


def publish(member: Member, *objects: dict[str, Any]) -> None:
    report = objects_publish(member=member, objects=list(objects))
    refused = [o.reason for o in report.outcomes if o.status == "refused"]
    assert not refused, refused
