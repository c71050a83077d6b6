"""STIX Patterning 2.1 compiled to Python closures, with stix2-matcher's semantics.

The pattern is parsed with stix2-patterns' ANTLR grammar (the parser stix2 and
stix2-matcher use) and its tree is turned into:

* one ``Observation`` per bracketed observation expression: a predicate over one STIX
  object (comparisons joined by AND and OR must hold on the same object, as in
  stix2-matcher), true for an event when one of its objects satisfies it;
* a tree of the observation operators (``AND``, ``OR``, ``FOLLOWEDBY``) and qualifiers
  (``REPEATS``, ``WITHIN``, ``START ... STOP``), evaluated by searching for a binding:
  one distinct event per observation, with the timing the operators ask for.

Comparisons follow stix2-matcher 3.0 exactly (the differential corpus in the tests holds
the two to the same answers): typed equality (``1 = 1.0``, ``true != 1``), order only
between numbers or between strings, ``IN`` by Python set membership, ``LIKE`` and
``ISSUBSET``/``ISSUPERSET`` as it defines them (``ISSUBSET`` also works for IPv6 here).
Two deliberate differences: ``MATCHES`` runs on RE2 (linear time, docs/profile.md section
9; a regex RE2 refuses is left to stix2-matcher), and ``=`` on a ``prompt-pattern``'s
``simhash64`` or ``minhash`` means "near-duplicate" with the profile's thresholds
(docs/profile.md section 3.5), since sketches exist to be compared by similarity.

What is outside this subset raises ``Unsupported`` (the engine hands the pattern to
stix2-matcher): binary, hex and timestamp operands, ``EXISTS``, reference paths
(``*_ref``), ``_hex``/``_bin`` properties.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import antlr4
import re2
from stix2patterns.v21.grammars.STIXPatternParser import STIXPatternParser as P
from stix2patterns.v21.pattern import Pattern

from signatures.sdk import normalize, sketches
from signatures.sdk.constants import PROMPT_PATTERN_TYPE
from signatures.sdk.profile import string_literal_value

#: Near-duplicate prompts (docs/profile.md section 3.5): SimHash Hamming distance at most
#: 12 and MinHash Jaccard estimate at least 0.7, both prompts at least 30 words long.
NEAR_MAX_HAMMING = 12
NEAR_MIN_JACCARD = 0.7
NEAR_MIN_WORDS = 30

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False

#: A property path: keys, list indexes, and ``None`` for ``[*]``.
Path = tuple[str | int | None, ...]

#: Properties whose comparisons are left to stix2-matcher (references, binary values).
_UNCOMPILED_SUFFIXES = ("_ref", "_refs", "_hex", "_bin")


class Unsupported(Exception):
    """The pattern is valid STIX but outside the compiled subset."""


class Observation(Protocol):
    """What a pattern is matched against: one event's objects by type, and its time."""

    @property
    def time_us(self) -> int: ...

    def objects(self, object_type: str) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class Comparison:
    """One comparison expression, e.g. ``ipv4-addr:value ISSUBSET '203.0.113.0/24'``."""

    object_type: str
    path: Path
    operator: str
    negated: bool
    #: The literal: a value, a frozenset (IN), a network (ISSUBSET/ISSUPERSET), a regex.
    operand: Any
    holds: Callable[[Mapping[str, Any]], bool] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BoolExpr:
    """Comparisons joined by AND or OR inside one observation expression."""

    operator: str
    operands: tuple[Comparison | BoolExpr, ...]


Expr = Comparison | BoolExpr


@dataclass(frozen=True, slots=True)
class Leaf:
    """An observation expression ``[...]``; ``index`` into ``CompiledPattern.leaves``."""

    index: int
    types: frozenset[str]
    expr: Expr
    holds: Callable[[Mapping[str, Any]], bool] = field(compare=False, repr=False)

    def matches(self, observation: Observation) -> bool:
        holds = self.holds
        return any(holds(o) for t in self.types for o in observation.objects(t))


