"""TLP 2.0 levels and their order: the one home of both.

The sharing policy (``signatures.selectors``), the fan-out's per-subscription ceiling and the
analyst console all rank levels through :func:`tlp_rank`, so an unmarked object is treated
the same way everywhere: as TLP:AMBER (docs/sharing-policy.md).
"""

from __future__ import annotations

from typing import Final

from django.db import models

from signatures.sdk.constants import TLP2_LEVELS


class TlpLevel(models.TextChoices):
    """TLP 2.0 levels, least to most restrictive; "" stands for an unmarked object."""

    UNMARKED = "", "unmarked"
    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


#: An unmarked object is shared as TLP:AMBER: with the readers of its collection, who were
#: granted it on purpose, and no further. Treating it as CLEAR would let an object its
#: publisher forgot to mark travel as widely as one it chose to make public.
UNMARKED_IS: Final = TlpLevel.AMBER

#: The order of the official markings (signatures/sdk/constants.py), least restrictive first.
_RANK: Final = {level: rank for rank, level in enumerate(TLP2_LEVELS.values())}

#: A subscription's TLP ceiling: the most restrictive level it accepts ("" accepts all).
TLP_CEILING_CHOICES: Final = [
    ("", "no ceiling"),
    *((level.value, level.label) for level in TlpLevel if level.value),
]


def tlp_rank(level: str) -> int:
    """How restrictive ``level`` is (0 for TLP:CLEAR); unmarked ranks as UNMARKED_IS."""
    return _RANK[level or UNMARKED_IS]


def tlp_levels_within(ceiling: str) -> list[str]:
    """Every level (unmarked included, as UNMARKED_IS) no more restrictive than ``ceiling``."""
    return [level for level in TlpLevel.values if tlp_rank(level) <= tlp_rank(ceiling)]
