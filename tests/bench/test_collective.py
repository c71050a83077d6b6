"""The collective-detection simulation (bench/collective) on a small scenario: the direction
of the result, isolated against pooled through a live exchange, never its timings."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from bench.collective.exchange import ExchangeTransport
from bench.collective.scenario import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    scenario_from_dict,
)
from bench.collective.simulation import RunResult, simulate
from tests.factories import MemberFactory, token_for
from tests.signatures.sdk.detect.exchange_live import live

__all__ = ["live"]

SEED = 7


def small(**simulation: Any) -> dict[str, Any]:
    """The default scenario scaled down to a few thousand requests."""
    data = tomllib.loads(DEFAULT_SCENARIO.read_text(encoding="utf-8"))
    data["simulation"].update(days=2.0, release_hours=24.0, check_every_minutes=60, **simulation)
    data["campaign"].update(accounts=300, requests_per_account=12, proxy_ranges=60, cards=4)
    data["campaign"]["ranges_per_generation"] = 6
    data["benign"]["ordinary_requests_per_hour"] = 0.1
    for heavy in data["benign"]["heavy"]:
        heavy["orgs_per_lab"] = 1
        heavy["requests_per_hour"] = min(heavy["requests_per_hour"], 4)
    # Each lab's own thresholds, scaled with the farm (about 1/8 of the default's).
    for lab, card in zip(data["labs"], (9, 7, 5), strict=True):
        lab["ordinary_users"] = 60
        lab["thresholds"].update(
            accounts_per_card=card, accounts_per_range=card, accounts_per_prompt=card
        )
    return data


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return scenario_from_dict(small())


def assert_every_flag_has_a_reason(run: RunResult) -> None:
    assert run.flagged, "nothing was flagged"
    for lab, account, _, reasons in run.flagged:
        assert reasons and all(reason.strip() for reason in reasons), (lab, account)


def test_it_reproduces_a_run_from_its_seed(scenario: Scenario) -> None:
    first, again, other = simulate(scenario, SEED), simulate(scenario, SEED), simulate(scenario, 8)

    assert again.rows == first.rows and again.series == first.series
    assert other.series != first.series


def test_it_refuses_a_scenario_key_it_does_not_know() -> None:
    data = small()
    data["campaign"]["acounts"] = 10

    with pytest.raises(ScenarioError, match=r"campaign: unknown key\(s\) acounts"):
        scenario_from_dict(data)


def test_it_refuses_a_weight_for_an_unknown_signal() -> None:
    data = small()
    data["pooling"]["weights"]["email"] = 1.0

    with pytest.raises(ScenarioError, match=r"pooling\.weights: unknown kind"):
        scenario_from_dict(data)


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_catches_through_the_exchange_campaign_accounts_isolated_labs_miss(
    live: str, scenario: Scenario, forum: Any
) -> None:
    members = {lab.name: MemberFactory(name=lab.name, kind="lab") for lab in scenario.labs}
    exchange = ExchangeTransport(
        url=live,
        tokens={name: token_for(member, "read", "publish") for name, member in members.items()},
        identities={name: member.identity_id for name, member in members.items()},
        push=False,  # TAXII polling: the test server has no Celery worker
    )

    isolated = simulate(scenario, SEED)
    pooled = simulate(scenario, SEED, exchange)

    alone = {row["lab"]: row for row in isolated.rows}
    for row in pooled.rows:
        assert row["recall"] >= alone[row["lab"]]["recall"], row["lab"]
        assert row["campaign_answered"] <= alone[row["lab"]]["campaign_answered"], row["lab"]
    missed_alone = [r for r in pooled.rows if r["detected"] > alone[r["lab"]]["detected"]]
    assert missed_alone, "pooling caught no account that the isolated labs missed"
    # What pooled caught travelled through the exchange: every lab received indicators.
    assert all(row["bytes_in"] > 0 for row in pooled.rows)
    assert pooled.latencies_s
    assert_every_flag_has_a_reason(isolated)
    assert_every_flag_has_a_reason(pooled)