@dataclass(frozen=True, slots=True)
class Node:
    """An observation operator or qualifier over sub-trees."""

    kind: str  # AND, OR, FOLLOWEDBY, REPEATS, WITHIN, STARTSTOP
    children: tuple[Node | Leaf, ...]
    count: int = 0  # REPEATS
    span_us: int = 0  # WITHIN
    start_us: int = 0  # START
    stop_us: int = 0  # STOP


Tree = Node | Leaf


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    pattern: str
    leaves: tuple[Leaf, ...]
    tree: Tree

    @property
    def single(self) -> bool:
        """One observation expression without qualifiers: an event matches on its own."""
        return isinstance(self.tree, Leaf)


# --- values ---------------------------------------------------------------------------

_NUMBER = (int, float)


def _number(value: Any) -> bool:
    return type(value) in _NUMBER


def _equal(value: Any, literal: Any) -> bool:
    """stix2-matcher's equality table: numbers with numbers, strings with strings, booleans
    with booleans; anything else is unequal (so ``true`` is not ``1``)."""
    if _number(value) and _number(literal):
        return bool(value == literal)
    kind = type(value)
    return kind is type(literal) and kind in (str, bool) and value == literal


def _order(value: Any, literal: Any) -> int | None:
    """-1, 0 or 1 for numbers against numbers and strings against strings, else None."""
    if (_number(value) and _number(literal)) or (type(value) is str and type(literal) is str):
        return int(value > literal) - int(value < literal)
    return None


def path_values(obj: Mapping[str, Any], path: Path) -> list[Any]:
    """The values a property path selects in one object (``[*]`` fans out over a list)."""
    if len(path) == 1:
        key = path[0]
        return [obj[key]] if isinstance(key, str) and key in obj else []
    current: list[Any] = [obj]
    for step in path:
        following: list[Any] = []
        if step is None:
            for item in current:
                if isinstance(item, list):
                    following.extend(item)
        elif isinstance(step, int):
            following = [i[step] for i in current if isinstance(i, list) and 0 <= step < len(i)]
        else:
            following = [i[step] for i in current if isinstance(i, Mapping) and step in i]
        if not following:
            return []
        current = following
    return current


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=65_536)
def address_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """An address or CIDR value as a network (a single address is a /32 or /128)."""
    return _network(value)


def address_bits(value: str) -> tuple[int, int, int, int] | None:
    """(IP version, address as an integer, prefix length, address bits) of an address or
    CIDR value; a plain IPv4 address, the usual case, skips the ipaddress module."""
    if "/" not in value and ":" not in value:
        try:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, value), "big"), 32, 32
        except OSError:
            return None
    net = address_network(value)
    if net is None:
        return None
    return net.version, int(net.network_address), net.prefixlen, net.max_prefixlen


def _contains(outer: Any, inner: Any) -> bool:
    return bool(outer.version == inner.version and inner.subnet_of(outer))


def _like_regex(like: str) -> re.Pattern[str]:
    """stix2-matcher's translation of a LIKE operand: ``%`` is ``.*``, ``_`` is ``.``."""
    body = "".join(
        ".*" if c == "%" else "." if c == "_" else (c if c.isalnum() else "\\" + c) for c in like
    )
    return re.compile(f"^{body}$")


@functools.lru_cache(maxsize=16_384)
def _minhash_values(encoded: str) -> tuple[int, ...] | None:
    try:
        return tuple(sketches.decode_minhash(encoded))
    except ValueError:
        return None


def _words(obj: Mapping[str, Any]) -> int:
    count = obj.get("word_count")
    return count if type(count) is int else 0


# --- comparisons ----------------------------------------------------------------------


