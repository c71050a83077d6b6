"""Similarity sketches of normalised prompts: a 64-bit SimHash and a MinHash signature.

STIX patterns can only compare exact values, so near-duplicate matching travels as
data: two prompts built from the same template give close sketches even when the
filled-in names differ. Both work on the v1-normalised text split at spaces: the
SimHash over its words (BLAKE2b, 8-byte digest, each occurrence counted; one changed
word moves it least), the MinHash over its set of word 3-shingles (SHAKE128; order-
aware, a good Jaccard estimator). All parameters are fixed by normalisation version
v1; changing any of them needs v2.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence

SHINGLE_WORDS = 3
MINHASH_PERMUTATIONS = 128
#: Prefixes every shingle before hashing; part of v1, like the other constants here.
MINHASH_SEED = b"ai-isac-minhash-v1\x00"
_MINHASH_FORMAT = f">{MINHASH_PERMUTATIONS}I"


def _hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


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
    """Charikar's SimHash of the words, each occurrence counted, as 16 hex digits.

    Bit ``i`` (0 = least significant) is set when more than half of the word
    occurrences have bit ``i`` set in their hash.
    """
    words = normalized_text.split(" ")
    rows = [f"{_hash64(word.encode('utf-8')):064b}" for word in words]
    # Column j of the bit strings is bit 63 - j; counting in C keeps this fast.
    bits = "".join(
        "1" if column.count("1") * 2 > len(rows) else "0" for column in zip(*rows, strict=True)
    )
    return f"{int(bits, 2):016x}"


def minhash(normalized_text: str) -> list[int]:
    """128 values: position ``i`` is the least, over the shingles, of the ``i``-th
    big-endian 32-bit word of SHAKE128(MINHASH_SEED + shingle) read to 512 bytes.

    Each position is thus an independent hash function, and a reimplementation needs
    nothing but SHAKE128.
    """
    rows = [
        struct.unpack(
            _MINHASH_FORMAT,
            hashlib.shake_128(MINHASH_SEED + s.encode("utf-8")).digest(4 * MINHASH_PERMUTATIONS),
        )
        for s in shingles(normalized_text)
    ]
    return list(map(min, zip(*rows, strict=True)))


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
