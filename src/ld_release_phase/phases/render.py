"""What people read of a phase step: its progress as log lines, and its result as a headline,
outputs and a summary. Every sentence of a successful step is written here, once; the surface
decides how each is shown."""

from __future__ import annotations

from typing import Any

from ld_release_phase.plumbing.text import human_duration, plural
from ld_release_phase.surfaces.base import Result, Strong, Summary, Table

from .core import Outcome, PlannedAttach
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
    WaitBegins,
    WaitGoesOn,
    WaitSawChange,
    WouldSend,
)
from .inputs import ActionInputs, WaitFor
from .models import Dialect, PhaseState, Release, ReleasePhase

_MARKS = {
    PhaseState.COMPLETE: "✓",
    PhaseState.STARTED: "▶",
    PhaseState.PAUSED: "⏸",
    PhaseState.READY_TO_START: "○",
    PhaseState.NOT_STARTED: "·",
}
# Every output the action writes, in the order action.yml declares them.
OUTPUT_NAMES = (
    "status",
    "started",
    "complete",
    "changed",
    "release-created",
    "phase-id",
    "phase-name",
    "next-phase-id",
    "next-phase-name",
    "release-version",
    "release-pipeline-key",
    "release",
    "audiences",
)
# The outputs that are JSON documents (``null`` when there is none): read with fromJSON.
DOCUMENT_OUTPUTS = frozenset({"release", "audiences"})
_FLAGS = ("started", "complete", "changed", "release-created")
_DIALECT_WORDS = {
    Dialect.LIVE: "the release speaks LaunchDarkly's live spelling",
    Dialect.SPEC: "the release speaks the API specification's spelling",
}
# Said once, when a wait begins, so nobody waits for what only another step can do, or reads
# more into "started" than LaunchDarkly's own word for the phase.
_WHO_MOVES_IT = {
    WaitFor.STARTED.value: (
        " The phase counts as started once LaunchDarkly reports it active; what LaunchDarkly shows while"
        " an approval is pending is not publicly documented."
    ),
    WaitFor.COMPLETE.value: (
        " LaunchDarkly completes a phase when the next phase starts (or when a guarded rollout"
        " ends), so another step or person must start the next phase."
    ),
}


# -- progress -----------------------------------------------------------------------------


def lines(event: Progress) -> list[str]:  # noqa: PLR0911, PLR0912 - one answer per kind of event
    """The log lines an event reads as (a dry run's request is shown by the surface itself)."""
    match event:
        case StepBegins():
            return [
                f"Release phase: project '{event.project}', flag '{event.flag}', phase '{event.phase}', "
                f"status {event.status}" + (" (dry run)" if event.dry_run else "")
            ]
        case PipelineRead():
            return [f"Pipeline '{event.release.name}': {pipeline_line(event.release, event.phase_id)}"]
        case Attaching():
            return [
                f"Flag '{event.flag}' has no release yet: putting it on release pipeline '{event.pipeline}'."
            ]
        case WouldSend(last=True):
            return ["Dry run: the phase is found once the flag is on the pipeline, so the dry run ends here."]
        case Sending():
            return [f"Sending status '{event.status}' ({_DIALECT_WORDS[event.dialect]})."]
        case SpellingSwitched():
            return [
                f"LaunchDarkly refused status '{event.refused}' ({event.reason}); sending '{event.other}' "
                "instead."
            ]
        case SpellingTaken():
            return [f"LaunchDarkly took status '{event.status}'."]
        case ReadAgain():
            return [
                f"Read again: phase '{event.phase.name}' is now {event.phase.reported_status}, so nothing is "
                "sent again."
            ]
        case AudiencesRead():
            return [audiences_line(event.phase)]
        case NotWaiting():
            return [f"Dry run: not waiting for the phase to be {event.goal}."]
        case WaitBegins():
            return [
                f"Waiting up to {human_duration(event.timeout)} for phase '{event.phase}' to be {event.goal} "
                f"(checking every {human_duration(event.interval)}); now {event.status}."
                + _WHO_MOVES_IT[event.goal]
            ]
        case WaitSawChange():
            return [
                f"Phase '{event.phase}': {event.before} → {event.after} after {human_duration(event.waited)}."
            ]
        case WaitGoesOn():
            return [
                f"Phase '{event.phase}' is still {event.status} after {human_duration(event.waited)} of "
                f"{human_duration(event.timeout)}."
            ]
    return []


def pipeline_line(release: Release, target_id: str) -> str:
    """One line showing every phase, e.g. ``✓ Testing → [▶ QA] → · Production``."""
    parts = []
    for phase in release.phases:
        shown = f"{_MARKS[phase.state]} {phase.name or phase.id}"
        parts.append(f"[{shown}]" if phase.id == target_id else shown)
    return " → ".join(parts) if parts else "(no phases)"


