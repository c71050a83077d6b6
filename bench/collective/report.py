"""The run's output: a table per lab and mode, the goals, and the plot of each lab's
cumulative campaign exchanges answered over simulated time, isolated against pooled."""

from __future__ import annotations

from pathlib import Path

from .simulation import LabRow, RunResult

#: Goals of the issue, on the default scenario.
GOAL_REDUCTION = 10.0
GOAL_PROTECTED_S = 300.0
GOAL_HEAVY_SHARE = 0.001

_COLUMNS = (
    ("lab", 9),
    ("mode", 9),
    ("recall", 16),
    ("first det. h", 12),
    ("all-labs +h", 11),
    ("answered", 9),
    ("ordinary fl.", 12),
    ("heavy fl.", 10),
    ("bytes out/in", 15),
)


def _hours(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def _row(row: LabRow) -> list[str]:
    return [
        row["lab"],
        row["mode"],
        f"{row['detected']}/{row['campaign_accounts']} {row['recall']:.0%}",
        _hours(row["first_detection_h"]),
        _hours(row["protected_after_h"]),
        f"{row['campaign_answered']:,}",
        f"{row['ordinary_flagged']}/{row['ordinary_accounts']}",
        f"{row['heavy_flagged']}/{row['heavy_accounts']}",
        f"{row['bytes_out']:,}/{row['bytes_in']:,}",
    ]


def table(runs: list[RunResult]) -> str:
    lines = ["  ".join(name.rjust(width) for name, width in _COLUMNS)]
    rows = sorted((r for run in runs for r in run.rows), key=lambda r: (r["lab"], r["mode"]))
    lines += [
        "  ".join(cell.rjust(width) for cell, (_, width) in zip(_row(r), _COLUMNS, strict=True))
        for r in rows
    ]
    for run in runs:
        line = (
            f"{run.mode}: first detection anywhere {_hours(run.first_detection_h)} h "
            "after the campaign started"
        )
        if run.mode == "pooled" and run.latencies_s:
            ordered = sorted(run.latencies_s)
            line += (
                f"; exchange latency (publish -> every other lab loaded it, real time) "
                f"first detection {run.first_latency_s or 0:.2f} s, median "
                f"{ordered[len(ordered) // 2]:.2f} s, max {ordered[-1]:.2f} s over "
                f"{len(ordered)} publications"
            )
        lines.append(line)
    return "\n".join(lines)


def goals(isolated: RunResult, pooled: RunResult) -> str:
    """Each goal of the issue, met or not, with the numbers."""
    lines = []
    by_lab = {r["lab"]: r for r in isolated.rows}
    for row in pooled.rows:
        alone = by_lab[row["lab"]]["campaign_answered"]
        ratio = alone / row["campaign_answered"] if row["campaign_answered"] else float("inf")
        verdict = "met" if ratio >= GOAL_REDUCTION else "not met"
        lines.append(
            f"{row['lab']}: {alone:,} campaign exchanges answered isolated, "
            f"{row['campaign_answered']:,} pooled: {ratio:.1f}x fewer ({verdict}, goal 10x)"
        )
    first = pooled.first_latency_s
    verdict = "met" if first is not None and first < GOAL_PROTECTED_S else "not met"
    lines.append(
        f"every lab holds the first detection's indicators "
        f"{'-' if first is None else f'{first:.2f}'} s (real) after it was published "
        f"({verdict}, goal < 300 s)"
    )
    heavy = sum(r["heavy_flagged"] for r in pooled.rows)
    population = sum(r["heavy_accounts"] for r in pooled.rows)
    share = heavy / population if population else 0.0
    verdict = "met" if share <= GOAL_HEAVY_SHARE else "not met"
    lines.append(
        f"heavy legitimate users flagged (pooled): {heavy}/{population} = {share:.2%} "
        f"({verdict}, goal <= 0.1 %)"
    )
    return "\n".join(lines)


def plot(runs: list[RunResult], path: Path, release_h: float) -> None:
    """One line per lab and mode: solid pooled, dashed isolated."""
    import matplotlib

    matplotlib.use("Agg")  # no display: the run writes a file
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(9, 5))
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")
    labs = sorted({lab for run in runs for lab in run.series})
    for run in runs:
        for n, lab in enumerate(labs):
            points = run.series.get(lab, [])
            axes.plot(
                [h for h, _ in points],
                [count for _, count in points],
                color=colours[n % len(colours)],
                linestyle="-" if run.mode == "pooled" else "--",
                label=f"{lab} ({run.mode})",
            )
    axes.axvline(release_h, color="grey", linewidth=0.8)
    axes.annotate("model release", (release_h, 0), textcoords="offset points", xytext=(4, 4))
    axes.set_xlabel("simulated hours")
    axes.set_ylabel("campaign exchanges answered (cumulative)")
    axes.set_title(f"Campaign traffic answered per lab, seed {runs[0].seed}")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
