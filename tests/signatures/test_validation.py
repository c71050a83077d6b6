"""object_prepare on its own: pure, table-driven checks of one object at a time."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import orjson
import pytest
import stix2

from signatures.sdk.constants import (
    SIGNING_EXTENSION_ID,
    TLP2_CLEAR,
    TLP2_EXTENSION_ID,
    TLP2_GREEN,
)
from signatures.sdk.profile import MAX_PATTERN_LENGTH, MAX_PATTERN_NESTING, MAX_PATTERN_TERMS
from signatures.stix_types import META_TYPES, SCO_TYPES, SDO_TYPES, SRO_TYPES
from signatures.validation import (
    MAX_SAFE_INTEGER,
    ObjectRefused,
    PublishContext,
    object_prepare,
)

LAB = "identity--a11ce000-0000-4000-8000-000000000001"
OTHER_MEMBER = "identity--b0b00000-0000-4000-8000-000000000002"
OUTSIDER = "identity--0a7e1de0-0000-4000-8000-000000000009"
CUSTOM_SDO_EXTENSION = "extension-definition--1d0a5e2c-7a3b-4c9e-8f10-2b3c4d5e6f70"
CUSTOM_SCO_EXTENSION = "extension-definition--2e1b6f3d-8b4c-4daf-9021-3c4d5e6f7081"
T = "2026-11-20T09:30:00.123Z"
CONTEXT = PublishContext(
    publisher_identity=LAB,
    extension_definitions={
        CUSTOM_SDO_EXTENSION: {"new-sdo"},
        CUSTOM_SCO_EXTENSION: {"new-sco"},
    },
    member_identities=frozenset({LAB, OTHER_MEMBER}),
)
REF = "indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01"


def _id(object_type: str, n: int) -> str:
    return f"{object_type}--00000000-0000-4000-8000-{n:012d}"


def _sdo(object_type: str, n: int, **props: Any) -> dict[str, Any]:
    return {
        "type": object_type,
        "spec_version": "2.1",
        "id": _id(object_type, n),
        "created": T,
        "modified": T,
        "created_by_ref": LAB,
        **props,
    }


def _sco(object_type: str, n: int, **props: Any) -> dict[str, Any]:
    return {"type": object_type, "spec_version": "2.1", "id": _id(object_type, n), **props}


#: One valid object of every STIX 2.1 type, and of a custom SDO and SCO (section 7.3).
VALID: dict[str, dict[str, Any]] = {
    "attack-pattern": _sdo("attack-pattern", 1, name="Extraction", aliases=["cot"]),
    "campaign": _sdo("campaign", 2, name="Harvest", first_seen=T),
    "course-of-action": _sdo("course-of-action", 3, name="Rate-limit"),
    "grouping": _sdo("grouping", 4, context="suspicious-activity", object_refs=[REF]),
    "identity": _sdo("identity", 5, name="Someone", identity_class="organization"),
    "incident": _sdo("incident", 6, name="Incident"),
    "indicator": _sdo(
        "indicator",
        7,
        name="Egress range",
        description="Account-farm egress",
        indicator_types=["malicious-activity"],
        pattern="[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
        pattern_type="stix",
        pattern_version="2.1",
        valid_from="2026-11-20T00:00:00Z",
        kill_chain_phases=[{"kill_chain_name": "ai-isac", "phase_name": "bulk-extraction"}],
        revoked=False,
        labels=["distillation"],
        confidence=80,
        lang="en",
        external_references=[{"source_name": "case", "url": "https://example.org/1"}],
        object_marking_refs=[TLP2_GREEN],
        granular_markings=[{"marking_ref": TLP2_CLEAR, "selectors": ["description"]}],
        extensions={
            "extension-definition--a932fcc6-e032-476c-826f-cb970a5a1ade": {
                "extension_type": "property-extension",
                "score": 87,
            }
        },
    ),
    "infrastructure": _sdo("infrastructure", 8, name="Proxy pool"),
    "intrusion-set": _sdo("intrusion-set", 9, name="Set"),
    "location": _sdo("location", 10, latitude=48.8566, longitude=2.3522),
    "malware": _sdo("malware", 11, name="Scraper", is_family=True),
    "malware-analysis": _sdo("malware-analysis", 12, product="sandbox", result="malicious"),
    "note": _sdo("note", 13, content="Seen twice", object_refs=[REF]),
    "observed-data": _sdo(
        "observed-data",
        14,
        first_observed=T,
        last_observed=T,
        number_observed=3,
        object_refs=[_id("ipv4-addr", 1)],
    ),
    "opinion": _sdo("opinion", 15, opinion="agree", object_refs=[REF]),
    "report": _sdo("report", 16, name="Weekly", published=T, object_refs=[REF]),
    "threat-actor": _sdo("threat-actor", 17, name="Actor"),
    "tool": _sdo("tool", 18, name="Harness"),
    "vulnerability": _sdo("vulnerability", 19, name="CVE-2026-0001"),
    "relationship": _sdo(
        "relationship", 20, relationship_type="indicates", source_ref=REF, target_ref=REF
    ),
    "sighting": _sdo(
        "sighting", 21, sighting_of_ref=REF, count=412, summary=False, where_sighted_refs=[LAB]
    ),
    "artifact": _sco("artifact", 22, mime_type="text/plain", payload_bin="aGVsbG8="),
    "autonomous-system": _sco("autonomous-system", 23, number=64496, name="AS-EXAMPLE"),
    "directory": _sco("directory", 24, path="/tmp"),
    "domain-name": _sco("domain-name", 25, value="example.org"),
    "email-addr": _sco("email-addr", 26, value="a@example.org"),
    "email-message": _sco("email-message", 27, is_multipart=False, subject="Hi", body="Hello"),
    "file": _sco("file", 28, name="a.txt", size=5, hashes={"SHA-256": "ab" * 32}),
    "ipv4-addr": _sco("ipv4-addr", 29, value="203.0.113.0/24"),
    "ipv6-addr": _sco("ipv6-addr", 30, value="2001:db8::/32"),
    "mac-addr": _sco("mac-addr", 31, value="00:00:5e:00:53:00"),
    "mutex": _sco("mutex", 32, name="Global\\lock"),
    "network-traffic": _sco(
        "network-traffic", 33, protocols=["tcp"], src_ref=_id("ipv4-addr", 29), src_port=443
    ),
    "process": _sco("process", 34, pid=4242, command_line="run"),
    "software": _sco("software", 35, name="Client", vendor="Example"),
    "url": _sco("url", 36, value="https://example.org/x"),
    "user-account": _sco("user-account", 37, user_id="1001", is_service_account=False),
    "windows-registry-key": _sco("windows-registry-key", 38, key="HKEY_LOCAL_MACHINE\\System"),
    "x509-certificate": _sco("x509-certificate", 39, serial_number="01", version="3"),
    "marking-definition": {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": _id("marking-definition", 40),
        "created": T,
        "name": "Statement",
        "definition_type": "statement",
        "definition": {"statement": "Copyright Example"},
    },
    "language-content": {
        "type": "language-content",
        "spec_version": "2.1",
        "id": _id("language-content", 41),
        "created": T,
        "modified": T,
        "object_ref": REF,
        "object_modified": T,
        "contents": {"de": {"name": "Bereich"}},
    },
    "extension-definition": _sdo(
        "extension-definition",
        42,
        name="Extension",
        schema="https://example.org/schema.json",
        version="1.0",
        extension_types=["property-extension"],
    ),
    "x-lab-case": _sdo(
        "x-lab-case",
        43,
        name="Case",
        labels=["case"],
        confidence=50,
        external_references=[{"source_name": "case"}],
        object_marking_refs=[TLP2_GREEN],
        extensions={CUSTOM_SDO_EXTENSION: {"extension_type": "new-sdo"}},
    ),
    "x-lab-observable": _sco(
        "x-lab-observable",
        44,
        reading="x",
        defanged=False,
        extensions={CUSTOM_SCO_EXTENSION: {"extension_type": "new-sco"}},
    ),
}

#: A value of each JSON type, substituted for each property in turn.
JSON_SAMPLES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "integer": 5,
    "float": 1.5,
    "string": "x",
    "list": ["x"],
    "dict": {"x": "y"},
}


# bool before int: True is an int in Python, not in JSON.
_KINDS: list[tuple[str, type]] = [
    ("null", type(None)),
    ("boolean", bool),
    ("integer", int),
    ("float", float),
    ("string", str),
    ("list", list),
    ("dict", dict),
]


def json_kind(value: Any) -> str:
    return next(kind for kind, kind_type in _KINDS if isinstance(value, kind_type))


def prepare(obj: Any, context: PublishContext = CONTEXT, **kwargs: Any) -> Any:
    return object_prepare(obj, context=context, max_depth=32, **kwargs)


def refusal(obj: Any, context: PublishContext = CONTEXT, **kwargs: Any) -> str:
    with pytest.raises(ObjectRefused) as caught:
        prepare(obj, context, **kwargs)
    return str(caught.value)


def test_the_table_covers_every_stix_type() -> None:
    assert VALID.keys() >= SDO_TYPES | SRO_TYPES | SCO_TYPES | META_TYPES


@pytest.mark.parametrize("object_type", sorted(VALID))
def test_it_accepts_each_valid_object_and_returns_it_unchanged(object_type: str) -> None:
    obj = copy.deepcopy(VALID[object_type])
    prepared = prepare(obj)
    assert prepared.data is obj
    assert obj == VALID[object_type]


#: Properties a custom type's extension-definition defines, not STIX: the exchange cannot
#: know their type.
OWN_PROPERTIES = {("x-lab-observable", "reading")}
SUBSTITUTIONS = [
    (object_type, prop, kind)
    for object_type, obj in sorted(VALID.items())
    for prop in obj
    for kind in JSON_SAMPLES
    if kind != json_kind(obj[prop]) and (object_type, prop) not in OWN_PROPERTIES
]


@pytest.mark.parametrize(("object_type", "prop", "kind"), SUBSTITUTIONS)
def test_it_refuses_each_property_of_each_type_given_another_json_type(
    object_type: str, prop: str, kind: str
) -> None:
    obj = dict(VALID[object_type], **{prop: JSON_SAMPLES[kind]})
    if json_kind(VALID[object_type][prop]) == "float" and kind == "integer":
        prepare(obj)  # an integer is a JSON number
        return
    assert f"property '{prop}'" in refusal(obj)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": 5}, "property 'name' must be a string"),
        ({"name": ["x"]}, "property 'name' must be a string"),
        ({"labels": "x"}, "property 'labels' must be a list of strings"),
        ({"labels": [5]}, "property 'labels[0]' must be a string"),
        ({"pattern_type": 5}, "property 'pattern_type' must be a string"),
        ({"indicator_types": {}}, "property 'indicator_types' must be a list of strings"),
        ({"valid_from": None}, "property 'valid_from' must be a timestamp string"),
        ({"object_marking_refs": None}, "property 'object_marking_refs' must be a list"),
        ({"object_marking_refs": ["x"]}, "property 'object_marking_refs[0]' must be an id"),
        ({"confidence": True}, "property 'confidence' must be an integer"),
        ({"confidence": 80.0}, "property 'confidence' must be an integer"),
        ({"revoked": 0}, "property 'revoked' must be true or false"),
        (
            {"external_references": [{"source_name": 5}]},
            "property 'external_references[0].source_name' must be a string",
        ),
        ({"external_references": ["x"]}, "must be an external-reference object"),
        (
            {"kill_chain_phases": [{"kill_chain_name": "k", "phase_name": []}]},
            "property 'kill_chain_phases[0].phase_name' must be a string",
        ),
        ({"extensions": []}, "property 'extensions' must be a dictionary of extension objects"),
        ({"extensions": "x"}, "property 'extensions' must be a dictionary"),
        ({"extensions": {"x": "y"}}, "property 'extensions.x' must be a JSON object"),
        ({"valid_from": "2026-11-20T00:00:00Z\n"}, "property 'valid_from' is not a STIX"),
        ({"created": "٢٠٢٦-11-20T09:30:00.123Z"}, "property 'created' is not a STIX timestamp"),
        ({"modified": "2026-11-20T09:30:00.123Z\n"}, "property 'modified' is not a STIX"),
    ],
)
def test_it_refuses_a_wrongly_typed_value_naming_the_property(
    change: dict[str, Any], message: str
) -> None:
    reason = refusal(dict(VALID["indicator"], **change))
    assert reason.startswith(VALID["indicator"]["id"])
    assert message.removesuffix(" an id") in reason


@pytest.mark.parametrize(
    ("object_type", "change", "message"),
    [
        ("x-lab-case", {"name": {"a": 1}}, "property 'name' must be a string"),
        ("x-lab-case", {"object_marking_refs": "not-a-list"}, "'object_marking_refs' must be"),
        ("x-lab-case", {"external_references": 5}, "'external_references' must be a list"),
        ("x-lab-case", {"created_by_ref": OTHER_MEMBER}, "members may only publish their own"),
        ("x-lab-case", {"revoked": "yes"}, "property 'revoked' must be true or false"),
        ("x-lab-observable", {"defanged": "no"}, "property 'defanged' must be true or false"),
        ("x-lab-observable", {"created_by_ref": LAB}, "SCOs"),
        ("file", {"hashes": {"SHA-256": 5}}, "property 'hashes.SHA-256' must be a string"),
        (
            "file",
            {"extensions": {"ntfs-ext": {"sid": 5}}},
            "property 'extensions.ntfs-ext.sid' must be a string",
        ),
        ("marking-definition", {"definition": {"statement": 5}}, "'definition.statement'"),
    ],
)
def test_it_holds_custom_and_nested_values_to_their_types(
    object_type: str, change: dict[str, Any], message: str
) -> None:
    assert message in refusal(dict(VALID[object_type], **change))


@pytest.mark.parametrize("missing", ["created_by_ref", "created", "modified"])
def test_it_requires_the_sdo_properties_of_a_custom_sdo(missing: str) -> None:
    obj = dict(VALID["x-lab-case"])
    del obj[missing]
    assert f"property '{missing}' is required" in refusal(obj)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (2**53, "x_big"),
        (-(2**64), "x_big"),
        (float("inf"), "x_big"),
        (float("nan"), "x_big"),
        ("a\x00b", "x_big"),
        ("a\ud800b", "x_big"),
        ({"deep": ["ok", "\udfff"]}, "x_big.deep[1]"),
    ],
)
def test_it_refuses_values_outside_i_json_naming_the_path(value: Any, path: str) -> None:
    assert f"property '{path}'" in refusal(dict(VALID["indicator"], x_big=value))


def test_it_accepts_the_largest_safe_integer_and_null_in_custom_properties() -> None:
    prepare(dict(VALID["indicator"], x_big=MAX_SAFE_INTEGER, x_note={"a": None}))


@pytest.mark.parametrize("name", ["x\x00", "x\ud83d"])
def test_it_refuses_member_names_with_nul_or_lone_surrogates(name: str) -> None:
    assert "member name" in refusal(dict(VALID["indicator"], x_nested={name: 1}))


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        "indicator",
        {"id": 5},
        {"id": "indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01\n", "type": "indicator"},
        dict(VALID["indicator"], x_tuple=(1, 2)),
        dict(VALID["indicator"], pattern=5),
        dict(VALID["indicator"], granular_markings=[{"selectors": "description"}]),
        dict(VALID["x-lab-case"], extensions={"x": {"extension_type": {"a": 1}}}),
        dict(VALID["marking-definition"], definition_type=["tlp"]),
        dict(VALID["marking-definition"], name=7),
    ],
)
def test_it_answers_hostile_input_only_with_a_refusal(obj: Any) -> None:
    refusal(obj)


def test_it_refuses_an_object_over_the_size_limit_naming_it() -> None:
    obj = VALID["indicator"]
    size = len(orjson.dumps(obj))
    prepare(obj, max_bytes=size)
    assert f"{size - 1}-byte limit" in refusal(obj, max_bytes=size - 1)


def _pattern(expression: str) -> dict[str, Any]:
    return dict(VALID["indicator"], pattern=expression)


COMPARISON = "[ipv4-addr:value = '198.51.100.1']"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (" OR ".join([COMPARISON] * 3000), f"longer than {MAX_PATTERN_LENGTH}"),
        (" OR ".join([COMPARISON] * (MAX_PATTERN_TERMS + 1)), f"more than {MAX_PATTERN_TERMS}"),
        ("(" * 400 + COMPARISON + ")" * 400, f"deeper than {MAX_PATTERN_NESTING}"),
        ("[" + "(" * 50 + "ipv4-addr:value = '1.2.3.4'" + ")" * 50 + "]", "nested deeper"),
        ("[ipv4-addr:value ISSUBSET '100.64.300.0/24']", "'100.64.300.0/24'"),
        ("[ipv4-addr:value = '1.2.3.999']", "'1.2.3.999'"),
        ("[ipv4-addr:value IN ('1.2.3.4', '2001:db8::1')]", "'2001:db8::1'"),
        ("[ipv6-addr:value ISSUPERSET '2001:db8::/129']", "'2001:db8::/129'"),
        ("[ipv4-addr:value NOT = 'localhost']", "'localhost'"),
    ],
)
def test_it_refuses_unbounded_patterns_and_bad_addresses(pattern: str, message: str) -> None:
    reason = refusal(_pattern(pattern))
    assert "property 'pattern'" in reason and message in reason


@pytest.mark.parametrize(
    "pattern",
    [
        " OR ".join([COMPARISON] * (MAX_PATTERN_TERMS - 1)),
        # The observation's own brackets are one level.
        "(" * (MAX_PATTERN_NESTING - 1) + COMPARISON + ")" * (MAX_PATTERN_NESTING - 1),
        "[ipv4-addr:value IN ('198.51.100.1', '198.51.100.0/24')]",
        "[ipv6-addr:value ISSUBSET '2001:db8::/32']",
        "[url:value = '((((((((((((((((((((((((((((((((((( AND OR ']",
    ],
)
def test_it_accepts_patterns_within_the_bounds(pattern: str) -> None:
    prepare(_pattern(pattern))


@pytest.mark.parametrize(
    "selector",
    [
        "external_references.[0].url",
        "kill_chain_phases.[0].phase_name",
        "labels.[0]",
        "external_references",
    ],
)
def test_it_accepts_granular_selectors_into_list_items(selector: str) -> None:
    marking = [{"marking_ref": TLP2_CLEAR, "selectors": [selector]}]
    prepare(dict(VALID["indicator"], granular_markings=marking))


@pytest.mark.parametrize(
    ("marking", "message"),
    [
        ({"marking_ref": TLP2_CLEAR, "selectors": ["external_references.[1].url"]}, "does not"),
        ({"marking_ref": TLP2_CLEAR, "selectors": ["labels.0"]}, "does not select"),
        ({"marking_ref": TLP2_CLEAR, "selectors": ["x_missing"]}, "does not select"),
        ({"marking_ref": TLP2_CLEAR, "selectors": []}, "'granular_markings[0].selectors'"),
        ({"selectors": ["name"]}, "exactly one of 'marking_ref' and 'lang'"),
        ({"marking_ref": TLP2_CLEAR, "lang": "en", "selectors": ["name"]}, "exactly one"),
        ({"marking_ref": REF, "selectors": ["name"]}, "marking-definition id"),
    ],
)
def test_it_refuses_granular_markings_that_select_nothing(
    marking: dict[str, Any], message: str
) -> None:
    assert message in refusal(dict(VALID["indicator"], granular_markings=[marking]))


def _official_tlp(marking_id: str) -> dict[str, Any]:
    text = resources.files("signatures").joinpath("profile/markings/tlp-2.0.json").read_text()
    marking: dict[str, Any] = next(m for m in json.loads(text) if m["id"] == marking_id)
    return marking


TLP_IMITATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [
    lambda m: dict(m, name="TLP:CLEAR"),
    lambda m: dict(m, name="tlp:red"),
    lambda m: dict(m, definition_type="tlp", definition={"tlp": "white"}),
    lambda m: dict(
        m,
        extensions={TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "red"}},
    ),
]


@pytest.mark.parametrize("imitate", TLP_IMITATIONS)
def test_it_refuses_a_marking_that_imitates_tlp_under_another_id(
    imitate: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    assert "imitates a TLP marking" in refusal(imitate(VALID["marking-definition"]))


def test_it_accepts_official_tlp_and_refuses_it_altered() -> None:
    official = _official_tlp(TLP2_CLEAR)
    prepare(copy.deepcopy(official))
    assert "official definition" in refusal(dict(official, name="TLP:CLEAR (ours)"))
    tlp1 = json.loads(stix2.v21.TLP_WHITE.serialize())
    prepare(tlp1)
    assert "official definition" in refusal(dict(tlp1, definition={"tlp": "red"}))
    statement = dict(VALID["marking-definition"], id=tlp1["id"])
    assert "official definition" in refusal(statement)


@pytest.mark.parametrize("object_type", ["marking-definition", "language-content"])
@pytest.mark.parametrize("creator", [None, LAB, OUTSIDER])
def test_it_lets_meta_objects_credit_the_publisher_an_outsider_or_nobody(
    object_type: str, creator: str | None
) -> None:
    obj = dict(VALID[object_type])
    if creator:
        obj["created_by_ref"] = creator
    prepared = prepare(obj)
    assert prepared.created_by_ref == (creator or "")


@pytest.mark.parametrize("object_type", ["marking-definition", "language-content"])
def test_it_refuses_meta_objects_credited_to_another_member(object_type: str) -> None:
    reason = refusal(dict(VALID[object_type], created_by_ref=OTHER_MEMBER))
    assert "property 'created_by_ref'" in reason and "another member" in reason


@pytest.mark.parametrize("object_type", ["indicator", "relationship", "extension-definition"])
@pytest.mark.parametrize("creator", [OUTSIDER, OTHER_MEMBER])
def test_it_requires_the_publisher_as_creator_of_sdos_sros_and_extensions(
    object_type: str, creator: str
) -> None:
    assert "members may only publish their own objects" in refusal(
        dict(VALID[object_type], created_by_ref=creator)
    )


def test_it_refuses_member_identities_unless_the_exchange_writes_them() -> None:
    identity = dict(VALID["identity"], id=LAB, created_by_ref=LAB)
    assert "managed by the exchange" in refusal(identity)
    managed = PublishContext(
        publisher_identity=LAB,
        extension_definitions={},
        member_identities=CONTEXT.member_identities,
        exchange_managed=True,
    )
    assert prepare(identity, managed).data is identity
    prepare(VALID["identity"])  # an identity that is no member's is ordinary content


def test_it_refuses_a_key_list_unless_the_exchange_writes_it() -> None:
    keys = {SIGNING_EXTENSION_ID: {"extension_type": "property-extension", "keys": []}}
    obj = dict(VALID["identity"], extensions=keys)
    assert f"'extensions.{SIGNING_EXTENSION_ID}.keys'" in refusal(obj)
    prepare(obj, PublishContext(LAB, {}, exchange_managed=True))