def _value_test(operator: str, operand: Any) -> Callable[[Any], bool | None]:
    """The test of one selected value, before NOT; None means "false even under NOT" (an
    order comparison of incomparable types, as stix2-matcher answers it)."""
    if operator in ("=", "!="):
        if operator == "=":
            return lambda v: _equal(v, operand)
        return lambda v: not _equal(v, operand)
    if operator in (">", "<", ">=", "<="):
        wanted = {">": (1,), "<": (-1,), ">=": (0, 1), "<=": (-1, 0)}[operator]

        def order(v: Any) -> bool | None:
            c = _order(v, operand)
            return None if c is None else c in wanted

        return order
    if operator == "IN":

        def member(v: Any) -> bool:
            try:
                return v in operand
            except TypeError:  # lists and dicts are unhashable, hence not in the set
                return False

        return member
    if operator == "LIKE":
        return lambda v: type(v) is str and bool(operand.match(unicodedata.normalize("NFC", v)))
    if operator == "MATCHES":
        return lambda v: type(v) is str and bool(operand.search(unicodedata.normalize("NFC", v)))
    if operator == "ISSUBSET":

        def inside(v: Any) -> bool:
            net = address_network(v) if type(v) is str else None
            return net is not None and _contains(operand, net)

        return inside
    if operator == "ISSUPERSET":

        def around(v: Any) -> bool:
            net = address_network(v) if type(v) is str and "/" in v else None
            return net is not None and _contains(net, operand)

        return around
    raise Unsupported(f"operator {operator}")


def _comparison(
    object_type: str, path: Path, operator: str, negated: bool, operand: Any
) -> Comparison:
    near = _near_duplicate(object_type, path, operator, negated, operand)
    if near is not None:
        return Comparison(object_type, path, operator, negated, operand, near)
    test = _value_test(operator, operand)

    def holds(obj: Mapping[str, Any]) -> bool:
        for value in path_values(obj, path):
            result = test(value)
            if result is not None and result != negated:
                return True
        return False

    return Comparison(object_type, path, operator, negated, operand, holds)


def _near_duplicate(
    object_type: str, path: Path, operator: str, negated: bool, operand: Any
) -> Callable[[Mapping[str, Any]], bool] | None:
    """``prompt-pattern:simhash64 = '...'`` and ``prompt-pattern:minhash = '...'`` compare
    by similarity, with the thresholds of docs/profile.md section 3.5."""
    if (
        object_type != PROMPT_PATTERN_TYPE
        or operator not in ("=", "!=")
        or type(operand) is not str
    ):
        return None
    if path == ("simhash64",):
        try:
            wanted = int(operand, 16)
        except ValueError:
            raise Unsupported(f"simhash64 {operand!r} is not hexadecimal") from None

        def close(value: Any) -> bool:
            try:
                return (int(value, 16) ^ wanted).bit_count() <= NEAR_MAX_HAMMING
            except (TypeError, ValueError):
                return False

    elif path == ("minhash",):
        signature = _minhash_values(operand)
        if signature is None:
            raise Unsupported("minhash operand is not a base64 MinHash signature")
        needed = NEAR_MIN_JACCARD * len(signature)

        def close(value: Any) -> bool:
            other = _minhash_values(value) if type(value) is str else None
            if other is None or len(other) != len(signature):
                return False
            return sum(a == b for a, b in zip(other, signature, strict=True)) >= needed

    else:
        return None
    key = path[0]
    flip = negated != (operator == "!=")

    def holds(obj: Mapping[str, Any]) -> bool:
        if key not in obj:
            return False
        near = _words(obj) >= NEAR_MIN_WORDS and close(obj[key])
        return near != flip

    return holds


def _expr_holds(expr: Expr) -> Callable[[Mapping[str, Any]], bool]:
    if isinstance(expr, Comparison):
        object_type, test = expr.object_type, expr.holds
        return lambda obj: obj.get("type") == object_type and test(obj)
    parts = [_expr_holds(e) for e in expr.operands]
    if expr.operator == "AND":
        return lambda obj: all(p(obj) for p in parts)
    return lambda obj: any(p(obj) for p in parts)


def expr_types(expr: Expr) -> frozenset[str]:
    if isinstance(expr, Comparison):
        return frozenset({expr.object_type})
    return frozenset().union(*(expr_types(e) for e in expr.operands))


# --- parse tree -----------------------------------------------------------------------


class _TreeOf:
    """Pattern.visit hands its ANTLR tree to a visitor; this one just keeps it."""

    def visit(self, tree: Any) -> Any:
        return tree


