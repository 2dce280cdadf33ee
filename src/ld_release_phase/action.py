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
    ClientTrafficLog,
    attach_sentence,
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
    changed: bool
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
    phase = resolve_phase(release, inputs.phase)
    dialect = release.dialect
    body = request_body(inputs.status.spelling(dialect), phase, inputs.audiences)
    runner.info(f"Pipeline '{release.name}': {pipeline_line(release, phase.id)}")
    _refuse_if_canceled(release, phase)

    before = phase.reported_status
    if already_in(phase, inputs.status):
        outcome = Outcome(release, phase.id, before, changed=False, created=created)
    elif inputs.dry_run:
        path = client.phase_path(inputs.project, inputs.flag, phase.id)
        show_planned_request(runner, client.planned_request("PUT", path, body))
        outcome = Outcome(release, phase.id, before, changed=False, dry_run=True)
    else:
        updated = _start(inputs, client, runner, phase, body=body, dialect=dialect)
        _require_phase(updated, phase)
        outcome = Outcome(updated, phase.id, before, changed=True, created=created)

    if inputs.wait_for is WaitFor.NONE:
        return outcome
    if inputs.dry_run:
        runner.info(f"Dry run: not waiting for the phase to be {inputs.wait_for.value}.")
        return outcome
    runner.info(_change(outcome))  # where things stand before the wait
    waited = wait_for_phase(
        outcome.release,
        outcome.phase_id,
        inputs.wait_for,
        fetch=lambda until: client.get_release(inputs.project, inputs.flag, until=until),
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
        runner.set_outputs(planned_attach_outputs())
        runner.append_summary(headline_summary(runner.redactor, headline, inputs.project, inputs.flag))
    else:
        parts = [attach_sentence(outcome.release.release_pipeline_key)] if outcome.created else []
        parts.append(_change(outcome))
        if outcome.wait is not None:
            parts.append(wait_note(inputs.wait_for.value, outcome.wait.seconds, outcome.wait.polls))
        headline = " ".join(parts)
        runner.set_outputs(
            outputs(outcome.release, outcome.phase, changed=outcome.changed, created=outcome.created)
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


def _change(outcome: Outcome) -> str:
    return change_sentence(outcome.phase, outcome.before, changed=outcome.changed, dry_run=outcome.dry_run)


def _release_of(
    inputs: ActionInputs, client: LaunchDarklyClient, runner: Runner
) -> tuple[Release | None, bool]:
    """The flag's release, and whether this step put the flag on its pipeline to get it.

    A flag with no release is put on ``release-pipeline`` when that is set; a flag already on
    another pipeline is never moved.
    """
    wanted = inputs.release_pipeline
    try:
        release = client.get_release(inputs.project, inputs.flag)
    except LaunchDarklyRefusal as refusal:
        if refusal.status != 404 or not wanted:
            raise
    else:
        if wanted and release.release_pipeline_key != wanted:
            raise errors.on_another_pipeline(inputs.flag, release.release_pipeline_key, wanted)
        return release, False
    body: dict[str, object] = {"releasePipelineKey": wanted}
    if inputs.release_variation:
        body["releaseVariationId"] = inputs.release_variation
    runner.info(f"Flag '{inputs.flag}' has no release yet: putting it on release pipeline '{wanted}'.")
    if inputs.dry_run:
        path = client.create_release_path(inputs.project, inputs.flag)
        show_planned_request(runner, client.planned_request("PUT", path, body))
        runner.info("Dry run: the phase is found once the flag is on the pipeline, so the dry run ends here.")
        return None, False
    return client.create_release(inputs.project, inputs.flag, body), True


def _start(
    inputs: ActionInputs,
    client: LaunchDarklyClient,
    runner: Runner,
    phase: ReleasePhase,
    *,
    body: dict[str, object],
    dialect: Dialect,
) -> Release:
    """Send the status in the release's own spelling; on the live service's refusal of that
    spelling, send the other one once. A 400 changed nothing, so the second try is safe."""
    sent = body["status"]
    runner.info(f"Sending status '{sent}' ({_DIALECT_WORDS[dialect]}).")
    try:
        return client.update_phase_status(inputs.project, inputs.flag, phase.id, body)
    except LaunchDarklyRefusal as refusal:
        if refusal.status != 400 or refusal.reason != ONLY_ACTIVE_REFUSAL:
            raise
        other = inputs.status.spelling(dialect.other)
        runner.info(f"LaunchDarkly refused status '{sent}' ({refusal.reason}); sending '{other}' instead.")
    updated = client.update_phase_status(inputs.project, inputs.flag, phase.id, body | {"status": other})
    runner.info(f"LaunchDarkly took status '{other}'.")
    return updated


_DIALECT_WORDS = {
    Dialect.LIVE: "the release speaks LaunchDarkly's live spelling",
    Dialect.SPEC: "the release speaks the API specification's spelling",
}


def _refuse_if_canceled(release: Release, phase: ReleasePhase) -> None:
    if release.canceled_at is not None:
        raise errors.release_canceled(phase.name)


def _require_phase(release: Release, phase: ReleasePhase) -> None:
    if release.phase_by_id(phase.id) is None:
        raise errors.phase_missing_from_answer(phase.name, phase.id)
