"""Similarity sketches of normalised prompts: a 64-bit SimHash and a MinHash signature.

STIX patterns can only compare exact values, so near-duplicate matching travels as
data: two prompts built from the same template give close sketches even when the
filled-in names differ. Both work on the v1-normalised text split at spaces, each
feature hashed with BLAKE2b (8-byte digest): the SimHash over words weighted by their
count (one changed word moves it least), the MinHash over the set of word 3-shingles
(order-aware, a good Jaccard estimator). All parameters are fixed by normalisation
version v1; changing any of them needs v2.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections import Counter
from collections.abc import Sequence

SHINGLE_WORDS = 3
MINHASH_PERMUTATIONS = 128
#: Seeds the MinHash permutations; part of v1, like the other constants here.
MINHASH_SEED = b"ai-isac-minhash-v1"
# Universal hashing h(x) = (a*x + b) mod p over the Mersenne prime 2^61 - 1, truncated
# to 32 bits: cheap in Python integers and close to min-wise independent.
_MERSENNE_61 = (1 << 61) - 1
_MASK_32 = 0xFFFFFFFF


def _hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _permutation(index: int) -> tuple[int, int]:
    a = _hash64(MINHASH_SEED + b":a:" + str(index).encode()) % (_MERSENNE_61 - 1) + 1
    b = _hash64(MINHASH_SEED + b":b:" + str(index).encode()) % _MERSENNE_61
    return a, b


_PERMUTATIONS = tuple(_permutation(i) for i in range(MINHASH_PERMUTATIONS))


def shingles(normalized_text: str) -> list[str]:
    """The distinct word 3-shingles of a normalised text, in first-seen order.

    A text of fewer than three words is one shingle (the whole text), so every
    non-empty prompt has at least one feature.
    """
    words = normalized_text.split(" ")
    if len(words) <= SHINGLE_WORDS:
        return [normalized_text]
    grams = (" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - 2))
    return list(dict.fromkeys(grams))


def simhash64(normalized_text: str) -> str:
    """Charikar's SimHash of the words, each weighted by its count, as 16 hex digits.

    Bit ``i`` (0 = least significant) is set when the words with bit ``i`` set in their
    hash outweigh those with it clear; a tie leaves it clear.
    """
    weights = Counter(_hash64(word.encode("utf-8")) for word in normalized_text.split(" "))
    half = sum(weights.values()) / 2
    fingerprint = 0
    for bit in range(64):
        if sum(count for feature, count in weights.items() if (feature >> bit) & 1) > half:
            fingerprint |= 1 << bit
    return f"{fingerprint:016x}"


def minhash(normalized_text: str) -> list[int]:
    """128 values: per permutation, the least ``(a*x + b) mod (2^61 - 1)`` over the
    shingle hashes ``x``, keeping its low 32 bits."""
    features = [_hash64(s.encode("utf-8")) for s in shingles(normalized_text)]
    return [min((a * x + b) % _MERSENNE_61 for x in features) & _MASK_32 for a, b in _PERMUTATIONS]


def encode_minhash(values: Sequence[int]) -> str:
    """Standard base64 of the values as unsigned 32-bit big-endian integers."""
    return base64.b64encode(struct.pack(f">{len(values)}I", *values)).decode("ascii")


def decode_minhash(encoded: str) -> list[int]:
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) % 4:
        raise ValueError("a MinHash signature is a whole number of 32-bit values")
    return list(struct.unpack(f">{len(raw) // 4}I", raw))


def hamming_distance(simhash_a: str, simhash_b: str) -> int:
    """Number of differing bits between two hex SimHashes."""
    return (int(simhash_a, 16) ^ int(simhash_b, 16)).bit_count()


def jaccard_estimate(minhash_a: str, minhash_b: str) -> float:
    """Share of equal positions between two encoded MinHash signatures."""
    a, b = decode_minhash(minhash_a), decode_minhash(minhash_b)
    if len(a) != len(b):
        raise ValueError("MinHash signatures of different lengths cannot be compared")
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
