"""Seeded traffic of the three labs: the campaign's farm accounts and the benign users.

Each account is an actor that makes its next request at a time it draws itself; the
simulation runs them in time order. Requests become ``TelemetryEvent``s fingerprinted with
the SDK (``events.prompt_fields``, ``builder.payment_fingerprint``), as a lab's edge would
fingerprint them; the raw card number and prompt stay with the lab that saw them.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

from signatures.sdk import builder, normalize
from signatures.sdk.detect.events import BIN_DIGITS, TelemetryEvent, prompt_fields

from .scenario import Campaign, HeavyKind, Scenario

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


@functools.cache
def _prompt_fields(normalized: str) -> dict[str, object]:
    # Normalisation is idempotent, so the fields of the normalised text are the prompt's;
    # caching them by normalised text computes each template variant's sketches once.
    return prompt_fields(normalized)


def fill(text: str, name: str, rng: random.Random) -> str:
    """A template with its persona name and a fresh number in each ``{n}`` slot."""
    first, *rest = text.replace("{name}", name).split("{n}")
    return first + "".join(f"{rng.randrange(10, 9999)}{part}" for part in rest)


def luhn_card(prefix: str, serial: int) -> str:
    """A 16-digit card number with a valid check digit (the SDK refuses any other)."""
    body = f"{prefix}{serial:0{15 - len(prefix)}d}"
    total = 0
    for i, digit in enumerate(reversed(body)):
        d = int(digit) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


@dataclass
class Request:
    """What one account sends: the lab turns it into a TelemetryEvent and keeps the raw
    card and prompt for its own records."""

    source_ip: str
    prompt: str
    card: str | None = None


@dataclass
class Account:
    """One account at one lab. ``kind`` is ``campaign``, ``ordinary`` or a heavy kind."""

    account_id: str
    lab: int
    kind: str
    created_us: int
    verified: bool
    card: str
    next_us: int
    requests: int = 0
    #: Campaign: the persona and template family; benign: the prompts it sends.
    name: str = ""
    family: int = 0
    slot: int = 0
    prompts: tuple[str, ...] = ()
    source_ip: str = ""
    rate_per_hour: float = 0.0
    interval_cv: float = 0.0
    retired: bool = False

    def event(self, request: Request, now_us: int, sharing_key: bytes) -> TelemetryEvent:
        extra: dict[str, object] = dict(_prompt_fields(normalize.normalize_prompt(request.prompt)))
        if request.card is not None:
            extra["payment_fingerprint"] = builder.payment_fingerprint(request.card, sharing_key)
            extra["payment_bin"] = normalize.normalize_pan(request.card)[:BIN_DIGITS]
        self.requests += 1
        return TelemetryEvent(
            event_id=f"{self.account_id}-{self.requests}",
            time_us=now_us,
            account_id=self.account_id,
            source_ip=request.source_ip,
            account_created_us=self.created_us,
            tokens_in=400,
            tokens_out=900,
            **extra,  # type: ignore[arg-type]
        )


@dataclass
class Farm:
    """The campaign: a pool of accounts per lab, shared proxy ranges and prepaid cards,
    machine-regular timing, a release surge, and rotation once blocked at a lab."""

    scenario: Scenario
    rng: random.Random
    start_us: int
    pools: list[list[str]] = field(default_factory=list)
    active: list[list[Account]] = field(default_factory=list)
    generation: list[int] = field(default_factory=list)
    rotated_us: list[int] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    used: list[set[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        c = self.scenario.campaign
        labs = self.scenario.labs
        rng = self.rng
        # Reseller ranges: public-looking /24s, none in the benign users' address space.
        seen: set[str] = set()
        while len(self.ranges) < c.proxy_ranges:
            prefix = (
                f"{rng.choice((45, 91, 141, 185, 193))}.{rng.randrange(256)}.{rng.randrange(256)}"
            )
            if prefix not in seen:
                seen.add(prefix)
                self.ranges.append(prefix)
        self.cards = [luhn_card("4000", 700000 + n) for n in range(c.cards)]
        counts = [round(c.accounts * lab.campaign_share) for lab in labs]
        serial = 0
        for lab_index, count in enumerate(counts):
            self.pools.append([f"farm-{lab_index}-{serial + n:05d}" for n in range(count)][::-1])
            serial += count
        self.active = [[] for _ in labs]
        self.generation = [0 for _ in labs]
        self.rotated_us = [-(10**18) for _ in labs]
        self.used = [set() for _ in labs]

    @property
    def campaign(self) -> Campaign:
        return self.scenario.campaign

    def target(self, lab: int, now_us: int) -> int:
        """Accounts the campaign keeps busy at ``lab`` now: the traffic rate that puts
        ``release_share`` of it in the 24 h after the release, divided by one account's."""
        s = self.scenario
        c = self.campaign
        end_us = self.start_us + round(s.days * DAY_US)
        if now_us >= end_us:
            return 0
        total = c.accounts * c.requests_per_account * s.labs[lab].campaign_share
        release_us = self.start_us + round(s.release_hours * HOUR_US)
        surge = release_us <= now_us < release_us + DAY_US
        hours = (end_us - self.start_us) / HOUR_US - 24 if not surge else 24
        share = c.release_share if surge else 1 - c.release_share
        per_hour = total * share / max(hours, 1e-9)
        return max(1, round(per_hour * c.cadence_seconds / 3600))

    def replenish(self, lab: int, now_us: int) -> list[Account]:
        """Retire finished accounts and sign new ones in up to the target; return the new."""
        c = self.campaign
        active = self.active[lab] = [a for a in self.active[lab] if not a.retired]
        fresh = []
        while len(active) < self.target(lab, now_us) and self.pools[lab]:
            account = Account(
                account_id=self.pools[lab].pop(),
                lab=lab,
                kind="campaign",
                created_us=now_us - round(self.rng.uniform(0.1, c.signup_days) * DAY_US),
                verified=False,
                card=self.rng.choice(self.cards),
                next_us=now_us + round(self.rng.uniform(0, c.cadence_seconds) * 1e6),
                name=self.rng.choice(c.names),
                family=self.rng.randrange(len(c.templates)),
                # A sticky proxy session: one range of the generation's per account.
                slot=self.rng.randrange(c.ranges_per_generation),
            )
            active.append(account)
            fresh.append(account)
        return fresh

    def request(self, account: Account) -> Request:
        c = self.campaign
        gen = self.generation[account.lab]
        first = (gen * c.ranges_per_generation) % len(self.ranges)
        prefix = self.ranges[(first + account.slot) % len(self.ranges)]
        variants = c.templates[account.family].variants
        prompt = fill(variants[gen % len(variants)], account.name, self.rng)
        billing = account.requests % c.billing_every == 0
        self.used[account.lab].add(account.account_id)
        return Request(
            source_ip=f"{prefix}.{self.rng.randrange(1, 255)}",
            prompt=prompt,
            card=account.card if billing else None,
        )

    def next_time(self, account: Account, now_us: int) -> None:
        c = self.campaign
        if account.requests >= c.requests_per_account:
            account.retired = True
            return
        gap = c.cadence_seconds * max(0.2, self.rng.gauss(1.0, c.cadence_cv))
        account.next_us = now_us + round(gap * 1e6)

    def blocked(self, account: Account, now_us: int) -> None:
        """A request was refused: the account is burnt, and the campaign rotates its ranges
        and template variant at that lab (at most once per cooldown)."""
        account.retired = True
        lab = account.lab
        cooldown = round(self.campaign.rotate_cooldown_minutes * 60e6)
        if now_us - self.rotated_us[lab] >= cooldown:
            self.rotated_us[lab] = now_us
            self.generation[lab] += 1