def _literal(node: Any) -> Any:
    """A primitive literal as stix2-matcher reads it (ints, floats, strings, booleans)."""
    while not isinstance(node, antlr4.TerminalNode):
        node = node.getChild(0)
    kind, text = node.getSymbol().type, node.getText()
    if kind in (P.IntPosLiteral, P.IntNegLiteral):
        return int(text)
    if kind in (P.FloatPosLiteral, P.FloatNegLiteral):
        return float(text)
    if kind == P.StringLiteral:
        return string_literal_value(text)
    if kind == P.BoolLiteral:
        return text.lower() == "true"
    raise Unsupported(f"literal {text} (binary, hex and timestamp operands are not compiled)")


def _timestamp_us(text: str) -> int:
    """A ``t'...'`` literal in microseconds, read as stix2-matcher reads it."""
    body = text[2:-1]
    whole, _, fraction = body.rstrip("Z").partition(".")
    moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return normalize.to_epoch_us(moment) + int((fraction + "000000")[:6] or 0)


def _path(ctx: Any) -> tuple[str, Path]:
    object_type = ctx.objectType().getText()
    first = ctx.firstPathComponent()
    steps: list[str | int | None] = [
        string_literal_value(first.getText()) if first.StringLiteral() else first.getText()
    ]
    pending = [ctx.objectPathComponent()] if ctx.objectPathComponent() else []
    while pending:
        part = pending.pop(0)
        if isinstance(part, P.PathStepContext):
            pending[:0] = part.objectPathComponent()
        elif isinstance(part, P.KeyPathStepContext):
            key = part.StringLiteral()
            steps.append(string_literal_value(key.getText()) if key else part.getText()[1:])
        elif part.ASTERISK():
            steps.append(None)
        else:
            steps.append(int((part.IntPosLiteral() or part.IntNegLiteral()).getText()))
    for step in steps:
        if isinstance(step, str) and step.endswith(_UNCOMPILED_SUFFIXES):
            raise Unsupported(f"property '{step}' (references and binary values)")
    return object_type, tuple(steps)


def _prop_test(ctx: Any) -> Expr:
    if isinstance(ctx, P.PropTestParenContext):
        return _comparison_expr(ctx.comparisonExpression())
    if isinstance(ctx, P.PropTestExistsContext):
        raise Unsupported("EXISTS")
    object_type, path = _path(ctx.objectPath())
    negated = ctx.NOT() is not None
    if isinstance(ctx, P.PropTestEqualContext):
        operator = "=" if ctx.EQ() else "!="
        return _comparison(object_type, path, operator, negated, _literal(ctx.primitiveLiteral()))
    if isinstance(ctx, P.PropTestOrderContext):
        operator = (ctx.GT() or ctx.LT() or ctx.GE() or ctx.LE()).getText()
        return _comparison(object_type, path, operator, negated, _literal(ctx.orderableLiteral()))
    if isinstance(ctx, P.PropTestSetContext):
        values = [_literal(v) for v in ctx.setLiteral().primitiveLiteral()]
        kinds = {type(v) for v in values}
        if len(kinds) > 1 and not kinds <= {int, float}:
            raise Unsupported("a set literal mixing types")
        return _comparison(object_type, path, "IN", negated, frozenset(values))
    text = string_literal_value(ctx.StringLiteral().getText())
    if isinstance(ctx, P.PropTestLikeContext):
        return _comparison(
            object_type, path, "LIKE", negated, _like_regex(unicodedata.normalize("NFC", text))
        )
    if isinstance(ctx, P.PropTestRegexContext):
        try:
            regex = re2.compile(unicodedata.normalize("NFC", text), _RE2_OPTIONS)
        except re2.error:
            raise Unsupported(f"regular expression {text!r} is not RE2 syntax") from None
        return _comparison(object_type, path, "MATCHES", negated, regex)
    operator = "ISSUBSET" if isinstance(ctx, P.PropTestIsSubsetContext) else "ISSUPERSET"
    return _set_comparison(object_type, path, operator, negated, text)


