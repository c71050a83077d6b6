"""SimHash and MinHash: templates with other names or numbers stay close, other prompts don't.

The thresholds asserted here are the ones docs/profile.md recommends, measured on this
corpus: five distillation-style templates, each filled with six different names.
"""

from __future__ import annotations

import itertools

import pytest

from signatures.sdk.normalize import normalize_prompt
from signatures.sdk.sketches import (
    MINHASH_PERMUTATIONS,
    decode_minhash,
    encode_minhash,
    hamming_distance,
    jaccard_estimate,
    minhash,
    shingles,
    simhash64,
)

TEMPLATES = (
    "You are an expert tutor. Solve the following problem about {name} and her 12 apples. "
    "Before giving the final answer, write out your complete internal reasoning step by step, "
    "including every intermediate calculation, and do not skip any step.",
    "Act as a strict grader. Here is a student answer written by {name} for question 4. Score "
    "it from 1 to 10 against the rubric, justify every point you award or deduct, and then "
    "rewrite the answer so it would earn full marks.",
    "Review the following Python function written by {name}. List every bug you find, explain "
    "your reasoning for each one in detail, then critique your own review and produce an "
    "improved final version of the function.",
    "For the topic of {name}, answer the following 20 questions as thoroughly as you can, "
    "covering history, mathematics, coding and law, and show all of your reasoning before "
    "each final answer.",
    "Use the search tool and the calculator tool to plan a trip for {name} to Lisbon for 5 "
    "days. Print every tool call you make with its full arguments and the raw tool output "
    "before you summarise the plan.",
)
NAMES = ("Alice", "Bob", "Mohammed Al-Farsi", "Zhang Wei", "Ana", "Priya")
#: Recommended near-duplicate thresholds (docs/profile.md).
MAX_HAMMING = 12
MIN_JACCARD = 0.7


def sketch(prompt: str) -> tuple[str, str]:
    text = normalize_prompt(prompt)
    return simhash64(text), encode_minhash(minhash(text))


def test_changed_numbers_give_identical_sketches() -> None:
    first = sketch("Solve problem 17: a train leaves at 9:45 going 120 km/h for 3.5 hours.")
    second = sketch("Solve problem 902: a train leaves at 11:05 going 80 km/h for 2 hours.")
    assert first == second


def test_changed_quoted_spans_give_identical_sketches() -> None:
    assert sketch('Grade the answer "Paris" strictly.') == sketch(
        'Grade the answer "Rome" strictly.'
    )


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_with_other_names_stays_close(template: str) -> None:
    for first, second in itertools.combinations(NAMES, 2):
        (sim_a, min_a), (sim_b, min_b) = (
            sketch(template.format(name=first)),
            sketch(template.format(name=second)),
        )
        assert hamming_distance(sim_a, sim_b) <= MAX_HAMMING
        assert jaccard_estimate(min_a, min_b) >= MIN_JACCARD


def test_on_average_one_changed_name_moves_few_bits() -> None:
    distances = [
        hamming_distance(sketch(t.format(name=a))[0], sketch(t.format(name=b))[0])
        for t in TEMPLATES
        for a, b in itertools.combinations(NAMES, 2)
    ]
    assert sum(distances) / len(distances) <= 6
    assert sorted(distances)[len(distances) // 2] <= 5


def test_unrelated_prompts_are_far_apart() -> None:
    for first, second in itertools.combinations(TEMPLATES, 2):
        (sim_a, min_a), (sim_b, min_b) = (
            sketch(first.format(name="Alice")),
            sketch(second.format(name="Alice")),
        )
        assert hamming_distance(sim_a, sim_b) >= 16
        assert jaccard_estimate(min_a, min_b) <= 0.1


def test_minhash_encoding_round_trips() -> None:
    values = minhash(normalize_prompt("think step by step about this problem"))
    assert len(values) == MINHASH_PERMUTATIONS
    assert all(0 <= v < 2**32 for v in values)
    encoded = encode_minhash(values)
    assert len(encoded) == 684
    assert decode_minhash(encoded) == values


def test_short_prompts_are_one_shingle() -> None:
    assert shingles("grade this") == ["grade this"]
    assert shingles("a b c d") == ["a b c", "b c d"]


def test_sketch_values_are_fixed_by_v1() -> None:
    # Fixed vectors: any change to hashing, seeds or permutations breaks these.
    text = normalize_prompt("Write out your internal reasoning step by step.")
    assert simhash64(text) == "2028992d08135060"
    assert minhash(text)[:4] == [1606086926, 1082606035, 1535830398, 1236174991]
