"""The simulation loop: every account's requests in simulated time order, each lab's checks,
the campaign's surge and rotation, and what each lab got and gave away.

Simulated time runs as fast as the labs can process it. In pooled mode a publication goes
through the real exchange while the simulated clock waits, and its measured real latency is
added to the simulated time at which the indicator applies at each receiving lab.
"""

from __future__ import annotations

import heapq
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

from .lab import Lab, StixObject, stix_bytes
from .scenario import Scenario
from .traffic import HOUR_US, Account, Farm, benign_accounts, benign_next, benign_request

HEAVY = "heavy"


class Transport(Protocol):
    """Carries one lab's indicators to the others (the exchange)."""

    def identity(self, lab: str) -> str: ...

    def attach(self, labs: list[Lab]) -> None: ...

    def publish(self, lab: Lab, objects: list[StixObject]) -> dict[str, float]:
        """Publish, wait until every other lab's feed applied them; seconds per lab."""
        ...

    def close(self) -> None: ...


class LabRow(TypedDict):
    lab: str
    mode: str
    campaign_accounts: int
    detected: int
    recall: float
    first_detection_h: float | None
    protected_after_h: float | None
    campaign_answered: int
    ordinary_flagged: int
    ordinary_accounts: int
    heavy_flagged: int
    heavy_accounts: int
    bytes_out: int
    bytes_in: int


@dataclass
class RunResult:
    mode: str
    seed: int
    rows: list[LabRow]
    #: Lab -> (simulated hours since the start, campaign exchanges answered so far).
    series: dict[str, list[tuple[float, int]]]
    #: Every flagged account: lab, account, kind, reasons.
    flagged: list[tuple[str, str, str, list[str]]]
    #: Real seconds from each publication until every other lab applied it.
    latencies_s: list[float] = field(default_factory=list)
    #: The same, for the first blocking publication (the first detection anywhere).
    first_latency_s: float | None = None
    campaign_start_h: float = 0.0
    first_detection_h: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "seed": self.seed,
            "rows": self.rows,
            "latencies_s": self.latencies_s,
            "first_latency_s": self.first_latency_s,
            "first_detection_h": self.first_detection_h,
        }


def isolated_identity(lab: str) -> str:
    return f"identity--{uuid.uuid5(uuid.NAMESPACE_URL, f'collective/{lab}')}"


