"""Polling a release until the target phase has started or completed."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from . import errors
from .clock import Clock
from .errors import DeadlinePassed
from .inputs import WaitFor
from .models import PhaseState, Release, ReleasePhase
from .text import human_duration


class WaitResult(NamedTuple):
    release: Release
    seconds: float
    polls: int


# Said once, when a wait begins, so nobody waits for what only another step can do.
_WHO_MOVES_IT = {
    WaitFor.STARTED: " A phase that needs approval starts once it is approved in LaunchDarkly.",
    WaitFor.COMPLETE: (
        " LaunchDarkly completes a phase when the next phase starts (or when a guarded rollout"
        " ends), so another step or person must start the next phase."
    ),
}


def reached(phase: ReleasePhase, goal: WaitFor) -> bool:
    return phase.is_complete if goal is WaitFor.COMPLETE else phase.is_started


def wait_for_phase(
    release: Release,
    phase_id: str,
    goal: WaitFor,
    *,
    fetch: Callable[[float], Release],
    timeout: float,
    interval: float,
    clock: Clock,
    log: Callable[[str], None],
) -> WaitResult:
    """Poll with ``fetch`` until the phase reaches ``goal``; fail fast on cancel or pause.

    The wait ends by its deadline: polls happen every ``interval`` before it, and ``fetch`` is
    given the deadline, so a poll's retries (a rate limit's wait included) cannot run past it.
    One log line per status change, not per poll.
    """
    started = clock.monotonic()
    deadline = started + timeout
    polls = 0
    phase = _phase_in(release, phase_id)
    last_seen = phase.reported_status
    while True:
        if reached(phase, goal):
            return WaitResult(release, clock.monotonic() - started, polls)
        _fail_if_stuck(release, phase, goal, clock.monotonic() - started)
        if polls == 0:
            log(
                f"Waiting up to {human_duration(timeout)} for phase '{phase.name}' to be {goal.value} "
                f"(checking every {human_duration(interval)}); now {last_seen}." + _WHO_MOVES_IT[goal]
            )
        clock.sleep(min(interval, max(0.0, deadline - clock.monotonic())))
        try:
            if clock.monotonic() >= deadline:
                raise DeadlinePassed
            release = fetch(deadline)
        except DeadlinePassed:
            waited = clock.monotonic() - started
            raise errors.wait_timed_out(
                phase.name, goal.value, waited, polls, phase.reported_status
            ) from None
        polls += 1
        phase = _phase_in(release, phase_id)
        if phase.reported_status != last_seen:
            log(
                f"Phase '{phase.name}': {last_seen} → {phase.reported_status} "
                f"after {human_duration(clock.monotonic() - started)}."
            )
            last_seen = phase.reported_status


def _phase_in(release: Release, phase_id: str) -> ReleasePhase:
    phase = release.phase_by_id(phase_id)
    if phase is None:
        raise errors.phase_disappeared(phase_id)
    return phase


def _fail_if_stuck(release: Release, phase: ReleasePhase, goal: WaitFor, waited: float) -> None:
    if release.canceled_at is not None:
        raise errors.release_canceled(phase.name, waited=waited)
    if phase.state is PhaseState.PAUSED:
        raise errors.phase_paused(phase.name, goal.value, waited)
