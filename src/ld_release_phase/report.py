"""What people read: log lines, the step summary, and the step outputs of a run."""

from __future__ import annotations

import json
from typing import NamedTuple

from .errors import ActionError
from .models import PhaseState, Release, ReleasePhase
from .text import human_duration, markdown

_MARKS = {
    PhaseState.COMPLETE: "✓",
    PhaseState.STARTED: "▶",
    PhaseState.PAUSED: "⏸",
    PhaseState.READY_TO_START: "○",
    PhaseState.NOT_STARTED: "·",
}


class Outcome(NamedTuple):
    """How a run ended: the release as last seen, the target phase, and what happened to it."""

    release: Release
    phase_id: str
    before: str
    changed: bool
    dry_run: bool = False
    created: bool = False  # this step put the flag on its release pipeline
    wait_note: str = ""

    @property
    def phase(self) -> ReleasePhase:
        phase = self.release.phase_by_id(self.phase_id)
        assert phase is not None, "the orchestration checks the phase is in every release it keeps"
        return phase


def pipeline_line(release: Release, target_id: str) -> str:
    """One line showing every phase, e.g. ``✓ Testing → [▶ QA] → · Production``."""
    parts = []
    for phase in release.phases:
        text = f"{_MARKS[phase.state]} {phase.name or phase.id}"
        parts.append(f"[{text}]" if phase.id == target_id else text)
    return " → ".join(parts) if parts else "(no phases)"


def outputs(outcome: Outcome) -> dict[str, str]:
    phase = outcome.phase
    following = outcome.release.phase_after(phase.id)
    version = outcome.release.version
    return {
        "status": phase.reported_status,
        "started": _bool(phase.is_started),
        "complete": _bool(phase.is_complete),
        "changed": _bool(outcome.changed),
        "release-created": _bool(outcome.created),
        "phase-id": phase.id,
        "phase-name": phase.name,
        "next-phase-id": following.id if following else "",
        "next-phase-name": following.name if following else "",
        "release-version": "" if version is None else str(version),
        "release-pipeline-key": outcome.release.release_pipeline_key,
        "release": json.dumps(
            outcome.release.raw or outcome.release.model_dump(by_alias=True),
            separators=(",", ":"),
            ensure_ascii=False,
        ),
    }


def planned_attach_outputs() -> dict[str, str]:
    """The outputs of a dry run that stopped before the phase: nothing started, nothing changed."""
    return {
        name: "false" if name in ("started", "complete", "changed", "release-created") else ""
        for name in OUTPUT_NAMES
    }


def attach_sentence(outcome: Outcome) -> str:
    if not outcome.created:
        return ""
    return f"Put the flag on release pipeline '{outcome.release.release_pipeline_key}'. "


def change_sentence(outcome: Outcome) -> str:
    phase = outcome.phase
    where = f"Phase '{phase.name}'"
    if outcome.dry_run:
        return f"{where} is {outcome.before}; dry run, nothing was changed."
    if outcome.changed:
        return f"{where}: {outcome.before} → {phase.reported_status}."
    return f"{where} is already {phase.reported_status}; nothing to change."


def summary(outcome: Outcome, project: str, flag: str) -> str:
    release = outcome.release
    lines = [
        f"### LaunchDarkly release: {markdown(flag)} in {markdown(project)}",
        "",
        f"Pipeline **{markdown(release.name or release.release_pipeline_key)}**"
        + (f", release version {release.version}" if release.version is not None else ""),
        "",
        markdown(attach_sentence(outcome) + change_sentence(outcome)),
    ]
    if outcome.wait_note:
        lines += ["", markdown(outcome.wait_note)]
    lines += [
        "",
        "| | Phase | Status | Started | Complete | Audiences (environment) |",
        "|---|---|---|---|---|---|",
    ]
    for phase in release.phases:
        marker = "➡️" if phase.id == outcome.phase_id else ""
        audiences = ", ".join(
            f"{markdown(aud.name)} ({markdown(aud.environment_key or '-')})" for aud in phase.audiences or ()
        )
        lines.append(
            f"| {marker} | {markdown(phase.name or phase.id)} | {markdown(phase.reported_status)} | "
            f"{_yes(phase.is_started)} | {_yes(phase.is_complete)} | {audiences or '-'} |"
        )
    return "\n".join(lines) + "\n\n"


def failure_summary(error: ActionError) -> str:
    lines = [f"### ❌ {markdown(error.title)}", ""]
    lines += [markdown(line) + "  " for line in error.message.splitlines()]
    if error.hint:
        lines += ["", f"**Fix:** {markdown(error.hint)}"]
    return "\n".join(lines) + "\n\n"


def wait_note(reached: str, waited: float, polls: int) -> str:
    if polls == 0:
        return f"The phase was already {reached}; no waiting needed."
    polled = f"{polls} poll{'s' if polls != 1 else ''}"
    return f"Waited {human_duration(waited)} ({polled}) for the phase to be {reached}."


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
)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _yes(value: bool) -> str:
    return "✅" if value else "—"
