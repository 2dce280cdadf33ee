"""What people read: the log's lines and groups, the step summary, and the step outputs.

Everything here renders values it is given; what happened is decided by the orchestration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .client import Exchange, PlannedRequest
from .errors import ActionError
from .models import PhaseState, Release, ReleasePhase
from .runner import Runner
from .text import Redactor, human_duration, plural

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


# -- the log ------------------------------------------------------------------------------


class ClientTrafficLog:
    """Shows the client's calls: in a workflow a folded group per call (bodies in debug mode),
    as a command one line per call (every detail with ``--verbose``). A wait's reads show only
    in debug mode: the wait itself says what changes."""

    def __init__(self, runner: Runner):
        self._runner = runner
        self._told_about_bodies = False

    def retrying(self, message: str) -> None:
        self._runner.info(f"Retrying: {message}")

    def exchange(self, exchange: Exchange) -> None:
        runner = self._runner
        if exchange.poll and not runner.debug_enabled:
            return
        answer = f"HTTP {exchange.status}" if exchange.status is not None else "no answer"
        title = f"{exchange.method} {exchange.path} → {answer} in {exchange.elapsed * 1000:.0f} ms"
        if exchange.attempt > 1:
            title += f" (attempt {exchange.attempt})"
        if not runner.details_shown:
            runner.info(title)
            return
        with runner.group(title):
            runner.info(f"{exchange.method} {exchange.url}")
            runner.info("Request headers: " + header_list(exchange.request_headers))
            received = f"{answer}, {len(exchange.response_body.encode()):,} bytes"
            if exchange.response_headers:
                received += "; " + header_list(exchange.response_headers)
            runner.info(f"Response: {received}")
            if runner.debug_enabled:
                if exchange.request_body:
                    runner.info("Request body:")
                    runner.verbatim(_indented(exchange.request_body))
                runner.info("Response body:")
                runner.verbatim(_indented(exchange.response_body) or "(empty)")
            elif not self._told_about_bodies:
                runner.info("Request and response bodies are shown when the run has step debug logging on.")
                self._told_about_bodies = True


def show_planned_request(runner: Runner, planned: PlannedRequest) -> None:
    """A dry run's request: what would be sent, the token shown as ``***``."""
    runner.info(f"Dry run: would send {planned.method} {planned.url}")
    runner.info("with headers " + header_list(planned.headers))
    runner.verbatim(json.dumps(planned.body, indent=2, ensure_ascii=False))


def header_list(headers: Mapping[str, str]) -> str:
    return ", ".join(f"{name}: {value}" for name, value in headers.items())


def _indented(body: str) -> str:
    """A JSON body indented for reading; anything else as it came."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body


def pipeline_line(release: Release, target_id: str) -> str:
    """One line showing every phase, e.g. ``✓ Testing → [▶ QA] → · Production``."""
    parts = []
    for phase in release.phases:
        shown = f"{_MARKS[phase.state]} {phase.name or phase.id}"
        parts.append(f"[{shown}]" if phase.id == target_id else shown)
    return " → ".join(parts) if parts else "(no phases)"


# -- sentences ----------------------------------------------------------------------------


def change_sentence(phase: ReleasePhase, before: str, *, sent: bool, changed: bool, dry_run: bool) -> str:
    where = f"Phase '{phase.name}'"
    if dry_run:
        return f"{where} is {before}; dry run, nothing was changed."
    if changed:
        return f"{where}: {before} → {phase.reported_status}."
    if sent:
        return f"{where}: LaunchDarkly took the start, and shows the phase {phase.reported_status}."
    return f"{where} is already {phase.reported_status}; nothing to change."


def attach_sentence(pipeline_key: str) -> str:
    return f"Put the flag on release pipeline '{pipeline_key}'."


def wait_note(goal: str, waited: float, polls: int) -> str:
    return f"Waited {human_duration(waited)} ({plural(polls, 'poll')}) for the phase to be {goal}."


def audiences_line(phase: ReleasePhase) -> str:
    """Each of the phase's audiences with its own status, as LaunchDarkly sends it."""
    shown = "; ".join(
        f"{aud.name} ({aud.environment_key or 'no environment'}): {aud.status or 'no status'}"
        for aud in phase.audiences or ()
    )
    return f"Audiences of phase '{phase.name}', as LaunchDarkly reports them: {shown}."


# -- outputs ------------------------------------------------------------------------------


def outputs(release: Release, phase: ReleasePhase, *, changed: bool, created: bool) -> dict[str, Any]:
    """Every output, typed: the runner writes them as GitHub's strings, or as JSON."""
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


# -- the step summary -----------------------------------------------------------------------


def summary(
    redactor: Redactor, release: Release, *, target_id: str, headline: str, project: str, flag: str
) -> str:
    markdown = redactor.markdown
    lines = [
        f"### LaunchDarkly release: {markdown(flag)} in {markdown(project)}",
        "",
        f"Pipeline **{markdown(release.name or release.release_pipeline_key)}**"
        + (f", release version {release.version}" if release.version is not None else ""),
        "",
        markdown(headline),
        "",
        "| | Phase | Status | Started | Complete | Audiences (environment): status |",
        "|---|---|---|---|---|---|",
    ]
    for phase in release.phases:
        marker = "➡️" if phase.id == target_id else ""
        audiences = ", ".join(
            f"{markdown(aud.name)} ({markdown(aud.environment_key or '-')}): {markdown(aud.status or '-')}"
            for aud in phase.audiences or ()
        )
        lines.append(
            f"| {marker} | {markdown(phase.name or phase.id)} | {markdown(phase.reported_status)} | "
            f"{_yes(phase.is_started)} | {_yes(phase.is_complete)} | {audiences or '-'} |"
        )
    return "\n".join(lines) + "\n\n"


def headline_summary(redactor: Redactor, headline: str, project: str, flag: str) -> str:
    markdown = redactor.markdown
    return f"### LaunchDarkly release: {markdown(flag)} in {markdown(project)}\n\n{markdown(headline)}\n\n"


def failure_summary(redactor: Redactor, error: ActionError) -> str:
    markdown = redactor.markdown
    lines = [f"### ❌ {markdown(error.title)}", ""]
    lines += [markdown(line) + "  " for line in error.message.splitlines()]
    if error.hint:
        lines += ["", f"**Fix:** {markdown(error.hint)}"]
    return "\n".join(lines) + "\n\n"


def _yes(value: bool) -> str:
    return "✅" if value else "—"
