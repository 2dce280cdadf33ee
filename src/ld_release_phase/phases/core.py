"""The job, step by step: read the release (putting the flag on its pipeline if asked), pick the
phase, start it, wait if asked, and report what happened."""

from __future__ import annotations

from typing import NamedTuple

from . import errors
from .client import ONLY_ACTIVE_REFUSAL, LaunchDarklyClient
from .clock import Clock
from .errors import LaunchDarklyRefusal
from .inputs import ActionInputs, WaitFor
from .models import Dialect, Release, ReleasePhase
from .release import already_in, request_body, resolve_phase
from .report import (
    DOCUMENT_OUTPUTS,
    ClientTrafficLog,
    attach_sentence,
    audiences_line,
    change_sentence,
    headline_summary,
    outputs,
    pipeline_line,
    planned_attach_outputs,
    show_planned_request,
    summary,
    wait_note,
)
from .retry import RetryPolicy
from .runner import Runner
from .waiting import WaitResult, wait_for_phase


class Outcome(NamedTuple):
    """What a step did: the release as last seen, the target phase, and what happened to it."""

    release: Release
    phase_id: str
    before: str  # the phase's status as first read
    sent: bool = False  # LaunchDarkly accepted a start from this step
    changed: bool = False  # and its answer shows the phase started, which it was not before
    dry_run: bool = False
    created: bool = False  # this step put the flag on its release pipeline
    wait: WaitResult | None = None

    @property
    def phase(self) -> ReleasePhase:
        phase = self.release.phase_by_id(self.phase_id)
        assert phase is not None, "carry_out checks the phase is in every release it keeps"
        return phase


def make_client(inputs: ActionInputs, runner: Runner, clock: Clock | None = None) -> LaunchDarklyClient:
    return LaunchDarklyClient(
        inputs.base_uri,
        access_token=inputs.access_token.get_secret_value(),
        policy=RetryPolicy(max_retries=inputs.max_retries, timeout=inputs.request_timeout),
        log=ClientTrafficLog(runner),
        redactor=runner.redactor,
        clock=clock,
    )


def carry_out(
    inputs: ActionInputs, client: LaunchDarklyClient, runner: Runner, clock: Clock
) -> Outcome | None:
    """Carry out one step; raises ActionError for anything the user must hear about.

    None is a dry run that stops before the phase: the flag has no release yet, and the phase
    can only be found once the flag is on its pipeline.
    """
    runner.info(
        f"Release phase: project '{inputs.project}', flag '{inputs.flag}', phase '{inputs.phase}', "
        f"status {inputs.status.spelling(Dialect.LIVE)}" + (" (dry run)" if inputs.dry_run else "")
    )
    release, created = _release_of(inputs, client, runner)
    if release is None:
        return None
    if release.canceled_at is not None:
        raise errors.release_canceled(inputs.phase)
    phase = resolve_phase(release, inputs.phase)
    runner.info(f"Pipeline '{release.name}': {pipeline_line(release, phase.id)}")
    outcome = _move(inputs, client, runner, release, phase, created=created)
    if outcome.phase.audiences:
        runner.info(audiences_line(outcome.phase))
    if inputs.wait_for is WaitFor.NONE:
        return outcome
    if inputs.dry_run:
        runner.info(f"Dry run: not waiting for the phase to be {inputs.wait_for.value}.")
        return outcome
    waited = wait_for_phase(
        outcome.release,
        outcome.phase_id,
        inputs.wait_for,
        fetch=lambda until: client.get_release(inputs.project, inputs.flag, until=until, poll=True),
        timeout=inputs.wait_timeout,
        interval=inputs.poll_interval,
        clock=clock,
        log=runner.info,
    )
    return outcome._replace(release=waited.release, wait=waited)


def report(outcome: Outcome | None, inputs: ActionInputs, runner: Runner) -> None:
    """Outputs, the step summary, and one notice saying what the step did."""
    if outcome is None:
        headline = (
            f"Dry run: the flag would be put on release pipeline '{inputs.release_pipeline}'; "
            "nothing was changed."
        )
        runner.set_outputs(planned_attach_outputs(), documents=DOCUMENT_OUTPUTS)
        runner.append_summary(headline_summary(runner.redactor, headline, inputs.project, inputs.flag))
    else:
        parts = [attach_sentence(outcome.release.release_pipeline_key)] if outcome.created else []
        parts.append(
            change_sentence(
                outcome.phase,
                outcome.before,
                sent=outcome.sent,
                changed=outcome.changed,
                dry_run=outcome.dry_run,
            )
        )
        if outcome.wait is not None and outcome.wait.polls:
            parts.append(wait_note(inputs.wait_for.value, outcome.wait.seconds, outcome.wait.polls))
        headline = " ".join(parts)
        runner.set_outputs(
            outputs(outcome.release, outcome.phase, changed=outcome.changed, created=outcome.created),
            documents=DOCUMENT_OUTPUTS,
        )
        runner.append_summary(
            summary(
                runner.redactor,
                outcome.release,
                target_id=outcome.phase_id,
                headline=headline,
                project=inputs.project,
                flag=inputs.flag,
            )
        )
    runner.notice(headline, title=f"LaunchDarkly: {inputs.flag}")


