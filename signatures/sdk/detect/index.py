"""Candidate generation: which indicators could match an event, without looking at all of them.

Every observation expression of a compiled pattern gets anchors, conditions that any
event satisfying it must meet and that a table answers directly:

* exact values (``=``, ``IN``): a hash map from (type, path, typed value) to indicators;
* CIDR blocks (``ISSUBSET``): per (type, path, prefix length) a hash map of networks, so an
  address costs one lookup per prefix length in use, not one per indicator;
* near-duplicate prompts (``minhash``): the 128 MinHash positions cut into 39 bands; a
  Jaccard estimate of at least 0.7 leaves at most 38 positions unequal, so two
  near-duplicates agree on at least one whole band (the pigeonhole principle): no
  near-duplicate is missed, and a band of 3-4 32-bit values is almost never shared by
  chance;
* numeric thresholds (``<``, ``>``, ...): sorted thresholds per (type, path, operator),
  bisected with the event's value;
* otherwise the object type: the indicator is checked against every event with an
  object of that type (``NOT``, ``!=``, ``LIKE``, ``MATCHES``...).

Within ``AND`` one anchor suffices (the most selective kind); ``OR`` needs all of its
operands' anchors. The engine confirms each candidate against its whole pattern, except
where the anchor is the pattern (a single ``=`` or ``ISSUBSET``).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from signatures.sdk.constants import PROMPT_PATTERN_TYPE
from signatures.sdk.detect.compiler import (
    NEAR_MIN_JACCARD,
    NEAR_MIN_WORDS,
    Comparison,
    Expr,
    Observation,
    Path,
    _minhash_values,
    address_bits,
    path_values,
)

_PERMUTATIONS = 128
#: Positions that may differ between near-duplicates, and hence the number of bands.
_MAX_UNEQUAL = _PERMUTATIONS - math.ceil(NEAR_MIN_JACCARD * _PERMUTATIONS)
_BANDS = _MAX_UNEQUAL + 1


def _band_slices() -> list[slice]:
    size, extra = divmod(_PERMUTATIONS, _BANDS)
    slices, start = [], 0
    for band in range(_BANDS):
        end = start + size + (1 if band < extra else 0)
        slices.append(slice(start, end))
        start = end
    return slices


BAND_SLICES = _band_slices()

#: An anchor: ("eq", type, path, typed value), ("net", type, path, version, prefix, network),
#: ("band", number, values), ("num", type, path, operator, threshold) or ("type", type).
Anchor = tuple[Any, ...]
_RANK = {"eq": 0, "net": 0, "band": 0, "num": 1, "type": 2}


def typed(value: Any) -> tuple[str, Any] | None:
    """A hash key that equals another exactly when stix2-matcher's ``=`` would: numbers
    with numbers (1 = 1.0), strings with strings, booleans with booleans."""
    kind = type(value)
    if kind is str:
        return ("s", value)
    if kind is bool:
        return ("b", value)
    if kind is int or kind is float:
        return ("n", value)
    return None


def _member_keys(value: Any) -> list[tuple[str, Any]]:
    """Keys under which ``IN`` finds ``value``: Python set membership also equates
    ``true`` with 1 and ``false`` with 0, and the engine confirms IN anyway."""
    key = typed(value)
    if key is None:
        return []
    keys = [key]
    if type(value) is bool:
        keys.append(("n", int(value)))
    elif key[0] == "n" and value in (0, 1):
        keys.append(("b", bool(value)))
    return keys


def comparison_anchors(c: Comparison) -> list[Anchor]:
    if not c.negated:
        if c.operator == "=" and c.object_type == PROMPT_PATTERN_TYPE and c.path == ("minhash",):
            values = _minhash_values(c.operand)
            if values is not None and len(values) == _PERMUTATIONS:
                return [("band", n, values[s]) for n, s in enumerate(BAND_SLICES)]
        elif c.operator == "=" and not (
            c.object_type == PROMPT_PATTERN_TYPE and c.path == ("simhash64",)
        ):
            if (key := typed(c.operand)) is not None:
                return [("eq", c.object_type, c.path, key)]
        elif c.operator == "IN":
            return [("eq", c.object_type, c.path, k) for v in c.operand for k in _member_keys(v)]
        elif c.operator == "ISSUBSET":
            net = c.operand
            bits = net.max_prefixlen - net.prefixlen
            return [
                (
                    "net",
                    c.object_type,
                    c.path,
                    net.version,
                    net.prefixlen,
                    int(net.network_address) >> bits,
                )
            ]
        elif c.operator in (">", "<", ">=", "<=") and type(c.operand) in (int, float):
            return [("num", c.object_type, c.path, c.operator, c.operand)]
    return [("type", c.object_type)]


def expr_anchors(expr: Expr) -> list[Anchor]:
    if isinstance(expr, Comparison):
        return comparison_anchors(expr)
    choices = [expr_anchors(e) for e in expr.operands]
    if expr.operator == "OR":
        return [a for anchors in choices for a in anchors]
    return min(choices, key=lambda anchors: (max(_RANK[a[0]] for a in anchors), len(anchors)))


def is_exact(expr: Expr) -> bool:
    """Whether an anchor hit is already a match: one ``=`` on a plain value or one
    ``ISSUBSET``, not negated, and not a sketch comparison."""
    if not isinstance(expr, Comparison) or expr.negated:
        return False
    anchors = comparison_anchors(expr)
    return expr.operator in ("=", "ISSUBSET") and anchors[0][0] in ("eq", "net")


class Index:
    """Anchors to indicator keys; ``candidates`` answers an event with a few lookups."""

    def __init__(self) -> None:
        self._eq: dict[tuple[str, Path], dict[tuple[str, Any], set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self._nets: dict[tuple[str, Path], dict[tuple[int, int], dict[int, set[str]]]] = (
            defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
        )
        self._bands: dict[tuple[int, tuple[int, ...]], set[str]] = defaultdict(set)
        #: (type, path, operator) -> sorted thresholds, and the indicator keys beside them.
        self._nums: dict[tuple[str, Path, str], tuple[list[float], list[str]]] = {}
        self._types: dict[str, set[str]] = defaultdict(set)
        self._eq_paths: dict[str, set[Path]] = defaultdict(set)
        self._net_paths: dict[str, set[Path]] = defaultdict(set)
        self._num_paths: dict[str, set[tuple[Path, str]]] = defaultdict(set)

    def add(self, key: str, anchors: Iterable[Anchor]) -> None:
        for anchor in anchors:
            kind = anchor[0]
            if kind == "eq":
                _, t, path, value = anchor
                self._eq[(t, path)][value].add(key)
                self._eq_paths[t].add(path)
            elif kind == "net":
                _, t, path, version, prefix, network = anchor
                self._nets[(t, path)][(version, prefix)][network].add(key)
                self._net_paths[t].add(path)
            elif kind == "band":
                self._bands[(anchor[1], anchor[2])].add(key)
            elif kind == "num":
                _, t, path, op, threshold = anchor
                thresholds, keys = self._nums.setdefault((t, path, op), ([], []))
                at = bisect.bisect_right(thresholds, threshold)
                thresholds.insert(at, threshold)
                keys.insert(at, key)
                self._num_paths[t].add((path, op))
            else:
                self._types[anchor[1]].add(key)

    def remove(self, key: str, anchors: Iterable[Anchor]) -> None:
        for anchor in anchors:
            kind = anchor[0]
            if kind == "eq":
                self._eq[(anchor[1], anchor[2])][anchor[3]].discard(key)
            elif kind == "net":
                self._nets[(anchor[1], anchor[2])][(anchor[3], anchor[4])][anchor[5]].discard(key)
            elif kind == "band":
                self._bands[(anchor[1], anchor[2])].discard(key)
            elif kind == "num":
                thresholds, keys = self._nums[(anchor[1], anchor[2], anchor[3])]
                at = bisect.bisect_left(thresholds, anchor[4])
                while keys[at] != key:
                    at += 1
                del thresholds[at], keys[at]
            else:
                self._types[anchor[1]].discard(key)

    def types(self) -> set[str]:
        """The object types some anchor reads."""
        return {*self._eq_paths, *self._net_paths, *self._num_paths, *self._types} | (
            {PROMPT_PATTERN_TYPE} if self._bands else set()
        )

    def candidates(self, observation: Observation, types: Iterable[str]) -> set[str]:
        """Indicator keys whose anchors the observation meets (``types``: those it has)."""
        found: set[str] = set()
        for t in types:
            eq_paths = self._eq_paths.get(t)
            net_paths = self._net_paths.get(t)
            num_paths = self._num_paths.get(t)
            by_type = self._types.get(t)
            if by_type:
                found |= by_type
            if not (
                eq_paths or net_paths or num_paths or (t == PROMPT_PATTERN_TYPE and self._bands)
            ):
                continue
            for obj in observation.objects(t):
                if eq_paths:
                    for path in eq_paths:
                        table = self._eq[(t, path)]
                        for value in path_values(obj, path):
                            k = typed(value)
                            if k is not None and (hit := table.get(k)):
                                found |= hit
                if net_paths:
                    for path in net_paths:
                        self._net_candidates(self._nets[(t, path)], path_values(obj, path), found)
                if num_paths:
                    for path, op in num_paths:
                        self._num_candidates((t, path, op), path_values(obj, path), found)
                if t == PROMPT_PATTERN_TYPE and self._bands:
                    self._band_candidates(obj, found)
        return found

    @staticmethod
    def _net_candidates(
        tables: dict[tuple[int, int], dict[int, set[str]]], values: list[Any], found: set[str]
    ) -> None:
        for value in values:
            parsed = address_bits(value) if type(value) is str else None
            if parsed is None:
                continue
            version, address, length, top = parsed
            for (table_version, prefix), table in tables.items():
                if (
                    table_version == version
                    and prefix <= length
                    and (hit := table.get(address >> (top - prefix)))
                ):
                    found |= hit

    def _num_candidates(
        self, where: tuple[str, Path, str], values: list[Any], found: set[str]
    ) -> None:
        thresholds, keys = self._nums[where]
        op = where[2]
        for value in values:
            if type(value) not in (int, float):
                continue
            if op == ">":  # threshold < value
                found.update(keys[: bisect.bisect_left(thresholds, value)])
            elif op == ">=":
                found.update(keys[: bisect.bisect_right(thresholds, value)])
            elif op == "<":  # threshold > value
                found.update(keys[bisect.bisect_right(thresholds, value) :])
            else:
                found.update(keys[bisect.bisect_left(thresholds, value) :])

    def _band_candidates(self, obj: Any, found: set[str]) -> None:
        encoded = obj.get("minhash")
        count = obj.get("word_count")
        if type(encoded) is not str or type(count) is not int or count < NEAR_MIN_WORDS:
            return
        values = _minhash_values(encoded)
        if values is None or len(values) != _PERMUTATIONS:
            return
        bands = self._bands
        for n, s in enumerate(BAND_SLICES):
            if hit := bands.get((n, values[s])):
                found |= hit
