"""An account's rolling window and its api-session-profile, held to the builder's
definitions as requests arrive and are evicted."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from signatures.sdk import builder
from signatures.sdk.detect.features import DEFAULT_DURATION_US, AccountWindow

T0 = 1_795_478_400.0  # 2026-11-24T00:00:00Z, the timing example's first request
SECOND = 1_000_000
#: The timing features the builder writes for any requests (``account_count`` aside).
FEATURES = (
    "window_start",
    "window_end",
    "request_count",
    "requests_per_hour",
    "interval_median_ms",
    "interval_p10_ms",
    "interval_p90_ms",
    "interval_cv",
    "concurrency",
)


def window_of(
    seconds: Sequence[float],
    tokens: Sequence[int | None] | None = None,
    durations_us: Sequence[int] | None = None,
) -> AccountWindow:
    window = AccountWindow()
    for n, offset in enumerate(seconds):
        window.add(
            round((T0 + offset) * SECOND),
            durations_us[n] if durations_us else DEFAULT_DURATION_US,
            tokens[n] if tokens else None,
            None,
        )
    return window


def test_it_keeps_the_builders_timing_features_on_the_worked_example() -> None:
    offsets = [0.0, 3.5, 7.2, 10.6, 14.4, 17.9]
    tokens = [812, 790, 805, 799, 820, 801]
    window = AccountWindow()
    for offset, count in zip(offsets, tokens, strict=True):
        window.add(round((T0 + offset) * 1_000_000), 1_000_000, count, None)
    profile = window.profile()
    assert profile is not None
    expected = builder.api_session_profile([T0 + o for o in offsets], token_counts=tokens)
    for name in (
        "window_start",
        "window_end",
        "request_count",
        "requests_per_hour",
        "interval_median_ms",
        "interval_p10_ms",
        "interval_p90_ms",
        "interval_cv",
        "concurrency",
        "tokens_per_request",
    ):
        assert profile[name] == expected[name], name
    assert (profile["requests_per_hour"], profile["interval_cv"]) == (1005.587, 0.041)


def test_it_has_no_profile_below_two_requests() -> None:
    assert window_of([]).profile() is None
    assert window_of([0.0]).profile() is None
    assert window_of([0.0, 1.0]).profile() is not None


def test_it_keeps_its_running_sums_exact_as_requests_are_evicted() -> None:
    offsets = [0.0, 0.7, 2.9, 3.0, 8.25, 9.1, 15.0, 15.5, 21.3]
    tokens = [10, None, 30, 40, None, 60, 70, 80, None]
    window = window_of(offsets, tokens)
    window.evict(round((T0 + 3.0) * SECOND), max_events=100)
    assert len(window) == 6
    fresh = window_of(offsets[3:], tokens[3:])
    evicted, rebuilt = window.profile(), fresh.profile()
    assert evicted is not None and rebuilt is not None
    assert dict(evicted) == dict(rebuilt)
    assert (window.interval_sum, window.interval_squares) == (
        fresh.interval_sum,
        fresh.interval_squares,
    )
    expected = builder.api_session_profile(
        [T0 + o for o in offsets[3:]], token_counts=[40, 0, 60, 70, 80, 0]
    )
    assert {name: evicted[name] for name in FEATURES} == {name: expected[name] for name in FEATURES}
    assert evicted["tokens_per_request"] == 62.5  # the mean of the four that recorded tokens


def test_it_evicts_the_oldest_beyond_its_size() -> None:
    window = window_of([0.0, 1.0, 3.0, 6.0, 10.0])
    window.evict(0, max_events=3)
    assert [t - round(T0 * SECOND) for t in window.times] == [3 * SECOND, 6 * SECOND, 10 * SECOND]
    assert window.interval_sum == 7 * SECOND


def test_it_empties_cleanly_when_everything_is_evicted() -> None:
    window = window_of([0.0, 1.0, 2.0], tokens=[5, 6, 7])
    window.evict(round((T0 + 60) * SECOND), max_events=100)
    assert len(window) == 0
    assert (window.interval_sum, window.interval_squares, window.token_sum, window.token_count) == (
        0,
        0,
        0,
        0,
    )
    assert not window.events and not window.durations and not window.tokens


def test_it_places_a_late_request_at_the_end_with_a_zero_interval() -> None:
    window = AccountWindow()
    window.add(10 * SECOND, DEFAULT_DURATION_US, None, "first")
    window.add(4 * SECOND, DEFAULT_DURATION_US, None, "late")
    assert list(window.times) == [10 * SECOND, 10 * SECOND]
    assert list(window.events) == ["first", "late"]
    profile = window.profile()
    assert profile is not None
    assert (profile["requests_per_hour"], profile["interval_cv"]) == (0, 0)


def test_it_measures_concurrency_from_the_recorded_durations() -> None:
    starts = [0.0, 0.5, 1.0, 1.2]
    overlapping = window_of(starts, durations_us=[2 * SECOND] * 4).profile()
    apart = window_of(starts, durations_us=[SECOND // 10] * 4).profile()
    assert overlapping is not None and apart is not None
    assert (overlapping["concurrency"], apart["concurrency"]) == (4, 1)


def test_it_omits_tokens_per_request_when_no_request_recorded_tokens() -> None:
    profile = window_of([0.0, 1.0, 2.0]).profile()
    assert profile is not None
    assert "tokens_per_request" not in profile
    assert profile.get("tokens_per_request", "none") == "none"
    with pytest.raises(KeyError):
        profile["tokens_per_request"]


def test_it_lists_the_quantiles_before_they_are_computed_and_computes_them_on_read() -> None:
    profile = window_of([0.0, 1.0, 3.0, 6.0]).profile()
    assert profile is not None
    assert "interval_median_ms" in profile and "concurrency" in profile
    assert "x-unknown" not in profile
    assert profile["account_count"] == 1  # the account's own requests
    assert profile["interval_median_ms"] == 2000.0
    assert (profile["interval_p10_ms"], profile["interval_p90_ms"]) == (1200.0, 2800.0)
    assert set(profile) == {"type", "account_count", *FEATURES}
    assert len(profile) == len(FEATURES) + 2