def benign_accounts(
    scenario: Scenario, rng: random.Random, start_us: int, farm: Farm
) -> list[Account]:
    """Ordinary users and heavy legitimate users at every lab."""
    b = scenario.benign
    accounts: list[Account] = []
    serial = 0
    for lab_index, lab in enumerate(scenario.labs):
        for n in range(lab.ordinary_users):
            new = rng.random() < b.new_share
            via_proxy = rng.random() < b.proxy_share
            prefix = (
                rng.choice(farm.ranges)
                if via_proxy
                else f"100.{rng.randrange(64, 128)}.{rng.randrange(256)}"
            )
            accounts.append(
                Account(
                    account_id=f"user-{lab_index}-{n:05d}",
                    lab=lab_index,
                    kind="ordinary",
                    created_us=_created(rng, start_us, new, scenario.days),
                    verified=False,
                    card=luhn_card("5100", 100000 + serial),
                    next_us=start_us
                    + round(rng.expovariate(b.ordinary_requests_per_hour) * HOUR_US),
                    prompts=b.prompts,
                    source_ip=f"{prefix}.{rng.randrange(1, 255)}",
                    rate_per_hour=b.ordinary_requests_per_hour,
                    interval_cv=1.0,
                )
            )
            serial += 1
        for heavy in b.heavy:
            for org in range(heavy.orgs_per_lab):
                accounts += _org(heavy, org, lab_index, rng, start_us, scenario.days, serial)
                serial += 1
    return accounts


def _created(rng: random.Random, start_us: int, new: bool, days: float) -> int:
    if new:
        return start_us + round(rng.uniform(-3, days) * DAY_US)
    return start_us - round(rng.uniform(60, 700) * DAY_US)


def _org(
    heavy: HeavyKind,
    org: int,
    lab: int,
    rng: random.Random,
    start_us: int,
    days: float,
    serial: int,
) -> list[Account]:
    """One organisation's keys: one card, one corporate egress range, the same prompts."""
    new = rng.random() < heavy.new_share
    verified = rng.random() < heavy.verified_share
    card = luhn_card("3700", 500000 + serial)
    egress = f"172.{16 + lab}.{serial % 256}"
    created = _created(rng, start_us, new, 0)
    keys = rng.randint(*heavy.keys)
    return [
        Account(
            account_id=f"{heavy.kind}-{lab}-{org:02d}-{key:02d}",
            lab=lab,
            kind=heavy.kind,
            created_us=created,
            verified=verified,
            card=card,
            next_us=start_us + round(rng.uniform(0, 3600 / heavy.requests_per_hour) * 1e6),
            prompts=heavy.prompts,
            source_ip=f"{egress}.{1 + key}",
            rate_per_hour=heavy.requests_per_hour,
            interval_cv=heavy.interval_cv,
        )
        for key in range(keys)
    ]


def benign_request(account: Account, billing_every: int, rng: random.Random) -> Request:
    name = account.account_id.rsplit("-", 1)[-1]
    return Request(
        source_ip=account.source_ip,
        prompt=fill(rng.choice(account.prompts), f"client {name}", rng),
        card=account.card if account.requests % billing_every == 0 else None,
    )


def benign_next(account: Account, now_us: int, rng: random.Random) -> None:
    """Ordinary users: exponential intervals; heavy users: regular with their own spread."""
    mean_s = 3600 / account.rate_per_hour
    if account.kind == "ordinary":
        gap = rng.expovariate(1 / mean_s)
    else:
        gap = mean_s * max(0.05, rng.gauss(1.0, account.interval_cv))
    account.next_us = now_us + round(gap * 1e6)
