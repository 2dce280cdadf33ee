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


# Said once, when a wait begins, so nobody waits for what only another step can do, or reads
# more into "started" than LaunchDarkly's own word for the phase.
_WHO_MOVES_IT = {
    WaitFor.STARTED: (
        " The phase counts as started once LaunchDarkly reports it active; what LaunchDarkly shows while"
        " an approval is pending is not publicly documented."
    ),
    WaitFor.COMPLETE: (
        " LaunchDarkly completes a phase when the next phase starts (or when a guarded rollout"
        " ends), so another step or person must start the next phase."
    ),
}
# While nothing changes, a line at most this often, so a long wait does not look stuck.
PROGRESS_EVERY = 60.0


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

    The release is read every ``interval``, at least once, and once more at the deadline,
    whatever the interval. ``fetch`` is given the deadline: no retry of a read may wait past it
    (a read started before it may end up to one request timeout after). The log gets a line
    per status change, and a progress line at most once a minute, not a line per poll.
    """
    started = clock.monotonic()
    deadline = started + timeout
    polls = 0
    phase = _phase_in(release, phase_id)
    last_seen, last_said = phase.reported_status, started
    while True:
        if reached(phase, goal):
            return WaitResult(release, clock.monotonic() - started, polls)
        _fail_if_stuck(release, phase, goal, clock.monotonic() - started)
        now = clock.monotonic()
        if polls == 0:
            log(
                f"Waiting up to {human_duration(timeout)} for phase '{phase.name}' to be {goal.value} "
                f"(checking every {human_duration(interval)}); now {last_seen}." + _WHO_MOVES_IT[goal]
            )
        elif now >= deadline:  # the last read was made at the deadline
            raise errors.wait_timed_out(phase.name, goal.value, now - started, polls, last_seen)
        clock.sleep(min(interval, max(0.0, deadline - now)))
        try:
            release = fetch(deadline)
        except DeadlinePassed:
            waited = clock.monotonic() - started
            raise errors.wait_timed_out(phase.name, goal.value, waited, polls, last_seen) from None
        polls += 1
        phase = _phase_in(release, phase_id)
        now = clock.monotonic()
        after = human_duration(now - started)
        if phase.reported_status != last_seen:
            log(f"Phase '{phase.name}': {last_seen} → {phase.reported_status} after {after}.")
            last_seen, last_said = phase.reported_status, now
        elif now - last_said >= PROGRESS_EVERY:
            log(f"Phase '{phase.name}' is still {last_seen} after {after} of {human_duration(timeout)}.")
            last_said = now


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