def _set_comparison(
    object_type: str, path: Path, operator: str, negated: bool, text: str
) -> Comparison:
    """``ISSUBSET`` or ``ISSUPERSET`` with its operand read as a network."""
    network = _network(text)
    if network is None:
        raise Unsupported(f"{text!r} is not an IP address or CIDR block")
    return _comparison(object_type, path, operator, negated, network)


def _joined(operator: str, parts: list[Expr]) -> Expr:
    flat: list[Expr] = []
    for part in parts:
        if isinstance(part, BoolExpr) and part.operator == operator:
            flat.extend(part.operands)
        else:
            flat.append(part)
    return flat[0] if len(flat) == 1 else BoolExpr(operator, tuple(flat))


def _comparison_expr(ctx: Any) -> Expr:
    if ctx.comparisonExpression():  # a OR b
        return _joined("OR", [_comparison_expr(c) for c in ctx.comparisonExpression()])
    return _comparison_and(ctx.comparisonExpressionAnd())


def _comparison_and(ctx: Any) -> Expr:
    if ctx.comparisonExpressionAnd():  # a AND b
        return _joined("AND", [_comparison_and(c) for c in ctx.comparisonExpressionAnd()])
    return _prop_test(ctx.propTest())


class _Builder:
    def __init__(self) -> None:
        self.leaves: list[Leaf] = []

    def observations(self, ctx: Any) -> Tree:
        if ctx.FOLLOWEDBY():
            left, right = ctx.observationExpressions()
            return Node("FOLLOWEDBY", (self.observations(left), self.observations(right)))
        return self.observation_or(ctx.observationExpressionOr())

    def observation_or(self, ctx: Any) -> Tree:
        if ctx.OR():
            left, right = ctx.observationExpressionOr()
            return Node("OR", (self.observation_or(left), self.observation_or(right)))
        return self.observation_and(ctx.observationExpressionAnd())

    def observation_and(self, ctx: Any) -> Tree:
        if ctx.AND():
            left, right = ctx.observationExpressionAnd()
            return Node("AND", (self.observation_and(left), self.observation_and(right)))
        return self.observation(ctx.observationExpression())

    def observation(self, ctx: Any) -> Tree:
        if isinstance(ctx, P.ObservationExpressionSimpleContext):
            expr = _comparison_expr(ctx.comparisonExpression())
            leaf = Leaf(len(self.leaves), expr_types(expr), expr, _expr_holds(expr))
            self.leaves.append(leaf)
            return leaf
        if isinstance(ctx, P.ObservationExpressionCompoundContext):
            return self.observations(ctx.observationExpressions())
        child = self.observation(ctx.observationExpression())
        if isinstance(ctx, P.ObservationExpressionRepeatedContext):
            return Node(
                "REPEATS", (child,), count=int(ctx.repeatedQualifier().IntPosLiteral().getText())
            )
        if isinstance(ctx, P.ObservationExpressionWithinContext):
            qualifier = ctx.withinQualifier()
            seconds = float((qualifier.FloatPosLiteral() or qualifier.IntPosLiteral()).getText())
            return Node("WITHIN", (child,), span_us=round(seconds * 1_000_000))
        start, stop = ctx.startStopQualifier().TimestampLiteral()
        return Node(
            "STARTSTOP",
            (child,),
            start_us=_timestamp_us(start.getText()),
            stop_us=_timestamp_us(stop.getText()),
        )


def parse_tree(pattern: str) -> Any:
    """The ANTLR parse tree of a STIX 2.1 pattern (raises stix2patterns' ParseException)."""
    return Pattern(pattern).visit(_TreeOf())


def single_observation(pattern: str) -> bool:
    """Whether a pattern is one observation expression without operators or qualifiers."""
    node = parse_tree(pattern).observationExpressions()
    while True:
        if node.FOLLOWEDBY() or node.observationExpressionOr().OR():
            return False
        conjunction = node.observationExpressionOr().observationExpressionAnd()
        if conjunction.AND():
            return False
        inner = conjunction.observationExpression()
        if not isinstance(inner, P.ObservationExpressionCompoundContext):
            return isinstance(inner, P.ObservationExpressionSimpleContext)
        node = inner.observationExpressions()


