"""An environment-release step: start a release (once, safely re-runnable), stop one, or read
one, and wait for it to complete if asked. It returns what happened and tells its progress as
events; it never words or renders anything (:mod:`.render` does)."""

from __future__ import annotations

from collections.abc import Callable

from ld_release_phase.failures import NotFound, Refused
from ld_release_phase.plumbing.clock import Clock
from ld_release_phase.plumbing.retry import DeadlinePassed

from . import failures
from .client import HealthChecksFailed, ReleasesClient
from .events import (
    AlreadyEnded,
    AlreadyRunning,
    Planned,
    Progress,
    ReadAfterUncertainStart,
    Released,
    StepBegins,
    WaitBegins,
    WaitGoesOn,
    WouldSend,
)
from .inputs import Operation, ReleaseInputs, WaitFor
from .models import EnvironmentRelease, Flag, FlagEnvironment, Status
from .plan import Plan, Request, is_ours, listing, plan_start, request_of, shown

Tell = Callable[[Progress], None]
# While nothing changes, a line at most this often, so a long wait does not look stuck.
PROGRESS_EVERY = 60.0


class Outcome:
    """What a step did: the release as last seen (None only for a dry-run start), and whether
    this step changed it."""

    __slots__ = ("changed", "dry_run", "flag", "operation", "planned_body", "release", "waited")

    def __init__(
        self,
        operation: Operation,
        release: EnvironmentRelease | None,
        *,
        flag: Flag | None = None,
        changed: bool = False,
        dry_run: bool = False,
        planned_body: dict[str, object] | None = None,
        waited: tuple[float, int] | None = None,
    ):
        self.operation = operation
        self.release = release
        self.flag = flag
        self.changed = changed
        self.dry_run = dry_run
        self.planned_body = planned_body
        self.waited = waited  # (seconds, polls) when the step waited


def carry_out(inputs: ReleaseInputs, client: ReleasesClient, tell: Tell, clock: Clock) -> Outcome:
    """Carry out one step; raises a Failure for anything the user must hear about."""
    tell(
        StepBegins(
            operation=inputs.operation.value,
            project=inputs.project,
            flag=inputs.flag,
            environment=inputs.environment,
            dry_run=inputs.dry_run,
        )
    )
    if inputs.operation is Operation.START:
        outcome = _start(inputs, client, tell)
    elif inputs.operation is Operation.STOP:
        outcome = _stop(inputs, client, tell)
    else:
        outcome = Outcome(Operation.STATUS, _the_release(inputs, client), flag=_flag(inputs, client))
    if outcome.release is not None:
        tell(Released(outcome.release))
    if inputs.wait_for is WaitFor.COMPLETED and outcome.release is not None and not inputs.dry_run:
        return _wait(inputs, client, tell, clock, outcome)
    return outcome


def _environment(inputs: ReleaseInputs, client: ReleasesClient, flag: Flag) -> FlagEnvironment:
    """The flag's configuration in the step's environment; a missing one lists those there are,
    read once more without the filter (a filtered read lists none)."""
    found = flag.environments.get(inputs.environment)
    if found is None:
        known = list(client.get_flag(inputs.project, inputs.flag, None).environments)
        raise failures.no_environment(inputs.flag, inputs.environment, listing(known))
    return found


def _flag(inputs: ReleaseInputs, client: ReleasesClient) -> Flag:
    try:
        return client.get_flag(inputs.project, inputs.flag, inputs.environment)
    except NotFound as missing:
        raise failures.no_flag(missing, inputs.project, inputs.flag) from None


# -- start --------------------------------------------------------------------------------


def _start(inputs: ReleaseInputs, client: ReleasesClient, tell: Tell) -> Outcome:
    flag = _flag(inputs, client)
    environment = _environment(inputs, client, flag)
    request = request_of(inputs, flag, environment)
    if not environment.on:
        raise failures.flag_off(inputs.flag, inputs.environment)
    releases = client.list_releases(*_where(inputs))
    running = next((r for r in releases if r.running), None)
    if running is not None:
        if not is_ours(running, request, inputs):
            raise failures.another_release_running(inputs.environment, _described(running, flag), running.id)
        tell(AlreadyRunning(running))
        return Outcome(Operation.START, running, flag=flag)
    newest = releases[0] if releases else None
    if newest is not None and newest.status == Status.COMPLETED and is_ours(newest, request, inputs):
        # A re-run after this step's release completed: the flag already serves the target there.
        tell(AlreadyRunning(newest))
        return Outcome(Operation.START, newest, flag=flag)
    plan = plan_start(inputs, flag, environment, request)
    tell(Planned(plan.original, plan.target))
    if inputs.dry_run:
        path = client.releases_path(*_where(inputs))
        tell(WouldSend(client.planned_request("POST", path, plan.body)))
        return Outcome(Operation.START, None, flag=flag, dry_run=True, planned_body=plan.body)
    return _send_start(inputs, client, tell, plan, flag, before={release.id for release in releases})


