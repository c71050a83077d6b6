"""demo_traffic: a lab's API traffic, as JSON Lines events for ``isac-detect``.

Mostly benign requests, with the demo campaign (``signatures.demo``, HYDRA-2611) mixed in:
requests from the farm's egress ranges and, now and then, its staging range, the
harvesting prompts with their numbers changed, payments with its prepaid cards, and one
account requesting at the farm's machine-regular cadence. Seeded, so every run writes the
same file. docs/detection.md walks through what ``isac-detect`` finds in it.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from signatures import demo

#: Benign prompts: ordinary product use that no signature should flag.
BENIGN_PROMPTS = (
    "Summarise this meeting transcript in five bullet points for the team.",
    "Translate the following paragraph into French, keeping a formal tone.",
    "Write a unit test for a function that parses ISO 8601 dates.",
    "Suggest three names for a bakery that specialises in sourdough.",
)
#: The start of the demo traffic: the day after the campaign's model release.
START = datetime(2026, 11, 18, 9, 0, tzinfo=UTC).timestamp()


def traffic(events: int, seed: int) -> list[dict[str, Any]]:
    """``events`` benign and campaign requests in time order (about one in ten campaign)."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for n in range(events):
        record: dict[str, Any] = {
            "event_id": f"evt-{n:06d}",
            "time": round(START + n * 0.5, 3),
            "account_id": f"user-{rng.randrange(5000):05d}",
            # Carrier-grade NAT space (RFC 6598): ordinary users behind mobile carriers.
            "source_ip": f"100.{rng.randrange(64, 128)}.{rng.randrange(256)}.{rng.randrange(256)}",
            "model": "frontier-1",
            "tokens_in": rng.randrange(50, 900),
            "tokens_out": rng.randrange(50, 1500),
        }
        if rng.random() < 0.2:
            record["prompt"] = rng.choice(BENIGN_PROMPTS)
        kind = n % 40
        if kind == 7:  # the farm's egress ranges
            record["source_ip"] = rng.choice(demo.AURORA_EGRESS)
            record["account_id"] = f"acct-{rng.randrange(24):04d}"
        elif kind == 17:  # a harvesting template, its numbers changed
            text = rng.choice(demo.AURORA_PROMPTS)[0]
            record["prompt"] = text.replace("4417", str(rng.randrange(1000, 9999)))
        elif kind == 27:  # a prepaid card of the farm
            record["card_number"] = rng.choice(demo.BOREALIS_CARDS)
        elif kind == 37 and n % 400 == 37:  # now and then, Cirrus's TLP:RED staging range
            record["source_ip"] = f"192.0.2.{rng.randrange(64, 128)}"
        records.append(record)
    # One account at the farm's cadence: a request every 3.6 s for an hour and a half.
    records += [
        {
            "event_id": f"evt-farm-{n:05d}",
            "time": round(START + 3.6 * n + (n % 7) * 0.013, 3),
            "account_id": "acct-cadence-0001",
            "source_ip": "100.70.1.1",
            "model": "frontier-1",
            "tokens_in": 3100 + (n % 11) * 17,
            "tokens_out": 900,
        }
        for n in range(1500)
    ]
    return sorted(records, key=lambda record: record["time"])


class Command(BaseCommand):
    help = "Write demo API traffic (JSON Lines events) for isac-detect."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default="-", help="file to write; - for stdout")
        parser.add_argument("--events", type=int, default=4000, help="benign-mix events")
        parser.add_argument("--seed", type=int, default=2611)

    def handle(self, *args: Any, **options: Any) -> None:
        lines = "".join(
            json.dumps(record, separators=(",", ":")) + "\n"
            for record in traffic(options["events"], options["seed"])
        )
        if options["out"] == "-":
            self.stdout.write(lines, ending="")
        else:
            Path(options["out"]).write_text(lines, encoding="utf-8")
            self.stderr.write(f"wrote {lines.count(chr(10))} events to {options['out']}")