def compile_pattern(pattern: str) -> CompiledPattern:
    """Compile a STIX 2.1 pattern; ``ParseException`` if it is invalid, ``Unsupported`` if
    it is valid but outside the compiled subset."""
    return compile_simple(pattern) or compile_parsed(pattern)


def compile_parsed(pattern: str) -> CompiledPattern:
    """``compile_pattern`` through the ANTLR parser, for any pattern."""
    tree = parse_tree(pattern)
    builder = _Builder()
    root = builder.observations(tree.observationExpressions())
    return CompiledPattern(pattern, tuple(builder.leaves), root)


# --- the profile's own shapes, without the parser ----------------------------------------
#
# The ANTLR parse costs about 1.5 ms a pattern, minutes for a feed of 100,000 indicators,
# while nearly all of them are the few shapes the profile's builders write
# (``indicators.py``): ``[type:prop = 'v']``, ``[ipv4-addr:value ISSUBSET 'cidr']``,
# ``[autonomous-system:number = n]``, timing thresholds joined by AND. Those are read here
# with regular expressions strict enough that everything they accept is a valid pattern
# that the parser reads as the same comparisons: single spaces, lower-case names (the
# grammar's keywords are upper case, except ``true`` and ``false``), no leading ``+`` or
# zeros, string literals with only the two escapes the grammar has. Anything else, even
# the same pattern spaced differently, goes through the parser.

_SIMPLE_TYPE = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
_SIMPLE_PROPERTY = r"[a-z][a-z0-9_]*"
_SIMPLE_STRING = r"'(?:[^'\\]|\\['\\])*'"
_SIMPLE_NUMBER = r"-?[0-9]*\.[0-9]+|-?(?:0|[1-9][0-9]*)"
_SIMPLE_COMPARISON = re.compile(
    rf"({_SIMPLE_TYPE}):({_SIMPLE_PROPERTY}) "
    rf"(?:(=|!=|<=|>=|<|>) (?:({_SIMPLE_STRING})|({_SIMPLE_NUMBER}))|ISSUBSET ({_SIMPLE_STRING}))"
)
_SIMPLE_JOIN = " AND "
_KEYWORD_NAMES = frozenset({"true", "false"})


def _simple_string(literal: str) -> str:
    # Hashes, fingerprints and sketches have no escapes: skip the per-character unescaping.
    return literal[1:-1] if "\\" not in literal else string_literal_value(literal)


def compile_simple(pattern: str) -> CompiledPattern | None:
    """The pattern compiled without the parser if it is one of the profile's simple
    shapes: one observation expression of comparisons joined by AND, each ``=``, ``!=``, an
    order against a string or a number, or ``ISSUBSET``; otherwise None."""
    if not (pattern.startswith("[") and pattern.endswith("]")):
        return None
    body, position = pattern[1:-1], 0
    comparisons: list[Expr] = []
    while True:
        found = _SIMPLE_COMPARISON.match(body, position)
        if found is None:
            return None
        object_type, prop, operator, string, number, subset = found.groups()
        if {object_type, prop} & _KEYWORD_NAMES or prop.endswith(_UNCOMPILED_SUFFIXES):
            return None
        if subset is not None:
            comparisons.append(
                _set_comparison(object_type, (prop,), "ISSUBSET", False, _simple_string(subset))
            )
        else:
            operand: Any = (
                _simple_string(string)
                if string is not None
                else float(number)
                if "." in number
                else int(number)
            )
            comparisons.append(_comparison(object_type, (prop,), operator, False, operand))
        position = found.end()
        if position == len(body):
            break
        if not body.startswith(_SIMPLE_JOIN, position):
            return None
        position += len(_SIMPLE_JOIN)
    expr = _joined("AND", comparisons)
    leaf = Leaf(0, expr_types(expr), expr, _expr_holds(expr))
    return CompiledPattern(pattern, (leaf,), leaf)


# --- bindings -------------------------------------------------------------------------

#: A binding: the events (their indexes) bound to the observations, earliest and latest time.
Binding = tuple[frozenset[int], int, int]


