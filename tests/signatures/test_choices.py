"""The TLP levels' one order (signatures/choices.py), unmarked objects included."""

from __future__ import annotations

import pytest

from signatures.choices import TLP_CEILING_CHOICES, TlpLevel, tlp_levels_within, tlp_rank


def test_it_ranks_the_official_levels_least_restrictive_first() -> None:
    ranks = [tlp_rank(level) for level in ("clear", "green", "amber", "amber+strict", "red")]
    assert ranks == sorted(ranks) and len(set(ranks)) == 5


def test_it_ranks_an_unmarked_object_as_amber() -> None:
    assert tlp_rank(TlpLevel.UNMARKED) == tlp_rank(TlpLevel.AMBER)


@pytest.mark.parametrize(
    ("ceiling", "within"),
    [
        ("clear", {"clear"}),
        ("green", {"clear", "green"}),
        ("amber", {"clear", "green", "amber", ""}),
        ("amber+strict", {"clear", "green", "amber", "", "amber+strict"}),
        ("red", set(TlpLevel.values)),
    ],
)
def test_it_lists_the_levels_within_a_ceiling(ceiling: str, within: set[str]) -> None:
    assert set(tlp_levels_within(ceiling)) == within


def test_it_offers_every_level_and_no_ceiling_to_subscriptions() -> None:
    assert [value for value, _ in TLP_CEILING_CHOICES] == ["", *TlpLevel.values[1:]]
