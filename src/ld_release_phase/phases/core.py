"""A phase step, step by step: read the release (putting the flag on its pipeline if asked),
pick the phase, start it, wait if asked. It returns what happened and tells its progress as
events; it never words or renders anything (:mod:`.render` does, for the surface)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ld_release_phase.failures import NotFound
from ld_release_phase.plumbing.clock import Clock

from . import failures
from .client import PipelineClient, SpellingRefused
from .events import (
    Attaching,
    AudiencesRead,
    NotWaiting,
    PipelineRead,
    Progress,
    ReadAgain,
    Sending,
    SpellingSwitched,
    SpellingTaken,
    StepBegins,
    WouldSend,
)
from .inputs import ActionInputs, WaitFor
from .models import Dialect, Release, ReleasePhase
from .release import already_in, request_body, resolve_phase
from .waiting import WaitResult, wait_for_phase

Tell = Callable[[Progress], None]


class Outcome:
    """What a step did: the release as last seen, the target phase, and what happened to it."""

    __slots__ = ("before", "changed", "created", "dry_run", "phase_id", "release", "reread", "sent", "wait")

    def __init__(
        self,
        release: Release,
        phase_id: str,
        before: str,
        *,
        sent: bool = False,
        changed: bool = False,
        dry_run: bool = False,
        created: bool = False,
        wait: WaitResult | None = None,
        reread: bool = False,
    ):
        self.release = release
        self.phase_id = phase_id
        self.before = before  # the phase's status as first read
        self.sent = sent  # LaunchDarkly accepted a start from this step, and answered it
        self.changed = changed  # and its answer shows the phase started, which it was not before
        self.dry_run = dry_run
        self.created = created  # this step put the flag on its release pipeline
        self.wait = wait
        self.reread = reread  # the phase was read again after a failed write, not answered

    @property
    def phase(self) -> ReleasePhase:
        phase = self.release.phase_by_id(self.phase_id)
        assert phase is not None, "carry_out checks the phase is in every release it keeps"
        return phase


class PlannedAttach:
    """A dry run that stopped before the phase: the flag has no release yet, and the phase can
    only be found once the flag is on its pipeline."""

    __slots__ = ("pipeline",)

    def __init__(self, pipeline: str):
        self.pipeline = pipeline


def carry_out(
    inputs: ActionInputs, client: PipelineClient, tell: Tell, clock: Clock
) -> Outcome | PlannedAttach:
    """Carry out one step; raises a Failure for anything the user must hear about."""
    tell(
        StepBegins(
            project=inputs.project,
            flag=inputs.flag,
            phase=inputs.phase,
            status=inputs.status.spelling(Dialect.LIVE),
            dry_run=inputs.dry_run,
        )
    )
    found = _release_of(inputs, client, tell)
    if isinstance(found, PlannedAttach):
        return found
    release, created = found
    if release.canceled_at is not None:
        raise failures.release_canceled(inputs.phase)
    phase = resolve_phase(release, inputs.phase)
    tell(PipelineRead(release, phase.id))
    outcome = _move(inputs, client, tell, release, phase, created=created)
    if outcome.phase.audiences:
        tell(AudiencesRead(outcome.phase))
    if inputs.wait_for is WaitFor.NONE:
        return outcome
    if inputs.dry_run:
        tell(NotWaiting(inputs.wait_for.value))
        return outcome
    waited = wait_for_phase(
        outcome.release,
        outcome.phase_id,
        inputs.wait_for,
        fetch=lambda until: client.get_release(inputs.project, inputs.flag, until=until, poll=True),
        timeout=inputs.wait_timeout,
        interval=inputs.poll_interval,
        clock=clock,
        tell=tell,
    )
    outcome.release, outcome.wait = waited.release, waited
    return outcome


def _release_of(
    inputs: ActionInputs, client: PipelineClient, tell: Tell
) -> tuple[Release, bool] | PlannedAttach:
    """The flag's release, and whether this step put the flag on its pipeline to get it.

    A flag with no release is put on ``release-pipeline`` when that is set; a flag already on
    another pipeline is never moved, whether the first read shows it or the read after a failed
    attach (someone else may have put the flag on a pipeline meanwhile).
    """
    wanted = inputs.release_pipeline
    try:
        release = client.get_release(inputs.project, inputs.flag)
    except NotFound as missing:
        if not wanted:
            raise failures.no_release(missing, inputs.project, inputs.flag) from None
    else:
        _refuse_another_pipeline(inputs, release)
        return release, False
    body: dict[str, Any] = {"releasePipelineKey": wanted}
    if inputs.release_variation:
        body["releaseVariationId"] = inputs.release_variation
    tell(Attaching(inputs.flag, wanted))
    if inputs.dry_run:
        path = client.create_release_path(inputs.project, inputs.flag)
        tell(WouldSend(client.planned_request("PUT", path, body), last=True))
        return PlannedAttach(wanted)
    release = client.create_release(inputs.project, inputs.flag, body)
    _refuse_another_pipeline(inputs, release)
    return release, True


def _refuse_another_pipeline(inputs: ActionInputs, release: Release) -> None:
    wanted = inputs.release_pipeline
    if wanted and release.release_pipeline_key != wanted:
        raise failures.on_another_pipeline(inputs.flag, release.release_pipeline_key, wanted)


def _move(
    inputs: ActionInputs,
    client: PipelineClient,
    tell: Tell,
    release: Release,
    phase: ReleasePhase,
    *,
    created: bool,
) -> Outcome:
    """Start the phase unless it already stands where asked; a dry run shows the request."""
    before = phase.reported_status
    if already_in(phase, inputs.status):
        return Outcome(release, phase.id, before, created=created)
    body = request_body(inputs.status.spelling(release.dialect), phase, inputs.audiences)
    if inputs.dry_run:
        path = client.phase_path(inputs.project, inputs.flag, phase.id)
        tell(WouldSend(client.planned_request("PUT", path, body)))
        return Outcome(release, phase.id, before, dry_run=True)
    updated, reread = _start(
        inputs, client, tell, phase, body=body, dialect=release.dialect, pipeline=release.release_pipeline_key
    )
    after = updated.phase_by_id(phase.id)
    if after is None:
        raise failures.phase_missing_from_answer(phase.name, phase.id)
    if reread:
        tell(ReadAgain(after))
    # Changed only if LaunchDarkly accepted this step's own write, and its answer shows the
    # status asked for, which the phase lacked. A phase found started by a read after a failure
    # tells nothing of who started it: after a 409 another job did, after a dropped answer
    # either may have; claiming it would open a gate on `changed` in two jobs.
    changed = not reread and after.state is inputs.status and not already_in(phase, inputs.status)
    return Outcome(
        updated, phase.id, before, sent=not reread, changed=changed, created=created, reread=reread
    )


def _start(
    inputs: ActionInputs,
    client: PipelineClient,
    tell: Tell,
    phase: ReleasePhase,
    *,
    body: dict[str, Any],
    dialect: Dialect,
    pipeline: str,
) -> tuple[Release, bool]:
    """Send the status in the release's own spelling; on the live service's refusal of that
    spelling, send the other one once. A 400 changed nothing, so the second try is safe.

    After a failure that may have changed something (a dropped connection, a 5xx, a conflict),
    the release is read before the PUT is repeated: if the phase already stands where asked
    (this step's PUT went through, or another job moved it on), there is nothing left to send.
    Returns the release, and whether it is such a read rather than LaunchDarkly's answer.
    """

    def settled(release: Release) -> bool:
        now = release.phase_by_id(phase.id)
        return now is not None and already_in(now, inputs.status)

    sent = body["status"]
    tell(Sending(sent, dialect))
    try:
        update = client.update_phase_status(
            inputs.project, inputs.flag, phase.id, body, settled=settled, pipeline=pipeline
        )
        return update.release, update.reread
    except SpellingRefused as refusal:
        other = inputs.status.spelling(dialect.other)
        tell(SpellingSwitched(sent, refusal.refused.reason, other))
    try:
        update = client.update_phase_status(
            inputs.project,
            inputs.flag,
            phase.id,
            body | {"status": other},
            settled=settled,
            pipeline=pipeline,
        )
    except SpellingRefused as refusal:
        raise refusal.refused from None  # both spellings refused: the refusal is the answer
    tell(SpellingTaken(other))
    return update.release, update.reread
