"""What people read of an environment-release step: its progress as log lines, and its result
as a headline, outputs and a summary. Every sentence of a successful step is written here."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ld_release_phase.plumbing.text import human_duration, plural
from ld_release_phase.surfaces.base import Result, Strong, Summary, Table

from .core import Outcome
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
from .inputs import Operation, ReleaseInputs, percent
from .models import EnvironmentRelease, Flag, Phase, Status
from .plan import shown

# Every output, in the order environment-release/action.yml declares them.
OUTPUT_NAMES = (
    "release-id",
    "status",
    "status-reason",
    "kind",
    "changed",
    "phase-index",
    "phase-status",
    "step-index",
    "allocation",
    "release",
)
DOCUMENT_OUTPUTS = frozenset({"release"})
_WHY_NOT_WAITING_LONG = (
    " LaunchDarkly moves the release on as its steps' durations pass; a revert, or a wait for a person,"
    " ends the wait at once."
)


def lines(event: Progress) -> list[str]:  # noqa: PLR0911 - one answer per kind of event
    """The log lines an event reads as (a dry run's request is shown by the surface itself)."""
    match event:
        case StepBegins():
            return [
                f"Environment release: {event.operation} in project '{event.project}', flag '{event.flag}', "
                f"environment '{event.environment}'" + (" (dry run)" if event.dry_run else "")
            ]
        case Planned():
            return [f"From variation {shown(event.original)} to {shown(event.target)}."]
        case AlreadyRunning():
            return [
                f"Release {event.release.id} of this step is already {event.release.status}: a re-run, so "
                "nothing is started again."
            ]
        case AlreadyEnded():
            return [
                f"Release {event.release.id} has already ended ({event.release.status}); nothing to stop."
            ]
        case ReadAfterUncertainStart():
            found = (
                f"release {event.found.id} is this step's" if event.found else "no release of this step runs"
            )
            return [f"The start's answer was lost ({event.cause}); read the releases instead: {found}."]
        case Released():
            return [position(event.release)]
        case WaitBegins():
            return [
                f"Waiting up to {human_duration(event.timeout)} for release {event.release.id} to complete "
                f"(checking every {human_duration(event.interval)})." + _WHY_NOT_WAITING_LONG
            ]
        case WaitGoesOn():
            return [f"After {human_duration(event.waited)}: {position(event.release)}"]
        case WouldSend():
            return []
    return []


def _running_or_done(release: EnvironmentRelease) -> str:
    return "running" if release.running else release.status


def allocation_now(phase: Phase) -> str:
    """The share of a phase's contexts served the target now, in percent: its current step's
    while it runs; 100 once it completed and 0 once it reverted, as the spec says."""
    if phase.status == Status.COMPLETED:
        return "100"
    if phase.status == Status.REVERTED:
        return "0"
    step = phase.current_step
    return percent(step.allocation) if step is not None else ""


def position(release: EnvironmentRelease) -> str:
    """Where a release stands: ``in_progress, phase 1 of 2, step 2 of 3 at 25%``."""
    said = release.status + (f" ({release.status_reason})" if release.status_reason else "")
    phase = release.current_phase
    if phase is None:
        return f"Release {release.id}: {said}."
    where = f"phase {phase.index + 1} of {len(release.phases)}"
    step = phase.current_step
    if step is not None and phase.status not in (Status.COMPLETED, Status.REVERTED):
        where += f", step {step.index + 1} of {len(phase.steps)} at {percent(step.allocation)}%"
    else:
        where += f" {phase.status} at {allocation_now(phase)}%" if phase.status else ""
    return f"Release {release.id}: {said}, {where}."


def result(outcome: Outcome, inputs: ReleaseInputs) -> Result:
    heading = f"LaunchDarkly environment release: {inputs.flag} in {inputs.environment} ({inputs.project})"
    headline = _headline(outcome, inputs)
    release = outcome.release
    blocks: list[Any] = [[headline]]
    if release is not None:
        blocks += _release_blocks(release, outcome.flag)
    return Result(
        headline=headline,
        title=f"LaunchDarkly: {inputs.flag} in {inputs.environment}",
        outputs=outputs(release, changed=outcome.changed),
        documents=DOCUMENT_OUTPUTS,
        summary=Summary(heading, blocks),
    )


def _headline(outcome: Outcome, inputs: ReleaseInputs) -> str:
    release = outcome.release
    if release is None:
        return "Dry run: the release would be started; nothing was changed."
    said = {
        (Operation.START, True): f"Started release {release.id}.",
        (
            Operation.START,
            False,
        ): f"Release {release.id} of this step was already {_running_or_done(release)}; nothing was started.",
        (
            Operation.STOP,
            True,
        ): f"Stopped release {release.id} ({inputs.resolution.value if inputs.resolution else ''}).",
        (Operation.STOP, False): f"Release {release.id} had already ended; nothing was stopped.",
        (Operation.STATUS, False): f"Read release {release.id}.",
    }[(outcome.operation, outcome.changed)]
    if outcome.dry_run:
        said = f"Dry run: release {release.id} would be stopped; nothing was changed."
    text = f"{said} It is {release.status}" + (
        f" ({release.status_reason})." if release.status_reason else "."
    )
    if outcome.waited is not None and outcome.waited[1]:
        seconds, polls = outcome.waited
        text += f" Waited {human_duration(seconds)} ({plural(polls, 'poll')}) for it to complete."
    return text


def outputs(release: EnvironmentRelease | None, *, changed: bool) -> dict[str, Any]:
    """Every output, typed; a dry-run start has no release yet, so its outputs are empty."""
    if release is None:
        return dict.fromkeys(OUTPUT_NAMES, "") | {"changed": False, "release": None}
    phase = release.current_phase
    return {
        "release-id": release.id,
        "status": release.status,
        "status-reason": release.status_reason or "",
        "kind": release.kind,
        "changed": changed,
        "phase-index": phase.index if phase is not None else "",
        "phase-status": phase.status if phase is not None else "",
        "step-index": phase.current_step_index
        if phase is not None and phase.current_step_index is not None
        else "",
        "allocation": allocation_now(phase) if phase is not None else "",
        "release": release.raw or release.model_dump(by_alias=True),
    }


def _release_blocks(release: EnvironmentRelease, flag: Flag | None) -> list[Any]:
    variations = {variation.id: variation for variation in flag.variations} if flag else {}

    def variation(variation_id: str, value: Any) -> str:
        known = variations.get(variation_id)
        return shown(known) if known is not None else json.dumps(value, ensure_ascii=False)

    lead: list[Any] = [
        f"{(release.kind or 'environment').capitalize()} release ",
        Strong(release.id),
        f": {release.status}" + (f" ({release.status_reason})" if release.status_reason else ""),
        f", from {variation(release.original_variation_id, release.original_variation_value)}"
        f" to {variation(release.target_variation_id, release.target_variation_value)}",
        f", randomized by {release.randomization_unit}" if release.randomization_unit else "",
    ]
    blocks: list[Any] = [
        lead,
        Table(["Phase", "Status", "Step", "Allocation", "Started", "Ended"], _step_rows(release.phases)),
    ]
    if release.metrics:
        metric_rows = [
            [
                metric.key,
                "rolls back" if metric.auto_rollback else "pauses",
                *_metric_statuses(release.phases, metric.key),
            ]
            for metric in release.metrics
        ]
        header = ["Metric", "On a regression", *[f"Phase {phase.index + 1}" for phase in release.phases]]
        blocks.append(Table(header, metric_rows))
    return blocks


def _step_rows(phases: list[Phase]) -> list[list[str]]:
    rows = []
    for phase in phases:
        name = f"{phase.index + 1}. {phase.description or phase.rule_id or phase.id}"
        status = phase.status + (f" ({phase.status_reason})" if phase.status_reason else "")
        for step in phase.steps or []:
            current = "▶ " if step.index == phase.current_step_index and phase.status == "in_progress" else ""
            rows.append(
                [
                    name,
                    status,
                    f"{current}{step.index + 1} of {len(phase.steps)} "
                    f"({human_duration(step.duration_millis / 1000)})",
                    f"{percent(step.allocation)}%",
                    _time(step.started_at),
                    _time(step.ended_at),
                ]
            )
            name, status = "", ""
        if not phase.steps:
            rows.append([name, status, "-", "-", _time(phase.started_at), _time(phase.ended_at)])
    return rows


def _metric_statuses(phases: list[Phase], key: str) -> list[str]:
    return [phase.metric_statuses.get(key, "-") for phase in phases]


def _time(epoch_millis: int | None) -> str:
    if epoch_millis is None:
        return "-"
    return datetime.fromtimestamp(epoch_millis / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
