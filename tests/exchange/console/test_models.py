"""exchange/console/models.py: the triage workflow's moves, and how rows read in the admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exchange.console.models import TRANSITIONS, LoginFailure, Triage, TriageState


def test_it_defines_the_moves_out_of_every_state() -> None:
    assert set(TRANSITIONS) == set(TriageState)
    for state, targets in TRANSITIONS.items():
        assert targets <= set(TriageState), state


def test_it_never_moves_an_object_back_to_new() -> None:
    assert all(TriageState.NEW not in targets for targets in TRANSITIONS.values())


def test_it_makes_retired_final() -> None:
    assert TRANSITIONS[TriageState.RETIRED] == frozenset()
    assert all(TriageState.RETIRED in TRANSITIONS[s] for s in TriageState if s != "retired")


def test_it_allows_a_release_again_from_released_and_no_other_move_in_place() -> None:
    # Versions published after a release reach partners by releasing again.
    staying = {state for state, targets in TRANSITIONS.items() if state in targets}
    assert staying == {TriageState.RELEASED}


@pytest.mark.django_db
def test_it_starts_an_object_new_and_names_rows_plainly() -> None:
    triage = Triage.objects.create(stix_id="indicator--00000000-0000-4000-8000-000000000001")
    assert triage.state == TriageState.NEW
    assert str(triage) == "indicator--00000000-0000-4000-8000-000000000001: new"
    failure = LoginFailure(
        username="ana", ip="192.0.2.7", failed_at=datetime(2026, 11, 20, 9, 30, 5, tzinfo=UTC)
    )
    assert str(failure) == "ana from 192.0.2.7 at 2026-11-20 09:30:05"
