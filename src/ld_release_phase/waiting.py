"""Polling a release until the target phase has started or completed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .client import Clock
from .errors import ActionError, ExitCode
from .inputs import WaitFor, human_duration
from .models import PhaseState, Release, ReleasePhase


@dataclass(frozen=True)
class WaitResult:
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
    fetch: Callable[[], Release],
    timeout: float,
    interval: float,
    clock: Clock,
    log: Callable[[str], None],
) -> WaitResult:
    """Poll with ``fetch`` until the phase reaches ``goal``; fail fast on cancel or pause.

    One log line per status change, not per poll. Rate limits and transient errors during a
    poll are handled by the client like any other call.
    """
    started = clock.monotonic()
    deadline = started + timeout
    polls = 0
    phase = _phase_in(release, phase_id)
    last_seen = phase.reported_status
    while True:
        waited = clock.monotonic() - started
        if reached(phase, goal):
            return WaitResult(release, waited, polls)
        _fail_if_stuck(release, phase, goal, waited)
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise ActionError(
                "Timed out waiting for the phase",
                f"Phase '{phase.name}' was not {goal.value} after {human_duration(waited)} "
                f"({polls} polls); its last status was {phase.reported_status}.",
                "Raise wait-timeout, or check the phase's approvals and audiences in LaunchDarkly.",
                ExitCode.NOT_REACHED,
            )
        if polls == 0:
            log(
                f"Waiting up to {human_duration(timeout)} for phase '{phase.name}' to be {goal.value} "
                f"(checking every {human_duration(interval)}); now {last_seen}." + _WHO_MOVES_IT[goal]
            )
        clock.sleep(min(interval, remaining))
        release = fetch()
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
        raise ActionError(
            "Phase disappeared",
            f"The release no longer has phase id {phase_id}; it may have been replaced.",
            "Check the flag's release in LaunchDarkly and run again.",
            ExitCode.NOT_REACHED,
        )
    return phase


def _fail_if_stuck(release: Release, phase: ReleasePhase, goal: WaitFor, waited: float) -> None:
    if release.canceled_at is not None:
        raise ActionError(
            "Release canceled",
            f"The release was canceled while waiting for phase '{phase.name}' to be {goal.value} "
            f"(after {human_duration(waited)}).",
            "Start a new release for the flag in LaunchDarkly, then run again.",
            ExitCode.NOT_REACHED,
        )
    if phase.state is PhaseState.PAUSED:
        raise ActionError(
            "Phase paused",
            f"Phase '{phase.name}' is Paused, so it will not become {goal.value} by itself "
            f"(after {human_duration(waited)}).",
            "Resume the phase in LaunchDarkly, then run again.",
            ExitCode.NOT_REACHED,
        )
