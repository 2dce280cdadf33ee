"""Polling a release until the target phase has started or completed."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .clock import Clock
from .errors import ActionError, DeadlinePassed, ExitCode
from .inputs import WaitFor
from .models import PhaseState, Release, ReleasePhase
from .text import human_duration


class WaitResult(NamedTuple):
    release: Release
    waited: float
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
            raise _timed_out(phase, goal, clock.monotonic() - started, polls) from None
        polls += 1
        phase = _phase_in(release, phase_id)
        if phase.reported_status != last_seen:
            log(
                f"Phase '{phase.name}': {last_seen} → {phase.reported_status} "
                f"after {human_duration(clock.monotonic() - started)}."
            )
            last_seen = phase.reported_status


def _timed_out(phase: ReleasePhase, goal: WaitFor, waited: float, polls: int) -> ActionError:
    return ActionError(
        title="Timed out waiting for the phase",
        message=f"Phase '{phase.name}' was not {goal.value} after {human_duration(waited)} "
        f"({polls} poll{'s' if polls != 1 else ''}); its last status was {phase.reported_status}.",
        hint="Raise wait-timeout, or check the phase's approvals and audiences in LaunchDarkly.",
        exit_code=ExitCode.NOT_REACHED,
    )


def _phase_in(release: Release, phase_id: str) -> ReleasePhase:
    phase = release.phase_by_id(phase_id)
    if phase is None:
        raise ActionError(
            title="Phase disappeared",
            message=f"The release no longer has phase id {phase_id}; it may have been replaced.",
            hint="Check the flag's release in LaunchDarkly and run again.",
            exit_code=ExitCode.NOT_REACHED,
        )
    return phase


def _fail_if_stuck(release: Release, phase: ReleasePhase, goal: WaitFor, waited: float) -> None:
    if release.canceled_at is not None:
        raise ActionError(
            title="Release canceled",
            message=f"The release was canceled while waiting for phase '{phase.name}' to be {goal.value} "
            f"(after {human_duration(waited)}).",
            hint="Start a new release for the flag in LaunchDarkly, then run again.",
            exit_code=ExitCode.NOT_REACHED,
        )
    if phase.state is PhaseState.PAUSED:
        raise ActionError(
            title="Phase paused",
            message=f"Phase '{phase.name}' is Paused, so it will not become {goal.value} by itself "
            f"(after {human_duration(waited)}).",
            hint="Resume the phase in LaunchDarkly, then run again.",
            exit_code=ExitCode.NOT_REACHED,
        )