def audiences_line(phase: ReleasePhase) -> str:
    """Each of the phase's audiences with its own status, as LaunchDarkly sends it."""
    shown = "; ".join(
        f"{aud.name} ({aud.environment_key or 'no environment'}): {aud.status or 'no status'}"
        for aud in phase.audiences or ()
    )
    return f"Audiences of phase '{phase.name}', as LaunchDarkly reports them: {shown}."


# -- the result ---------------------------------------------------------------------------


def result(outcome: Outcome | PlannedAttach, inputs: ActionInputs) -> Result:
    """The headline, the outputs and the summary of a step that succeeded."""
    title = f"LaunchDarkly: {inputs.flag}"
    heading = f"LaunchDarkly release: {inputs.flag} in {inputs.project}"
    if isinstance(outcome, PlannedAttach):
        headline = (
            f"Dry run: the flag would be put on release pipeline '{outcome.pipeline}'; nothing was changed."
        )
        return Result(
            headline=headline,
            title=title,
            outputs=planned_attach_outputs(),
            documents=DOCUMENT_OUTPUTS,
            summary=Summary(heading, [[headline]]),
        )
    headline = _headline(outcome, inputs.wait_for)
    return Result(
        headline=headline,
        title=title,
        outputs=outputs(outcome.release, outcome.phase, changed=outcome.changed, created=outcome.created),
        documents=DOCUMENT_OUTPUTS,
        summary=summary(outcome.release, target_id=outcome.phase_id, headline=headline, heading=heading),
    )


def _headline(outcome: Outcome, goal: WaitFor) -> str:
    parts = (
        [f"Put the flag on release pipeline '{outcome.release.release_pipeline_key}'."]
        if outcome.created
        else []
    )
    parts.append(change_sentence(outcome))
    if outcome.wait is not None and outcome.wait.polls:
        waited = human_duration(outcome.wait.seconds)
        parts.append(
            f"Waited {waited} ({plural(outcome.wait.polls, 'poll')}) for the phase to be {goal.value}."
        )
    return " ".join(parts)


def change_sentence(outcome: Outcome) -> str:
    phase, before = outcome.phase, outcome.before
    where = f"Phase '{phase.name}'"
    if outcome.dry_run:
        return f"{where} is {before}; dry run, nothing was changed."
    if outcome.changed:
        return f"{where}: {before} → {phase.reported_status}."
    if outcome.sent:
        return f"{where}: LaunchDarkly took the start, and shows the phase {phase.reported_status}."
    if outcome.reread:
        return (
            f"{where} is {phase.reported_status}, as read again after a failed start; whether this step's "
            "start or another's did it cannot be told, so nothing is claimed."
        )
    return f"{where} is already {phase.reported_status}; nothing to change."


def outputs(release: Release, phase: ReleasePhase, *, changed: bool, created: bool) -> dict[str, Any]:
    """Every output, typed: the surface writes them as GitHub's strings, or as JSON."""
    following = release.phase_after(phase.id)
    return {
        "status": phase.reported_status,
        "started": phase.is_started,
        "complete": phase.is_complete,
        "changed": changed,
        "release-created": created,
        "phase-id": phase.id,
        "phase-name": phase.name,
        "next-phase-id": following.id if following else "",
        "next-phase-name": following.name if following else "",
        "release-version": release.version,
        "release-pipeline-key": release.release_pipeline_key,
        "release": release.raw or release.model_dump(by_alias=True),
        "audiences": audience_list(phase),
    }


def audience_list(phase: ReleasePhase) -> list[dict[str, str | None]] | None:
    """The phase's audiences as the ``audiences`` output: None when LaunchDarkly sent no list."""
    if phase.audiences is None:
        return None
    return [
        {"id": aud.id, "name": aud.name, "environment": aud.environment_key or None, "status": aud.status}
        for aud in phase.audiences
    ]


def planned_attach_outputs() -> dict[str, Any]:
    """The outputs of a dry run that stopped before the phase: nothing started, nothing changed,
    no release yet."""
    return {
        name: False if name in _FLAGS else None if name in DOCUMENT_OUTPUTS else "" for name in OUTPUT_NAMES
    } | {"release-version": None}


def summary(release: Release, *, target_id: str, headline: str, heading: str) -> Summary:
    pipeline: list[str | Strong] = ["Pipeline ", Strong(release.name or release.release_pipeline_key)]
    if release.version is not None:
        pipeline.append(f", release version {release.version}")
    rows = []
    for phase in release.phases:
        audiences = ", ".join(
            f"{aud.name} ({aud.environment_key or '-'}): {aud.status or '-'}" for aud in phase.audiences or ()
        )
        rows.append(
            [
                "➡️" if phase.id == target_id else "",
                phase.name or phase.id,
                phase.reported_status,
                _yes(phase.is_started),
                _yes(phase.is_complete),
                audiences or "-",
            ]
        )
    header = ["", "Phase", "Status", "Started", "Complete", "Audiences (environment): status"]
    return Summary(heading, [pipeline, [headline], Table(header, rows)])


def _yes(value: bool) -> str:
    return "✅" if value else "—"