def simulate(scenario: Scenario, seed: int, transport: Transport | None = None) -> RunResult:
    """Run the scenario once: isolated without a transport, pooled through it."""
    mode = "isolated" if transport is None else "pooled"
    start_us = round(scenario.start.timestamp() * 1_000_000)
    end_us = start_us + round(scenario.days * 24 * HOUR_US)
    tick_us = round(scenario.check_every_minutes * 60_000_000)
    # Separate streams, so that the benign traffic is the same in both modes whatever the
    # campaign does in reaction to blocks.
    farm = Farm(scenario, random.Random(f"{seed}/campaign"), start_us)
    benign_rng = random.Random(f"{seed}/benign")
    benign = benign_accounts(scenario, benign_rng, start_us, farm)
    key = scenario.sharing_key.encode()
    result = RunResult(mode=mode, seed=seed, rows=[], series={}, flagged=[])

    def share(lab: Lab, objects: list[StixObject], now_us: int) -> None:
        assert transport is not None
        latencies = transport.publish(lab, objects)
        lab.bytes_out += sum(len(stix_bytes(o)) for o in objects)
        result.latencies_s.append(max(latencies.values(), default=0.0))
        blocking = [o for o in objects if "malicious-activity" in o["indicator_types"]]
        if blocking and result.first_latency_s is None:
            result.first_latency_s = result.latencies_s[-1]
        for other in labs:
            if other is not lab:
                for obj in objects:
                    other.arrived(obj, lab.name, now_us + round(latencies[other.name] * 1e6))

    labs = [
        Lab(
            spec=spec,
            index=n,
            scenario=scenario,
            identity=transport.identity(spec.name) if transport else isolated_identity(spec.name),
            sharing_key=key,
            share=share if transport is not None else None,
        )
        for n, spec in enumerate(scenario.labs)
    ]
    if transport is not None:
        transport.attach(labs)
    accounts: dict[str, Account] = {a.account_id: a for a in benign}
    queue: list[tuple[int, int, str]] = [(a.next_us, n, a.account_id) for n, a in enumerate(benign)]
    heapq.heapify(queue)
    serial = len(queue)
    answered = [0 for _ in labs]
    campaign_start: int | None = None
    tick = start_us
    while tick <= end_us:
        for lab in labs:
            lab.check(tick, accounts)
            for account in farm.replenish(lab.index, tick):
                accounts[account.account_id] = account
                heapq.heappush(queue, (account.next_us, serial, account.account_id))
                serial += 1
            hours = (tick - start_us) / HOUR_US
            result.series.setdefault(lab.name, []).append((hours, answered[lab.index]))
        tick += tick_us
        while queue and queue[0][0] < tick:
            now_us, _, account_id = heapq.heappop(queue)
            account = accounts[account_id]
            if account.retired or now_us >= end_us:
                continue
            lab = labs[account.lab]
            campaign = account.kind == "campaign"
            if campaign:
                request = farm.request(account)
                campaign_start = now_us if campaign_start is None else campaign_start
            else:
                request = benign_request(account, scenario.campaign.billing_every, benign_rng)
            answered_now = lab.handle(account, request, account.event(request, now_us, key))
            if campaign:
                if answered_now:
                    answered[lab.index] += 1
                    farm.next_time(account, now_us)
                else:
                    farm.blocked(account, now_us)
            elif account.account_id in lab.blocked:
                account.retired = True  # a refused benign user leaves (and complains)
            else:
                benign_next(account, now_us, benign_rng)
            if not account.retired:
                heapq.heappush(queue, (account.next_us, serial, account_id))
                serial += 1
    if transport is not None:
        transport.close()
    _summarise(result, scenario, labs, farm, accounts, start_us, campaign_start, answered)
    return result


def _summarise(
    result: RunResult,
    scenario: Scenario,
    labs: list[Lab],
    farm: Farm,
    accounts: dict[str, Account],
    start_us: int,
    campaign_start: int | None,
    answered: list[int],
) -> None:
    begin = campaign_start if campaign_start is not None else start_us
    result.campaign_start_h = (begin - start_us) / HOUR_US
    firsts = [lab.first_detection_us for lab in labs if lab.first_detection_us is not None]
    first_anywhere = min(firsts, default=None)
    if first_anywhere is not None:
        result.first_detection_h = (first_anywhere - begin) / HOUR_US
    for lab in labs:
        population: dict[str, int] = {"ordinary": 0, HEAVY: 0}
        flagged: dict[str, int] = {"ordinary": 0, HEAVY: 0, "campaign": 0}
        for account in accounts.values():
            if account.lab != lab.index or account.kind == "campaign":
                continue
            population["ordinary" if account.kind == "ordinary" else HEAVY] += 1
        for account_id, reasons in lab.blocked.items():
            account = accounts[account_id]
            group = account.kind if account.kind in ("campaign", "ordinary") else HEAVY
            flagged[group] += 1
            result.flagged.append((lab.name, account_id, account.kind, reasons))
        used = len(farm.used[lab.index])
        detected = sum(1 for a in farm.used[lab.index] if a in lab.blocked)
        first = lab.first_detection_us
        result.rows.append(
            LabRow(
                lab=lab.name,
                mode=result.mode,
                campaign_accounts=used,
                detected=detected,
                recall=detected / used if used else 0.0,
                first_detection_h=None if first is None else (first - begin) / HOUR_US,
                protected_after_h=None
                if first is None or first_anywhere is None
                else (first - first_anywhere) / HOUR_US,
                campaign_answered=answered[lab.index],
                ordinary_flagged=flagged["ordinary"],
                ordinary_accounts=population["ordinary"],
                heavy_flagged=flagged[HEAVY],
                heavy_accounts=population[HEAVY],
                bytes_out=lab.bytes_out,
                bytes_in=lab.bytes_in,
            )
        )