def _release_of(
    inputs: ActionInputs, client: LaunchDarklyClient, runner: Runner
) -> tuple[Release | None, bool]:
    """The flag's release, and whether this step put the flag on its pipeline to get it.

    A flag with no release is put on ``release-pipeline`` when that is set; a flag already on
    another pipeline is never moved, whether the first read shows it or the read after a failed
    attach (someone else may have put the flag on a pipeline meanwhile).
    """
    wanted = inputs.release_pipeline
    try:
        release = client.get_release(inputs.project, inputs.flag)
    except LaunchDarklyRefusal as refusal:
        if refusal.status != 404 or not wanted:
            raise
    else:
        _refuse_another_pipeline(inputs, release)
        return release, False
    body: dict[str, object] = {"releasePipelineKey": wanted}
    if inputs.release_variation:
        body["releaseVariationId"] = inputs.release_variation
    runner.info(f"Flag '{inputs.flag}' has no release yet: putting it on release pipeline '{wanted}'.")
    path = client.create_release_path(inputs.project, inputs.flag)
    if inputs.dry_run:
        show_planned_request(runner, client.planned_request("PUT", path, body))
        runner.info("Dry run: the phase is found once the flag is on the pipeline, so the dry run ends here.")
        return None, False
    release = client.create_release(inputs.project, inputs.flag, body)
    _refuse_another_pipeline(inputs, release)
    return release, True


def _refuse_another_pipeline(inputs: ActionInputs, release: Release) -> None:
    wanted = inputs.release_pipeline
    if wanted and release.release_pipeline_key != wanted:
        raise errors.on_another_pipeline(inputs.flag, release.release_pipeline_key, wanted)


def _move(
    inputs: ActionInputs,
    client: LaunchDarklyClient,
    runner: Runner,
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
    path = client.phase_path(inputs.project, inputs.flag, phase.id)
    if inputs.dry_run:
        show_planned_request(runner, client.planned_request("PUT", path, body))
        return Outcome(release, phase.id, before, dry_run=True)
    updated, found_meanwhile = _start(inputs, client, runner, phase, body=body, dialect=release.dialect)
    after = updated.phase_by_id(phase.id)
    if after is None:
        raise errors.phase_missing_from_answer(phase.name, phase.id)
    if found_meanwhile:
        runner.info(
            f"Read again: phase '{phase.name}' is now {after.reported_status}, so nothing is sent again."
        )
    # Changed only if LaunchDarkly's answer shows the status asked for, which the phase lacked.
    changed = after.state is inputs.status and not already_in(phase, inputs.status)
    return Outcome(updated, phase.id, before, sent=not found_meanwhile, changed=changed, created=created)


def _start(
    inputs: ActionInputs,
    client: LaunchDarklyClient,
    runner: Runner,
    phase: ReleasePhase,
    *,
    body: dict[str, object],
    dialect: Dialect,
) -> tuple[Release, bool]:
    """Send the status in the release's own spelling; on the live service's refusal of that
    spelling, send the other one once. A 400 changed nothing, so the second try is safe.

    After a failure that may have changed something (a dropped connection, a 5xx, a conflict),
    the release is read before the PUT is repeated: if the phase already stands where asked
    (this step's PUT went through, or another job moved it on), there is nothing left to send.
    Returns the release, and whether it is such a read rather than LaunchDarkly's answer.
    """
    found: list[Release] = []

    def settled(release: Release) -> bool:
        now = release.phase_by_id(phase.id)
        if now is not None and already_in(now, inputs.status):
            found.append(release)
        return bool(found)

    sent = body["status"]
    runner.info(f"Sending status '{sent}' ({_DIALECT_WORDS[dialect]}).")
    try:
        updated = client.update_phase_status(inputs.project, inputs.flag, phase.id, body, settled=settled)
        return updated, bool(found)
    except LaunchDarklyRefusal as refusal:
        if refusal.status != 400 or refusal.reason != ONLY_ACTIVE_REFUSAL:
            raise
        other = inputs.status.spelling(dialect.other)
        runner.info(f"LaunchDarkly refused status '{sent}' ({refusal.reason}); sending '{other}' instead.")
    updated = client.update_phase_status(
        inputs.project, inputs.flag, phase.id, body | {"status": other}, settled=settled
    )
    runner.info(f"LaunchDarkly took status '{other}'.")
    return updated, bool(found)


_DIALECT_WORDS = {
    Dialect.LIVE: "the release speaks LaunchDarkly's live spelling",
    Dialect.SPEC: "the release speaks the API specification's spelling",
}
