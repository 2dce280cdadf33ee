"""The job, step by step: read the release, pick the phase, set its status, wait, report."""

from __future__ import annotations

import json

from .client import ONLY_ACTIVE_REFUSAL, Clock, Exchange, LaunchDarklyClient, RetryPolicy
from .errors import ActionError, ExitCode, LaunchDarklyRefusal, bad_input
from .inputs import ActionInputs, WaitFor
from .models import Dialect, Release, ReleasePhase
from .release import already_in, request_body, resolve_phase
from .report import (
    Outcome,
    attach_sentence,
    change_sentence,
    outputs,
    pipeline_line,
    planned_attach_outputs,
    summary,
    wait_note,
)
from .runner import Runner
from .text import markdown
from .waiting import wait_for_phase


class RunnerClientLog:
    """Shows the client's traffic in the log: a folded group per call, bodies only in debug."""

    def __init__(self, runner: Runner):
        self._runner = runner

    def retrying(self, message: str) -> None:
        self._runner.info(f"Retrying: {message}")

    def exchange(self, exchange: Exchange) -> None:
        answer = f"HTTP {exchange.status}" if exchange.status is not None else "no answer"
        title = f"{exchange.method} {exchange.path} → {answer} in {exchange.elapsed * 1000:.0f} ms"
        if exchange.attempt > 1:
            title += f" (attempt {exchange.attempt})"
        runner = self._runner
        with runner.group(title):
            runner.info(f"{exchange.method} {exchange.url}")
            runner.info("Request headers: " + _header_list(exchange.request_headers))
            received = f"{answer}, {len(exchange.response_body.encode())} bytes"
            if exchange.response_headers:
                received += "; " + _header_list(exchange.response_headers)
            runner.info(f"Response: {received}")
            if not runner.debug_enabled:
                runner.info("Bodies are shown when the run has step debug logging on.")
                return
            if exchange.request_body:
                runner.info("Request body:")
                runner.verbatim(exchange.request_body)
            runner.info("Response body:")
            runner.verbatim(exchange.response_body or "(empty)")


def _header_list(headers: dict[str, str]) -> str:
    return ", ".join(f"{name}: {value}" for name, value in headers.items())


def make_client(inputs: ActionInputs, runner: Runner, clock: Clock | None = None) -> LaunchDarklyClient:
    policy = RetryPolicy(max_retries=inputs.max_retries, timeout=inputs.request_timeout)
    return LaunchDarklyClient(
        inputs.base_uri,
        access_token=inputs.access_token.get_secret_value(),
        policy=policy,
        log=RunnerClientLog(runner),
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
        _show_planned_request(
            runner, client.url(client.phase_path(inputs.project, inputs.flag, phase.id)), client, body
        )
        outcome = Outcome(release, phase.id, before, changed=False, dry_run=True)
    else:
        updated = _update(inputs, client, runner, phase, body=body, dialect=dialect)
        _require_phase(updated, phase)
        outcome = Outcome(updated, phase.id, before, changed=True, created=created)

    if inputs.wait_for is not WaitFor.NONE:
        if inputs.dry_run:
            runner.info(f"Dry run: not waiting for the phase to be {inputs.wait_for.value}.")
        else:
            runner.info(change_sentence(outcome))  # where things stand before the wait
            outcome = _wait(outcome, inputs, client, runner, clock)
    return outcome


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
            raise bad_input(
                "release-pipeline",
                f"Flag '{inputs.flag}' is already on release pipeline "
                f"'{release.release_pipeline_key}', not '{wanted}'. This action never moves a flag "
                "to another pipeline.",
                f"Set release-pipeline to '{release.release_pipeline_key}' (or leave it empty), or "
                "take the flag off its pipeline in LaunchDarkly first.",
            )
        return release, False
    body: dict[str, object] = {"releasePipelineKey": wanted}
    if inputs.release_variation:
        body["releaseVariationId"] = inputs.release_variation
    runner.info(f"Flag '{inputs.flag}' has no release yet: putting it on release pipeline '{wanted}'.")
    if inputs.dry_run:
        _show_planned_request(
            runner, client.url(client.create_release_path(inputs.project, inputs.flag)), client, body
        )
        runner.info("Dry run: the phase is found once the flag is on the pipeline, so the dry run ends here.")
        return None, False
    return client.create_release(inputs.project, inputs.flag, body), True


def _update(
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


def report(outcome: Outcome | None, inputs: ActionInputs, runner: Runner) -> None:
    if outcome is None:
        sentence = (
            f"Dry run: the flag would be put on release pipeline '{inputs.release_pipeline}'; "
            "nothing was changed."
        )
        runner.set_outputs(planned_attach_outputs())
        runner.append_summary(
            f"### LaunchDarkly release: {markdown(inputs.flag)}\n\n{markdown(sentence)}\n\n"
        )
    else:
        runner.set_outputs(outputs(outcome))
        runner.append_summary(summary(outcome, inputs.project, inputs.flag))
        sentence = attach_sentence(outcome) + change_sentence(outcome)
        sentence += f" {outcome.wait_note}" if outcome.wait_note else ""
    runner.notice(sentence, title=f"LaunchDarkly: {inputs.flag}")


def _wait(
    outcome: Outcome, inputs: ActionInputs, client: LaunchDarklyClient, runner: Runner, clock: Clock
) -> Outcome:
    result = wait_for_phase(
        outcome.release,
        outcome.phase_id,
        inputs.wait_for,
        fetch=lambda until: client.get_release(inputs.project, inputs.flag, until=until),
        timeout=inputs.wait_timeout,
        interval=inputs.poll_interval,
        clock=clock,
        log=runner.info,
    )
    note = wait_note(inputs.wait_for.value, result.waited, result.polls)
    return Outcome(
        result.release,
        outcome.phase_id,
        outcome.before,
        outcome.changed,
        created=outcome.created,
        wait_note=note,
    )


def _show_planned_request(
    runner: Runner, url: str, client: LaunchDarklyClient, body: dict[str, object]
) -> None:
    runner.info(f"Dry run: would send PUT {url}")
    runner.info("with headers " + _header_list(client.shown_headers(with_body=True)))
    runner.verbatim(json.dumps(body, indent=2, ensure_ascii=False))


def _refuse_if_canceled(release: Release, phase: ReleasePhase) -> None:
    if release.canceled_at is not None:
        raise ActionError(
            title="Release canceled",
            message=f"The flag's release was canceled, so phase '{phase.name}' cannot be changed.",
            hint="Start a new release for the flag in LaunchDarkly, then run again.",
            exit_code=ExitCode.NOT_REACHED,
        )


def _require_phase(release: Release, phase: ReleasePhase) -> None:
    if release.phase_by_id(phase.id) is None:
        raise ActionError(
            title="Unexpected answer from LaunchDarkly",
            message=f"LaunchDarkly's answer to the update does not include phase '{phase.name}' "
            f"({phase.id}).",
            hint="Check the flag's release in LaunchDarkly.",
            exit_code=ExitCode.API_FAILURE,
        )