def _send_start(
    inputs: ReleaseInputs, client: ReleasesClient, tell: Tell, plan: Plan, flag: Flag, *, before: set[str]
) -> Outcome:
    """Send the start; after an uncertain answer, this step's release is one not listed before
    it was sent, of the same variations."""
    try:
        started = client.start(
            *_where(inputs),
            plan.body,
            ours=lambda release: release.id not in before and _started_by(release, plan, inputs),
        )
    except HealthChecksFailed as refusal:
        checks = [
            f"{kind}{f' ({metric})' if metric else ''}: {message}" for kind, metric, message in refusal.checks
        ]
        kinds = sorted({kind for kind, _, _ in refusal.checks})
        raise failures.health_checks_failed(checks, kinds, refusal.refused) from None
    except Refused as refused:
        raise _start_refusal(inputs, refused) from None
    if started.reread:
        tell(ReadAfterUncertainStart(started.cause, started.release))
        if started.release is None and started.other is not None:
            # Another release began between this step's read and its start.
            other = started.other
            raise failures.another_release_running(inputs.environment, _described(other, flag), other.id)
        if started.release is None:
            raise failures.start_uncertain(started.cause)
    assert started.release is not None, "a start answered by LaunchDarkly carries its release"
    return Outcome(Operation.START, started.release, flag=flag, changed=True)


def _start_refusal(inputs: ReleaseInputs, refused: Refused) -> Refused | Exception:
    """A refused start in the action's words, where the spec says what the refusal means."""
    if refused.status == 409:
        return failures.flag_off(inputs.flag, inputs.environment, refused)
    if refused.status == 405:
        return failures.approvals_required(inputs.environment, refused)
    if refused.status == 422:
        return failures.plans_unavailable(refused)
    return refused


# -- stop and status ------------------------------------------------------------------------


def _stop(inputs: ReleaseInputs, client: ReleasesClient, tell: Tell) -> Outcome:
    release = _the_release(inputs, client)
    resolution = inputs.resolution
    assert resolution is not None, "the inputs require a resolution to stop"
    if not release.running:
        tell(AlreadyEnded(release))
        return Outcome(Operation.STOP, release)
    if release.between_phases and resolution.current_phase_only:
        raise failures.current_phase_between_phases(resolution.value)
    body: dict[str, object] = {"resolution": resolution.value}
    if inputs.comment:
        body["comment"] = inputs.comment
    if inputs.dry_run:
        path = client.release_path(*_where(inputs), release.id) + "/stop"
        tell(WouldSend(client.planned_request("PUT", path, body)))
        return Outcome(Operation.STOP, release, dry_run=True, planned_body=body)
    try:
        stopped = client.stop(*_where(inputs), release.id, body)
    except NotFound as missing:
        raise failures.release_gone(missing, release.id) from None
    except Refused as refused:
        raise (
            failures.approvals_required(inputs.environment, refused) if refused.status == 405 else refused
        ) from None
    return Outcome(Operation.STOP, stopped, changed=True)


def _the_release(inputs: ReleaseInputs, client: ReleasesClient) -> EnvironmentRelease:
    """The release named by ``release-id``; else the running one, or the newest."""
    if inputs.release_id:
        try:
            return client.get_release(*_where(inputs), inputs.release_id)
        except NotFound as missing:
            raise failures.release_gone(missing, inputs.release_id) from None
    releases = client.list_releases(*_where(inputs))
    chosen = next((release for release in releases if release.running), releases[0] if releases else None)
    if chosen is None:
        raise failures.no_release(inputs.environment)
    return chosen


# -- waiting ------------------------------------------------------------------------------


def _wait(
    inputs: ReleaseInputs, client: ReleasesClient, tell: Tell, clock: Clock, outcome: Outcome
) -> Outcome:
    """Poll until the release completes; a revert, a wait for a person or the deadline fails.

    The release is read every ``poll-interval``, at least once, and once more at the deadline.
    """
    release = outcome.release
    assert release is not None
    started = clock.monotonic()
    deadline = started + inputs.wait_timeout
    polls, said_at, seen = 0, started, _position(release)
    tell(WaitBegins(release, timeout=inputs.wait_timeout, interval=inputs.poll_interval))
    while True:
        waited = clock.monotonic() - started
        if release.status == Status.COMPLETED:
            outcome.release, outcome.waited = release, (waited, polls)
            return outcome
        if release.status == Status.REVERTED:
            raise failures.reverted(release.id, release.status_reason, waited)
        if release.status == Status.WAITING:
            raise failures.waiting(release.id, release.status_reason)
        now = clock.monotonic()
        if polls and now >= deadline:
            raise failures.wait_timed_out(release.id, now - started, polls, release.status)
        clock.sleep(min(inputs.poll_interval, max(0.0, deadline - now)))
        try:
            release = client.get_release(*_where(inputs), release.id, until=deadline, poll=True)
        except DeadlinePassed:
            raise failures.wait_timed_out(
                release.id, clock.monotonic() - started, polls, release.status
            ) from None
        polls += 1
        now = clock.monotonic()
        if _position(release) != seen or now - said_at >= PROGRESS_EVERY:
            tell(WaitGoesOn(release, now - started))
            seen, said_at = _position(release), now


def _position(release: EnvironmentRelease) -> tuple[str, int | None, int | None]:
    phase = release.current_phase
    return (release.status, release.current_phase_index, phase.current_step_index if phase else None)


def _started_by(release: EnvironmentRelease, plan: Plan, inputs: ReleaseInputs) -> bool:
    """Whether a new release read after an uncertain start is the one this step sent: the same
    variations, and the same rule or phases."""
    return is_ours(release, Request(plan.target, plan.original, plan.rule), inputs)


def _where(inputs: ReleaseInputs) -> tuple[str, str, str]:
    return inputs.project, inputs.flag, inputs.environment


def _described(release: EnvironmentRelease, flag: Flag) -> str:
    by_id = {variation.id: variation for variation in flag.variations}
    target = by_id.get(release.target_variation_id)
    to = shown(target) if target is not None else release.target_variation_id
    return f"{release.kind or 'a'} release to {to}, {release.status}"
