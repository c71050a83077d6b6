"""The flat STIX 2.1 patterns signatures are made of, read without the ANTLR grammar.

Nearly every distillation signature is one observation, or a few joined by AND, OR or
FOLLOWEDBY, each holding comparisons of a property with a string or a number:
``[ipv4-addr:value ISSUBSET '203.0.113.0/24']``. The reference parser (stix2patterns,
an ANTLR grammar run in pure Python) takes about half a millisecond for one of these,
which bounds how fast a bundle can be checked. This module recognises that flat shape
with one regular expression per token and returns the same inspection the reference
parser would (``Pattern(p).inspect().comparisons``).

It only ever *vouches*: a pattern it returns comparisons for is one the reference
grammar accepts, with the same comparisons. Anything else (qualifiers, parentheses,
sets, booleans, binary/hex/timestamp literals, comments, whitespace other than spaces,
``hashes`` paths, which the reference validator checks further) gives ``None``, and the
caller asks the reference parser, whose verdict and messages then stand. The
differential tests in tests/signatures/sdk/test_flat_patterns.py hold it to that.
"""

from __future__ import annotations

import functools
import re
from typing import Final

#: (object path steps, operator as the reference inspector writes it, literal as sent)
Comparison = tuple[list[str | int], str, str]

# Tokens, in the reference lexer's own terms (STIXPattern.g4). Identifiers are kept to
# lower case: the lexer reads upper-case keywords (AND, LIKE, ...) before identifiers,
# and "true"/"false" (BoolLiteral) are refused below. A key step after "." must be an
# identifier without a hyphen; an object type may have one. A number must not run into
# a letter, digit, dot or quote, which the lexer would read as another token.
_TOKEN: Final = re.compile(
    r"""
     (?P<space>\ +)
    |(?P<string>'(?:[^'\\]|\\['\\])*')
    |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)(?![0-9A-Za-z_.'])
    |(?P<path>
        (?P<type>[a-z][a-z0-9-]*[a-z0-9]):
        (?P<steps>[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*|\[(?:0|[1-9][0-9]*|\*)\])*)
     )(?![A-Za-z0-9_'-])
    |(?P<word>AND|OR|FOLLOWEDBY|NOT|LIKE|MATCHES|ISSUBSET|ISSUPERSET)(?![A-Za-z0-9_-])
    |(?P<operator>!=|<=|>=|=|<|>)
    |(?P<open>\[)
    |(?P<close>\])
    """,
    re.VERBOSE | re.ASCII,
)
_STEP: Final = re.compile(
    r"\.([a-z_][a-z0-9_]*)|\[(0|[1-9][0-9]*|\*)\]|([a-z_][a-z0-9_]*)", re.ASCII
)
_STRING_OPERATORS: Final = frozenset({"LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"})
_JOINERS: Final = frozenset({"AND", "OR"})
_OBSERVATION_JOINERS: Final = frozenset({"AND", "OR", "FOLLOWEDBY"})
_BOOLEANS: Final = frozenset({"true", "false"})
#: The longest pattern read here; longer ones go to the reference parser.
MAX_FLAT_PATTERN: Final = 4096


@functools.lru_cache(maxsize=8192)
def flat_comparisons(pattern: str) -> dict[str, list[Comparison]] | None:
    """The comparisons of a flat pattern by object type, in the reference inspector's
    form, or ``None`` when the pattern is not flat (ask the reference parser)."""
    if len(pattern) > MAX_FLAT_PATTERN:
        return None
    tokens = []
    position = 0
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if match is None:
            return None
        position = match.end()
        if match.lastgroup != "space":
            tokens.append(match)
    return _read(tokens)


def _read(tokens: list[re.Match[str]]) -> dict[str, list[Comparison]] | None:
    comparisons: dict[str, list[Comparison]] = {}
    index = 0
    count = len(tokens)
    while True:  # one observation per turn
        if index >= count or tokens[index].lastgroup != "open":
            return None
        index += 1
        while True:  # one comparison per turn
            if index + 2 >= count or tokens[index].lastgroup != "path":
                return None
            path = tokens[index]
            steps = _steps(path["steps"])
            if steps is None or path["type"] in _BOOLEANS:
                return None
            index += 1
            negated = tokens[index].lastgroup == "word" and tokens[index][0] == "NOT"
            if negated:
                index += 1
                if index + 1 >= count:
                    return None
            operator = tokens[index]
            literal = tokens[index + 1]
            if operator.lastgroup == "operator":
                if literal.lastgroup not in ("string", "number"):
                    return None
            elif operator.lastgroup == "word" and operator[0] in _STRING_OPERATORS:
                if literal.lastgroup != "string":
                    return None
            else:
                return None
            text = f"NOT {operator[0]}" if negated else operator[0]
            comparisons.setdefault(path["type"], []).append((steps, text, literal[0]))
            index += 2
            if index < count and tokens[index].lastgroup == "word" and tokens[index][0] in _JOINERS:
                index += 1
                continue
            break
        if index >= count or tokens[index].lastgroup != "close":
            return None
        index += 1
        if index == count:
            return comparisons
        joiner = tokens[index]
        if joiner.lastgroup != "word" or joiner[0] not in _OBSERVATION_JOINERS:
            return None
        index += 1


def _steps(text: str) -> list[str | int] | None:
    steps: list[str | int] = []
    for match in _STEP.finditer(text):
        name = match[1] or match[3]
        if name is not None:
            if name in _BOOLEANS or name == "hashes":
                # "hashes" paths get a further check of the hash value by the reference
                # validator (stix2patterns' object_validator); it makes that check itself.
                return None
            steps.append(name)
        elif match[2] == "*":
            return None  # the reference inspector marks it with a private sentinel
        else:
            steps.append(int(match[2]))
    return steps
