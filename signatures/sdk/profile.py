"""The distillation signature profile: its shipped definitions and the checks the
exchange runs on each published object.

The profile lives as plain JSON files in ``signatures/profile/`` (extension
definitions, JSON Schemas, the Forum identity). This module reads them once, compiles
the schemas once, and offers pure functions the publish path calls per object.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import fastjsonschema
import re2
from jsonschema import Draft202012Validator, ValidationError, validators
from stix2patterns.exceptions import ParseException
from stix2patterns.v21.pattern import Pattern

from signatures.sdk import jss
from signatures.sdk.constants import SCO_ID_NAMESPACE
from signatures.sdk.flat_patterns import flat_comparisons

_NAMESPACE = uuid.UUID(SCO_ID_NAMESPACE)
# RE2 logs each compile error to stderr on its own; the error is reported to the caller.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def _sorted_items(
    validator: Any, sorted_items: bool, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """The profile's ``sortedItems`` keyword: a list whose order is canonical.

    List order takes part in deterministic ids, so an unsorted list would give the
    same content a second id.
    """
    if sorted_items and validator.is_type(instance, "array") and instance != sorted(instance):
        yield ValidationError("items are not sorted in ascending order")


_ProfileValidator = validators.extend(Draft202012Validator, {"sortedItems": _sorted_items})


@dataclass(frozen=True, slots=True)
class Profile:
    """The shipped profile: every Forum extension definition and its schema, and the
    observable types the ``new-sco`` definitions declare."""

    forum_identity: dict[str, Any]
    #: extension-definition objects by their id (new-sco and property extensions alike).
    extension_definitions: dict[str, dict[str, Any]]
    #: JSON Schema (draft 2020-12) by extension-definition id.
    schemas: dict[str, dict[str, Any]]
    #: The custom observable types the profile declares.
    types: frozenset[str]
    #: extension-definition id by observable type.
    extension_ids: dict[str, str]
    #: STIX 2.1 section 2.9 id-contributing properties by observable type.
    id_contributing: dict[str, tuple[str, ...]]
    _validators: dict[str, Any]
    #: Code-generated validators of the same schemas, for the common case (see schema_holds).
    _generated: dict[str, Callable[[Any], Any]]

    def schema_of(self, object_type: str) -> dict[str, Any]:
        """The JSON Schema of a profile observable type."""
        return self.schemas[self.extension_ids[object_type]]

    def validator(self, object_type: str) -> Any:
        """The compiled schema validator of a profile observable type."""
        return self._validators[object_type]

    def schema_holds(self, object_type: str, obj: Any) -> bool:
        """True only if ``obj`` is known to satisfy its type's schema.

        jsonschema walks a schema anew for each object, about 0.2 ms for a prompt pattern;
        fastjsonschema compiles it to Python once and is ten times faster, but its messages
        are not jsonschema's, it knows no ``sortedItems`` and it follows draft-07. So it only
        vouches: False means "ask jsonschema", whose errors are the ones reported.
        tests/signatures/sdk/test_profile.py holds it to jsonschema's verdict.
        """
        generated = self._generated.get(object_type)
        if generated is None:
            return False
        try:
            generated(obj)
        except fastjsonschema.JsonSchemaException:
            return False
        return True


def _read_json(directory: Any, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(directory.joinpath(name).read_text(encoding="utf-8"))
    return data


@functools.cache
def load_profile() -> Profile:
    """Read and compile the profile files (once per process).

    Each ``extension-definitions/<name>.json`` has its schema in ``schemas/<name>.json``;
    for a ``new-sco`` definition, ``<name>`` is the observable type.
    """
    root = resources.files("signatures").joinpath("profile")
    definitions: dict[str, dict[str, Any]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    extension_ids: dict[str, str] = {}
    for entry in sorted(root.joinpath("extension-definitions").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        definition = _read_json(root.joinpath("extension-definitions"), entry.name)
        schema = _read_json(root.joinpath("schemas"), entry.name)
        _ProfileValidator.check_schema(schema)
        definitions[definition["id"]] = definition
        schemas[definition["id"]] = schema
        if "new-sco" in definition["extension_types"]:
            extension_ids[entry.name.removesuffix(".json")] = definition["id"]
    return Profile(
        forum_identity=_read_json(root, "forum-identity.json"),
        extension_definitions=definitions,
        schemas=schemas,
        types=frozenset(extension_ids),
        extension_ids=extension_ids,
        id_contributing={
            t: tuple(schemas[e]["id_contributing_properties"]) for t, e in extension_ids.items()
        },
        _validators={t: _ProfileValidator(schemas[e]) for t, e in extension_ids.items()},
        _generated={
            t: generated
            for t, e in extension_ids.items()
            if (generated := _generated_validator(schemas[e])) is not None
        },
    )


def _generated_validator(schema: Mapping[str, Any]) -> Callable[[Any], Any] | None:
    """fastjsonschema's validator of ``schema``, or None where it would not be exact: a
    schema with the profile's own ``sortedItems`` keyword, which it does not know."""
    if "sortedItems" in json.dumps(schema):
        return None
    # The keywords the profile uses mean the same in draft-07, which fastjsonschema follows.
    draft07 = {key: value for key, value in schema.items() if key not in ("$schema", "$id")}
    draft07["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(draft07)


def deterministic_id(object_type: str, properties: Mapping[str, Any], contributing: Any) -> str:
    """STIX 2.1 section 2.9 SCO id: UUIDv5 in the SCO namespace of the RFC 8785 (JCS)
    serialisation of the id-contributing properties present in ``properties``.

    This is the rule stix2 applies to the standard SCOs, so for those it yields the id
    the library would.
    """
    present = {name: properties[name] for name in contributing if name in properties}
    if not present:
        raise ValueError(f"{object_type}: none of the id-contributing properties is set")
    name = jss.canonical_bytes(present).decode("utf-8")
    return f"{object_type}--{uuid.uuid5(_NAMESPACE, name)}"


def sco_id(object_type: str, properties: Mapping[str, Any]) -> str:
    """Deterministic id of a profile observable from its properties."""
    return deterministic_id(object_type, properties, load_profile().id_contributing[object_type])


def _json_path(error: ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def validate_profile_object(obj: dict[str, Any]) -> list[str]:
    """Errors of a profile observable against its schema and its deterministic id.

    Each message names the object, the property at fault and why. Objects of other
    types give ``[]``.
    """
    profile = load_profile()
    object_type = obj.get("type")
    if object_type not in profile.types:
        return []
    object_id = obj.get("id", f"{object_type} without id")
    errors = (
        []
        if profile.schema_holds(object_type, obj)
        else sorted(
            profile.validator(object_type).iter_errors(obj), key=lambda e: list(map(str, e.path))
        )
    )
    messages = []
    for error in errors:
        path = _json_path(error)
        where = f"property '{path}'" if path else "object"
        messages.append(f"{object_id}: {where}: {error.message}")
    try:
        expected = sco_id(object_type, obj)
    except (ValueError, TypeError) as exc:
        messages.append(f"{object_id}: property 'id': cannot be derived: {exc}")
    else:
        if obj.get("id") != expected:
            names = ", ".join(profile.id_contributing[object_type])
            messages.append(
                f"{object_id}: property 'id': expected {expected}, the UUIDv5 of its "
                f"id-contributing properties ({names}) per STIX 2.1 section 2.9"
            )
    return messages


def stix_string_literal(value: str) -> str:
    """A STIX pattern string literal: single-quoted, with ``\\`` and ``'`` escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def string_literal_value(literal: str) -> str:
    """The text of a STIX pattern string literal (inverse of stix_string_literal)."""
    body = literal[1:-1]
    out = []
    chars = iter(body)
    for char in chars:
        out.append(next(chars, "") if char == "\\" else char)
    return "".join(out)


def regex_error(regex: str) -> str | None:
    """Why RE2 refuses ``regex`` (None if it compiles).

    RE2 guarantees matching in time linear in the input, so a regex in a shared
    signature cannot be turned into a denial of service on its consumers; it has no
    backreferences and no lookaround.
    """
    try:
        re2.compile(regex, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


#: Bounds on a STIX pattern, checked before it is parsed: the ANTLR parser recurses once
#: per nesting level and per boolean term, so an unbounded pattern ends in RecursionError
#: (about 400 nested parentheses or 1,000 OR terms at the default recursion limit). The
#: limits sit well below that and well above any real signature.
MAX_PATTERN_LENGTH: Final = 16_384
MAX_PATTERN_NESTING: Final = 32
MAX_PATTERN_TERMS: Final = 256
# String literals (plain, b'' and h'') are blanked before counting: brackets, parentheses
# and AND/OR inside a quoted value are data, not syntax.
_PATTERN_STRING = re.compile(r"'(?:[^'\\]|\\.)*'", re.DOTALL)
_PATTERN_OPERATOR = re.compile(r"\b(?:AND|OR|FOLLOWEDBY)\b")
#: Address comparisons whose operand must be an IP address or CIDR block of its version.
_ADDRESS_TYPES: Final = {"ipv4-addr": 4, "ipv6-addr": 6}
_ADDRESS_OPERATORS: Final = frozenset({"=", "!=", "IN", "ISSUBSET", "ISSUPERSET"})


def pattern_bounds_error(pattern: str) -> str | None:
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"longer than {MAX_PATTERN_LENGTH} characters"
    syntax = _PATTERN_STRING.sub("''", pattern)
    depth = deepest = 0
    for char in syntax:
        if char in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]":
            depth -= 1
    if deepest > MAX_PATTERN_NESTING:
        return f"nested deeper than {MAX_PATTERN_NESTING} brackets and parentheses"
    if len(_PATTERN_OPERATOR.findall(syntax)) >= MAX_PATTERN_TERMS:
        return f"more than {MAX_PATTERN_TERMS} terms joined by AND, OR or FOLLOWEDBY"
    return None


def _address_errors(object_type: str, operator: str, operand: str) -> list[str]:
    """Operands of an ipv4-addr/ipv6-addr ``value`` comparison that are not addresses or
    CIDR blocks of that version; a set operand (``IN ('a', 'b')``) is checked item by item."""
    expected = _ADDRESS_TYPES[object_type]
    if operator.removeprefix("NOT ") not in _ADDRESS_OPERATORS:
        return []
    errors = []
    for literal in _PATTERN_STRING.findall(operand):
        value = string_literal_value(literal)
        try:
            version: int = ipaddress.ip_network(value, strict=False).version
        except ValueError:
            version = 0
        if version != expected:
            errors.append(
                f"'{value}' compared with {object_type}:value is not an IPv{expected} "
                "address or CIDR block"
            )
    return errors


@functools.lru_cache(maxsize=8192)
def _pattern_errors(pattern: str) -> tuple[str, ...]:
    if (bound := pattern_bounds_error(pattern)) is not None:
        return (f"pattern refused before parsing: {bound}",)
    # The flat shape of nearly every signature is read without the ANTLR grammar, with the
    # same result (flat_patterns); any other pattern goes to the reference parser.
    try:
        comparisons = flat_comparisons(pattern) or Pattern(pattern).inspect().comparisons
    except ParseException as exc:
        return (f"invalid STIX 2.1 pattern: {exc}",)
    except RecursionError:
        # The bounds above keep real patterns far from this; a deeper interpreter stack
        # than the one they were measured on must still answer a refusal.
        return ("pattern refused: too deeply nested to parse",)
    profile = load_profile()
    errors = []
    for object_type, entries in comparisons.items():
        for path, operator, value in entries:
            prop = path[0]
            if object_type in profile.types and prop not in profile.schema_of(object_type).get(
                "properties", {}
            ):
                errors.append(f"'{object_type}' has no property '{prop}' in the profile")
            if object_type in _ADDRESS_TYPES and path == ["value"]:
                errors.extend(_address_errors(object_type, operator, value))
            if operator.endswith("MATCHES"):
                if not value.startswith("'"):
                    errors.append(f"MATCHES on {object_type}:{prop} needs a string operand")
                elif (reason := regex_error(regex := string_literal_value(value))) is not None:
                    errors.append(
                        f"regular expression '{regex}' on {object_type}:{prop} is not RE2 "
                        f"syntax: {reason}"
                    )
    return tuple(errors)


def pattern_errors(pattern: str) -> list[str]:
    """Errors of a STIX 2.1 pattern (``pattern_type`` "stix"): its size and nesting
    (checked before parsing), syntax, RE2-compilable ``MATCHES`` operands, IP address
    operands of ipv4-addr/ipv6-addr values, and property names of profile types. ``[]``
    when valid."""
    return list(_pattern_errors(pattern))
