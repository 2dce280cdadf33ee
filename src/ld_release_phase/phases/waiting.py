"""Polling a release until the target phase has started or completed."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ld_release_phase.plumbing.clock import Clock
from ld_release_phase.plumbing.retry import DeadlinePassed

from . import failures
from .events import Progress, WaitBegins, WaitGoesOn, WaitSawChange
from .inputs import WaitFor
from .models import PhaseState, Release, ReleasePhase


class WaitResult(NamedTuple):
    release: Release
    seconds: float
    polls: int


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
    tell: Callable[[Progress], None],
) -> WaitResult:
    """Poll with ``fetch`` until the phase reaches ``goal``; fail fast on cancel or pause.

    The release is read every ``interval``, at least once, and once more at the deadline,
    whatever the interval. ``fetch`` is given the deadline: no retry of a read may wait past it
    (a read started before it may end up to one request timeout after). The log gets a line
    per status change, and a progress line at most once a minute, not a line per poll: each
    as an event to ``tell``.
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
            tell(
                WaitBegins(
                    phase=phase.name, goal=goal.value, timeout=timeout, interval=interval, status=last_seen
                )
            )
        elif now >= deadline:  # the last read was made at the deadline
            raise failures.wait_timed_out(phase.name, goal.value, now - started, polls, last_seen)
        clock.sleep(min(interval, max(0.0, deadline - now)))
        try:
            release = fetch(deadline)
        except DeadlinePassed:
            waited = clock.monotonic() - started
            raise failures.wait_timed_out(phase.name, goal.value, waited, polls, last_seen) from None
        polls += 1
        phase = _phase_in(release, phase_id)
        now = clock.monotonic()
        if phase.reported_status != last_seen:
            tell(
                WaitSawChange(
                    phase=phase.name, before=last_seen, after=phase.reported_status, waited=now - started
                )
            )
            last_seen, last_said = phase.reported_status, now
        elif now - last_said >= PROGRESS_EVERY:
            tell(WaitGoesOn(phase=phase.name, status=last_seen, waited=now - started, timeout=timeout))
            last_said = now


def _phase_in(release: Release, phase_id: str) -> ReleasePhase:
    phase = release.phase_by_id(phase_id)
    if phase is None:
        raise failures.phase_disappeared(phase_id)
    return phase


def _fail_if_stuck(release: Release, phase: ReleasePhase, goal: WaitFor, waited: float) -> None:
    if release.canceled_at is not None:
        raise failures.release_canceled(phase.name, waited=waited)
    if phase.state is PhaseState.PAUSED:
        raise failures.phase_paused(phase.name, goal.value, waited)
