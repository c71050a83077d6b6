"""Valid STIX objects with one property replaced by any JSON value, published next to a valid
one: never a 5xx, the valid object is stored, the mutated one is stored or refused with a
reason, and the database holds exactly what the answer says was accepted.

Bodies are sent as raw bytes, so JSON that Python would never write reaches the server:
lone surrogate escapes (``"\\ud800"``), ``1e400``, integers past 2**64, deep nesting.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from exchange.taxii.media import TAXII_MEDIA_TYPE
from members.models import Member
from signatures.models import Collection, CollectionEntry, StixObject
from tests import stix_samples as samples
from tests.conftest import LAB_A_ID
from tests.exchange.taxii.conftest import Taxii, collection_url, indicator
from tests.property.conftest import ANY_CHAR, BOUNDED, assert_answered

INDICATOR_ID = samples.ip_range_indicator(LAB_A_ID)["id"]
PATTERN_ID = samples.attack_pattern(LAB_A_ID)["id"]
SAMPLES = [
    samples.ip_range_indicator(LAB_A_ID),
    samples.attack_pattern(LAB_A_ID),
    samples.relationship(LAB_A_ID, INDICATOR_ID, PATTERN_ID),
    samples.sighting(LAB_A_ID, INDICATOR_ID),
    samples.ipv4_range(),
]
#: Properties worth setting even where a sample lacks them.
EXTRA_PROPERTIES = [
    "extensions",
    "granular_markings",
    "external_references",
    "object_marking_refs",
    "kill_chain_phases",
    "labels",
    "lang",
    "confidence",
    "revoked",
    "x_probe",
]
#: JSON texts no Python value serializes to, and values at the edges of I-JSON and STIX.
RAW_VALUES = [
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1.0",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "1e400",
    "-1e400",
    "1E+400",
    "4.9e-325",
    '"\\u0000"',
    '"x\\u0000y"',
    '"\\ud800"',
    '"\\udc00\\ud800"',
    '["\\udfff"]',
    '{"\\ud800": 1}',
    '""',
    "[]",
    "{}",
    "[[[[[]]]]]",
    json.dumps("A" * 100_000),
    '{"extension-definition--00000000-0000-4000-8000-000000000000": 5}',
    '{"extension-definition--00000000-0000-4000-8000-000000000000": {"extension_type": 5}}',
    '{"x-probe-ext": "not an extension"}',
    '[{"source_name": 5}]',
    '[{"selector": 5, "marking_ref": null}]',
    '["marking-definition--00000000-0000-4000-8000-000000000000"]',
]
SENTINEL = "\u0001mutation\u0001"

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(ANY_CHAR, max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
RAW = st.one_of(
    st.sampled_from(RAW_VALUES),
    # ensure_ascii writes a lone surrogate as its escape, which is what a hostile client sends.
    JSON_VALUES.map(json.dumps),
    st.integers(1, 400).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1, 400).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
)


def ored(terms: int) -> str:
    return " OR ".join(f"[ipv4-addr:value = '198.51.100.{n % 250}']" for n in range(terms))


def nested(depth: int) -> str:
    return "(" * depth + "[ipv4-addr:value = '198.51.100.1']" + ")" * depth


PATTERNS = st.one_of(
    st.sampled_from([2, 50, 1000, 5000]).map(ored),
    st.sampled_from([1, 50, 200, 1000]).map(nested),
    st.sampled_from([10, 500]).map(lambda n: nested(n)[: n + 10] + " OR " + ored(n)),
)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A sample with one property's value left to the raw JSON text beside it."""
    obj = dict(draw(st.sampled_from(SAMPLES)))
    prop = draw(st.sampled_from(sorted(obj.keys() | set(EXTRA_PROPERTIES))))
    obj[prop] = SENTINEL
    return obj, draw(RAW)


def fresh(obj: dict[str, Any]) -> dict[str, Any]:
    """The object under a new id, so each example publishes new versions (SCO ids are kept:
    they derive from the value)."""
    if obj["type"] == "ipv4-addr" or obj.get("id") == SENTINEL:
        return obj
    return dict(obj, id=f"{obj['type']}--{uuid.uuid4()}")


def companion() -> dict[str, Any]:
    return indicator(LAB_A_ID, 7, id=f"indicator--{uuid.uuid4()}")


def raw_body(container: Any, raw: str) -> bytes:
    return json.dumps(container).replace(json.dumps(SENTINEL), raw, 1).encode()


def counts() -> tuple[int, int]:
    return StixObject.objects.count(), CollectionEntry.objects.count()


def publish_rest(client: APIClient, mutated: dict[str, Any], raw: str) -> None:
    valid = companion()
    before = counts()
    body = raw_body([valid, fresh(mutated)], raw)
    response = client.generic("POST", "/api/v1/objects/", body, content_type="application/json")
    assert_answered(response, "application/json")
    assert response.status_code in {200, 207}, response.content[:500]
    report = json.loads(response.content)
    first, second = report["results"]
    assert first["status"] == "accepted" and first["id"] == valid["id"], first
    assert second["status"] in {"accepted", "present", "refused"}, second
    if second["status"] == "refused":
        assert second["reason"], second
    added = report["accepted"]
    assert counts() == (before[0] + added, before[1] + added), report


def publish_taxii(taxii: Taxii, shared: Collection, mutated: dict[str, Any], raw: str) -> None:
    valid = companion()
    before = counts()
    body = raw_body({"objects": [valid, fresh(mutated)]}, raw)
    response = taxii.post(collection_url(shared, "objects/"), body)
    assert_answered(response, TAXII_MEDIA_TYPE)
    assert response.status_code == 202, response.content[:500]
    status = json.loads(response.content)
    successes = status.get("successes", [])
    failures = status.get("failures", [])
    assert valid["id"] in [item["id"] for item in successes], status
    assert status["total_count"] == 2 and len(successes) + len(failures) == 2, status
    assert all(item.get("message") for item in failures), status
    new = [item for item in successes if not item.get("message")]
    stored_objects, entries = counts()
    assert entries == before[1] + len(new), status
    assert before[0] + 1 <= stored_objects <= before[0] + len(new), status


def test_it_stores_the_valid_object_beside_any_mutation_over_rest(
    lab_a: Member, client_for: Callable[..., APIClient]
) -> None:
    client = client_for(lab_a, "read", "publish")

    @BOUNDED
    @given(mutation=mutations())
    def publish(mutation: tuple[dict[str, Any], str]) -> None:
        publish_rest(client, *mutation)

    publish()


def test_it_stores_the_valid_object_beside_any_mutation_over_taxii(
    lab_a: Member, taxii_for: Callable[..., Taxii], shared: Collection
) -> None:
    taxii = taxii_for(lab_a, "read", "publish")

    @BOUNDED
    @given(mutation=mutations())
    def publish(mutation: tuple[dict[str, Any], str]) -> None:
        publish_taxii(taxii, shared, *mutation)

    publish()


def test_it_refuses_pathological_patterns_without_blocking_the_envelope(
    lab_a: Member,
    client_for: Callable[..., APIClient],
    taxii_for: Callable[..., Taxii],
    shared: Collection,
) -> None:
    client = client_for(lab_a, "read", "publish")
    taxii = taxii_for(lab_a, "read", "publish")

    @BOUNDED
    @given(pattern=PATTERNS)
    def publish(pattern: str) -> None:
        mutated = dict(SAMPLES[0], pattern=SENTINEL)
        publish_rest(client, mutated, json.dumps(pattern))
        publish_taxii(taxii, shared, mutated, json.dumps(pattern))

    publish()
