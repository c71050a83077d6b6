"""``python -m bench.collective``: run a scenario isolated, pooled, or both, and write the
table (``table.txt``), the numbers (``results.json``), every flagged account with its
reasons (``flagged.jsonl``) and the plot (``answered.png``) to ``--out``.

Pooled mode starts the exchange (gunicorn and a Celery worker on 127.0.0.1) over the
database and broker of the environment; give it a scratch database and a broker database no
other worker consumes:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/collective \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 DATA_DIR=/tmp/collective \\
      .venv/bin/python -m bench.collective --seed 1 --out var/collective
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .exchange import live_exchange
from .report import goals, plot, table
from .scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario
from .simulation import RunResult, simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.collective", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", choices=("isolated", "pooled", "both"), default="both")
    parser.add_argument("--out", type=Path, default=Path("var/collective"))
    parser.add_argument(
        "--poll",
        action="store_true",
        help="pooled: deliver by TAXII polling instead of webhook push",
    )
    args = parser.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ScenarioError) as exc:
        print(f"python -m bench.collective: {exc}", file=sys.stderr)
        return 2
    runs: list[RunResult] = []
    if args.mode in ("isolated", "both"):
        runs.append(simulate(scenario, args.seed))
    if args.mode in ("pooled", "both"):
        with live_exchange([lab.name for lab in scenario.labs], push=not args.poll) as exchange:
            runs.append(simulate(scenario, args.seed, exchange))
    out = args.out / f"seed-{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    report = table(runs)
    if len(runs) == 2:
        report += "\n\n" + goals(runs[0], runs[1])
    (out / "table.txt").write_text(report + "\n", encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps([run.as_dict() for run in runs], indent=2) + "\n", encoding="utf-8"
    )
    with (out / "flagged.jsonl").open("w", encoding="utf-8") as flagged:
        for run in runs:
            for lab, account, kind, reasons in run.flagged:
                record = {"mode": run.mode, "lab": lab, "account": account, "kind": kind}
                flagged.write(json.dumps({**record, "reasons": reasons}) + "\n")
    plot(runs, out / "answered.png", scenario.release_hours)
    print(f"scenario {args.scenario}, seed {args.seed}\n\n{report}\n\nwritten to {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
