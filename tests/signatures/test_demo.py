"""signatures/demo.py, run by seed_demo: a realistic campaign across three labs, served per
TLP. The command itself is in management/commands/test_seed_demo.py."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from signatures.models import StixObject
from signatures.sdk.profile import load_profile
from signatures.stix_types import StixKind, kind_of


def seed() -> dict[str, str]:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()[1:]
    return {line.split()[0]: line.split()[-1] for line in lines}


def visible_ids(token: str) -> set[str]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    ids: set[str] = set()
    url = "/api/v1/objects/?limit=1000"
    while url:
        body = client.get(url).json()
        ids |= {obj["id"] for obj in body["objects"]}
        url = f"/api/v1/objects/?limit=1000&next={body['next']}" if body["more"] else ""
    return ids


@pytest.mark.django_db
def test_the_campaign_is_served_according_to_tlp() -> None:
    tokens = seed()
    red = StixObject.objects.get(tlp="red").stix_id
    strict = set(StixObject.objects.filter(tlp="amber+strict").values_list("stix_id", flat=True))
    assert strict
    partner = visible_ids(tokens["sentinel-detect"])
    aurora = visible_ids(tokens["lab-aurora"])
    borealis = visible_ids(tokens["lab-borealis"])
    cirrus = visible_ids(tokens["lab-cirrus"])
    assert red in aurora and red in cirrus  # named recipient, and the publisher
    assert red not in borealis and red not in partner
    assert strict <= borealis
    assert not strict & partner and not strict & aurora


@pytest.mark.django_db
def test_demo_sdo_and_sro_ids_are_uuid4_and_sco_ids_uuid5() -> None:
    seed()
    for stix_id, kind in StixObject.objects.values_list("stix_id", "type"):
        version = uuid.UUID(stix_id.split("--")[1]).version
        if kind_of(kind) in {StixKind.SDO, StixKind.SRO}:
            assert version == 4, stix_id  # STIX 2.1 section 2.9
        elif kind_of(kind) is StixKind.SCO or kind in load_profile().types:
            assert version == 5, stix_id  # deterministic from id-contributing properties
