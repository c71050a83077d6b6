"""The scenario file: every parameter of a run, read from TOML (docs/collective-detection.md).

A key the simulation does not know is refused with its name, so that a typo in a scenario
cannot silently fall back to a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_SCENARIO = Path(__file__).with_name("scenario.toml")
#: Signal kinds a lab detects on and shares: payment card, /24 source range, prompt, cadence.
KINDS = ("card", "range", "prompt", "timing")


class ScenarioError(ValueError):
    """The scenario file is malformed (the message names the key)."""


@dataclass(frozen=True)
class Thresholds:
    """A lab's own local detection: distinct suspicious accounts per value in the window."""

    window_hours: float
    accounts_per_card: int
    accounts_per_range: int
    accounts_per_prompt: int
    #: Only accounts younger than this, and not verified by the lab, are suspicious...
    max_account_age_days: float
    #: ...and only when machine-regular: at least min_requests in the window, intervals'
    #: coefficient of variation below max_interval_cv.
    max_interval_cv: float
    min_requests: int

    def for_kind(self, kind: str) -> int:
        return int(getattr(self, f"accounts_per_{kind}"))


@dataclass(frozen=True)
class LabSpec:
    name: str
    campaign_share: float
    ordinary_users: int
    thresholds: Thresholds


@dataclass(frozen=True)
class Template:
    technique: str
    variants: tuple[str, ...]


@dataclass(frozen=True)
class Campaign:
    accounts: int
    requests_per_account: int
    cadence_seconds: float
    cadence_cv: float
    release_share: float
    signup_days: float
    proxy_ranges: int
    ranges_per_generation: int
    cards: int
    billing_every: int
    rotate_cooldown_minutes: float
    names: tuple[str, ...]
    templates: tuple[Template, ...]


@dataclass(frozen=True)
class HeavyKind:
    kind: str
    orgs_per_lab: int
    keys: tuple[int, int]
    requests_per_hour: float
    interval_cv: float
    new_share: float
    verified_share: float
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class Benign:
    ordinary_requests_per_hour: float
    proxy_share: float
    new_share: float
    prompts: tuple[str, ...]
    heavy: tuple[HeavyKind, ...]


@dataclass(frozen=True)
class Pooling:
    watch_at: float
    corroborated_factor: float
    weights: dict[str, float]


@dataclass(frozen=True)
class Scenario:
    start: datetime
    days: float
    release_hours: float
    check_every_minutes: float
    sharing_key: str
    campaign: Campaign
    benign: Benign
    pooling: Pooling
    labs: tuple[LabSpec, ...]


def _make(cls: type[Any], data: Any, where: str, **converted: Any) -> Any:
    """``cls(**data)`` with the keys checked: none unknown, none missing."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{where} must be a table")
    names = {f.name for f in fields(cls)}
    if unknown := sorted(set(data) - names):
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")
    values = {**data, **converted}
    if missing := sorted(names - set(values)):
        raise ScenarioError(f"{where}: missing key(s) {', '.join(missing)}")
    return cls(**values)


def _tuple(data: dict[str, Any], key: str, where: str) -> tuple[Any, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ScenarioError(f"{where}.{key} must be a non-empty list")
    return tuple(value)


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """A Scenario from the parsed TOML document."""
    if unknown := sorted(set(data) - {"simulation", "campaign", "benign", "pooling", "labs"}):
        raise ScenarioError(f"unknown table(s) {', '.join(unknown)}")
    campaign = dict(data.get("campaign", {}))
    templates = tuple(
        _make(Template, t, f"campaign.templates[{n}]", variants=_tuple(t, "variants", "template"))
        for n, t in enumerate(campaign.get("templates", []))
    )
    benign = dict(data.get("benign", {}))
    heavy = tuple(
        _make(
            HeavyKind,
            h,
            f"benign.heavy[{n}]",
            keys=tuple(_tuple(h, "keys", f"benign.heavy[{n}]")),
            prompts=_tuple(h, "prompts", f"benign.heavy[{n}]"),
        )
        for n, h in enumerate(benign.get("heavy", []))
    )
    labs = tuple(
        _make(
            LabSpec,
            lab,
            f"labs[{n}]",
            thresholds=_make(Thresholds, lab.get("thresholds"), f"labs[{n}].thresholds"),
        )
        for n, lab in enumerate(data.get("labs", []))
    )
    if not labs:
        raise ScenarioError("a scenario needs at least one lab")
    pooling = _make(Pooling, data.get("pooling"), "pooling")
    if unknown := sorted(set(pooling.weights) - set(KINDS)):
        raise ScenarioError(f"pooling.weights: unknown kind(s) {', '.join(unknown)}")
    simulation = dict(data.get("simulation", {}))
    start = simulation.get("start")
    try:
        start = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
    except ValueError:
        raise ScenarioError(f"simulation.start {start!r} is not an ISO 8601 time") from None
    if start.tzinfo is None:
        raise ScenarioError("simulation.start needs a time zone")
    scenario: Scenario = _make(
        Scenario,
        simulation,
        "simulation",
        start=start,
        campaign=_make(
            Campaign,
            campaign,
            "campaign",
            names=_tuple(campaign, "names", "campaign"),
            templates=templates,
        ),
        benign=_make(
            Benign, benign, "benign", prompts=_tuple(benign, "prompts", "benign"), heavy=heavy
        ),
        pooling=pooling,
        labs=labs,
    )
    return scenario


def load_scenario(path: Path) -> Scenario:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    return scenario_from_dict(data)
