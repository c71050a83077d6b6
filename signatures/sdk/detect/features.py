"""Per-account rolling features: the ``api-session-profile`` of an account's recent requests.

Each account keeps a sliding window of its requests (the last ``window_us``, at most
``max_events``), evicted by time as requests arrive, so memory is bounded by the traffic
of one window. The profile over the window uses the builder's exact definitions
(``builder.api_session_profile``, docs/profile.md section 5), rounded the same way:

* ``requests_per_hour`` = 3,600,000 / mean interval in ms, and ``interval_cv`` =
  population standard deviation / mean of the intervals, kept incrementally from integer
  microsecond sums (exact, so no float drift as requests come and go);
* the interval quantiles (type 7) and ``concurrency`` (peak in flight, 1000 ms per request
  when its duration is unknown) computed from the window only when a pattern reads them.

The profile exists once the window holds two requests. ``tokens_per_request`` is the mean
over the requests that recorded token counts. ``account_count`` is 1: the profile is the
account's own.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from signatures.sdk import normalize
from signatures.sdk.builder import DECIMALS, peak_in_flight, quantile
from signatures.sdk.constants import SESSION_TIMING_TYPE

#: A request open for this long when the lab did not record its duration (docs/profile.md).
DEFAULT_DURATION_US = 1_000_000

_LAZY = frozenset(
    {
        "window_start",
        "window_end",
        "interval_median_ms",
        "interval_p10_ms",
        "interval_p90_ms",
        "concurrency",
    }
)


class AccountWindow:
    """The recent requests of one account, with running sums for the cheap features."""

    __slots__ = (
        "durations",
        "events",
        "interval_squares",
        "interval_sum",
        "times",
        "token_count",
        "token_sum",
        "tokens",
    )

    def __init__(self) -> None:
        self.times: deque[int] = deque()
        self.durations: deque[int] = deque()
        self.tokens: deque[int | None] = deque()
        #: Per request, what the engine keeps about it (None when nothing).
        self.events: deque[Any] = deque()
        self.interval_sum = 0
        self.interval_squares = 0
        self.token_sum = 0
        self.token_count = 0

    def add(self, time_us: int, duration_us: int, tokens: int | None, kept: Any) -> None:
        """Append a request. Requests arrive in time order per account; a late one is
        placed at the end anyway (its interval counts as zero), so the sums stay exact."""
        if self.times:
            interval = max(0, time_us - self.times[-1])
            self.interval_sum += interval
            self.interval_squares += interval * interval
            time_us = max(time_us, self.times[-1])
        self.times.append(time_us)
        self.durations.append(duration_us)
        self.tokens.append(tokens)
        self.events.append(kept)
        if tokens is not None:
            self.token_sum += tokens
            self.token_count += 1

    def evict(self, before_us: int, max_events: int) -> None:
        """Drop requests older than ``before_us``, and the oldest beyond ``max_events``."""
        times = self.times
        while times and (times[0] < before_us or len(times) > max_events):
            first = times.popleft()
            if times:
                interval = times[0] - first
                self.interval_sum -= interval
                self.interval_squares -= interval * interval
            self.durations.popleft()
            self.events.popleft()
            if (tokens := self.tokens.popleft()) is not None:
                self.token_sum -= tokens
                self.token_count -= 1

    def __len__(self) -> int:
        return len(self.times)

    def profile(self) -> Mapping[str, Any] | None:
        """The window's api-session-profile (as a STIX object), None below two requests."""
        return SessionProfile(self) if len(self.times) >= 2 else None


class SessionProfile(Mapping[str, Any]):
    """An ``api-session-profile`` over an account's window; quantiles and concurrency are
    computed on first read."""

    __slots__ = ("_values", "_window")

    def __init__(self, window: AccountWindow) -> None:
        self._window = window
        times = window.times
        intervals = len(times) - 1
        total = window.interval_sum
        values: dict[str, Any] = {
            "type": SESSION_TIMING_TYPE,
            "request_count": len(times),
            # 3,600,000 ms / mean interval in ms, the mean being total / intervals.
            "requests_per_hour": round(3_600_000_000 * intervals / total, DECIMALS) if total else 0,
            # Population variance from exact integer sums: (n * sum(x^2) - sum(x)^2) / n^2.
            "interval_cv": round(
                math.sqrt(intervals * window.interval_squares - total * total) / total, DECIMALS
            )
            if total
            else 0,
            "account_count": 1,
        }
        if window.token_count:
            values["tokens_per_request"] = round(window.token_sum / window.token_count, DECIMALS)
        self._values = values

    def _complete(self) -> None:
        window = self._window
        times = list(window.times)
        intervals = sorted((b - a) / 1000 for a, b in itertools.pairwise(times))
        values = self._values
        values["window_start"] = normalize.format_epoch_us(times[0])
        values["window_end"] = normalize.format_epoch_us(times[-1])
        for name, q in (
            ("interval_median_ms", 0.5),
            ("interval_p10_ms", 0.1),
            ("interval_p90_ms", 0.9),
        ):
            values[name] = round(quantile(intervals, q), DECIMALS)
        values["concurrency"] = peak_in_flight(times, list(window.durations))

    def __getitem__(self, key: str) -> Any:
        if key in _LAZY and key not in self._values:
            self._complete()
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values or key in _LAZY

    def __iter__(self) -> Iterator[str]:
        self._complete()
        return iter(self._values)

    def __len__(self) -> int:
        self._complete()
        return len(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            return default
        return self[key]