def _distinct(bindings: Iterator[Binding]) -> Iterator[Binding]:
    seen: set[frozenset[int]] = set()
    for binding in bindings:
        if binding[0] not in seen:
            seen.add(binding[0])
            yield binding


def _bindings(
    tree: Tree, satisfied: Sequence[Sequence[tuple[int, int]]], span: int | None
) -> Iterator[Binding]:
    """Every distinct binding of ``tree``; ``span`` (from an enclosing WITHIN) prunes
    combinations early, since adding events never narrows a binding's time span."""
    if isinstance(tree, Leaf):
        for index, time_us in satisfied[tree.index]:
            yield frozenset((index,)), time_us, time_us
        return
    kind, children = tree.kind, tree.children
    if kind == "OR":
        yield from _distinct(b for c in children for b in _bindings(c, satisfied, span))
    elif kind in ("AND", "FOLLOWEDBY"):
        lefts = list(_distinct(_bindings(children[0], satisfied, span)))
        if not lefts:
            return
        ordered = kind == "FOLLOWEDBY"
        for right, r_lo, r_hi in _distinct(_bindings(children[1], satisfied, span)):
            for left, l_lo, l_hi in lefts:
                if ordered and l_hi > r_lo:
                    continue
                lo, hi = min(l_lo, r_lo), max(l_hi, r_hi)
                if (span is None or hi - lo <= span) and left.isdisjoint(right):
                    yield left | right, lo, hi
    elif kind == "WITHIN":
        inner = tree.span_us if span is None else min(span, tree.span_us)
        for binding in _bindings(children[0], satisfied, inner):
            if binding[2] - binding[1] <= tree.span_us:
                yield binding
    elif kind == "STARTSTOP":
        if tree.start_us < tree.stop_us:
            for binding in _bindings(children[0], satisfied, span):
                if tree.start_us <= binding[1] and binding[2] < tree.stop_us:
                    yield binding
    else:  # REPEATS
        yield from _repeats(
            list(_distinct(_bindings(children[0], satisfied, span))), tree.count, span
        )


def _repeats(items: list[Binding], count: int, span: int | None) -> Iterator[Binding]:
    """Unions of ``count`` pairwise disjoint bindings, searched depth first."""
    if count == 1:
        yield from items
        return
    # A quick bound: there must be enough distinct events for count disjoint bindings.
    smallest = min((len(b[0]) for b in items), default=0)
    events = frozenset().union(*(b[0] for b in items)) if items else frozenset()
    if not items or len(events) < count * smallest:
        return
    items.sort(key=lambda b: b[1])

    def extend(start: int, used: frozenset[int], lo: int, hi: int, left: int) -> Iterator[Binding]:
        if left == 0:
            yield used, lo, hi
            return
        for n in range(start, len(items)):
            ids, b_lo, b_hi = items[n]
            if span is not None and max(hi, b_hi) - min(lo, b_lo) > span:
                if b_lo - lo > span:
                    return  # sorted by start: every later item is further away
                continue
            if used.isdisjoint(ids):
                yield from extend(n + 1, used | ids, min(lo, b_lo), max(hi, b_hi), left - 1)

    for n, (ids, lo, hi) in enumerate(items):
        yield from extend(n + 1, ids, lo, hi, count - 1)


def find_binding(
    compiled: CompiledPattern,
    satisfied: Sequence[Sequence[tuple[int, int]]],
    must_include: int | None = None,
) -> frozenset[int] | None:
    """A binding of the whole pattern given, per observation expression, the (index, time)
    of the events that satisfy it; with ``must_include``, only a binding using that event."""
    for events, _, _ in _bindings(compiled.tree, satisfied, None):
        if must_include is None or must_include in events:
            return events
    return None


def matches(compiled: CompiledPattern, observations: Sequence[Observation]) -> bool:
    """Whether the pattern matches a set of observations (stix2-matcher's question)."""
    satisfied = [
        [(n, o.time_us) for n, o in enumerate(observations) if leaf.matches(o)]
        for leaf in compiled.leaves
    ]
    return find_binding(compiled, satisfied) is not None
