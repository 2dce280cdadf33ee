"""What starting a release-pipeline phase says when something fails: each sentence once.

The failures any operation can meet (inputs in general, the network, the runner) are in
:mod:`..failures`; these are the ones about a flag's release, its phases and their audiences.
"""

from __future__ import annotations

from ld_release_phase.failures import (
    ExitCode,
    Failure,
    NotFound,
    RefusalHints,
    Refused,
    bad_input,
    not_found,
    say,
    unexpected_answer,
)
from ld_release_phase.plumbing.text import human_duration, plural
from ld_release_phase.plumbing.words import Words, ref

_NEW_RELEASE = "Start a new release for the flag in LaunchDarkly, then run again."

REFUSAL_HINTS = RefusalHints(
    bad_request=say(
        "Check ", ref("status"), " and ", ref("audiences"), " against the phase's state in LaunchDarkly."
    ),
    access="The token's role must allow updating release pipelines on this project and flag. This beta API "
    "also needs the LD-API-Version: beta header, which this action always sends; a proxy may be "
    "stripping it.",
)


# -- inputs: what is wrong, said after the input's name -------------------------------------

STATUS_REFUSED = say(
    "LaunchDarkly only lets a phase be started by hand (",
    ref("status", "active"),
    ") and answers any other status with HTTP 400. LaunchDarkly completes a phase when the next one starts: "
    "start the next phase (",
    ref("phase", "next"),
    ").",
)


def status_cannot_be_set(shown: str) -> Words:
    return say(f"{shown} cannot be set: ", STATUS_REFUSED)


def status_unknown(shown: str, suggestion: str) -> str:
    return f"must be active (also spelt started or start); got {shown}.{suggestion}"


PHASE_REQUIRED = "is required but empty. Give the phase's id, its name, or 'next'."


def phase_not_one_line(max_length: int) -> str:
    return f"must be one line of at most {max_length} characters: a phase id, a phase name, or 'next'."


def variation_not_one_line(max_length: int) -> str:
    return f"must be one line of at most {max_length} characters: the id of one of the flag's variations."


VARIATION_NEEDS_PIPELINE = say(
    "is only used when a flag is put on a pipeline; set ", ref("release-pipeline"), " too."
)


def audiences_too_large(kib: int) -> str:
    return f"is over {kib} KiB; a phase's audiences fit in far less."


def audiences_not_a_list(kind: str) -> str:
    return f"must be a list of audience entries; got {kind}."


def audiences_too_many(count: int, limit: int) -> str:
    return f"lists {count} entries; at most {limit} are accepted."


def audience_entry_names(given: list[str]) -> str:
    return "each entry needs exactly one of audienceId, audienceName or environmentKey" + (
        f" (got {' and '.join(given)})" if given else ""
    )


# -- the release --------------------------------------------------------------------------


def on_another_pipeline(flag: str, current: str, wanted: str) -> Failure:
    return bad_input(
        "release-pipeline",
        f"Flag '{flag}' is already on release pipeline '{current}', not '{wanted}'. This action never "
        "moves a flag to another pipeline.",
        say(
            "Set ",
            ref("release-pipeline"),
            f" to '{current}' (or leave it empty), or take the flag off its pipeline in LaunchDarkly first.",
        ),
    )


def phase_not_found(pipeline: str, wanted: str, phases: str, suggestion: str = "") -> Failure:
    return Failure(
        title="Phase not found",
        message=f"Pipeline '{pipeline}' has no phase with id or name '{wanted}'.{suggestion} "
        f"Its phases are: {phases}.",
        hint=say("Set ", ref("phase"), " to one of these names, a phase id, or 'next'."),
        exit_code=ExitCode.NOT_FOUND,
    )


def phase_ambiguous(pipeline: str, wanted: str, ids: list[str]) -> Failure:
    return bad_input(
        "phase",
        f"{len(ids)} phases of pipeline '{pipeline}' are named '{wanted}' (ids {', '.join(ids)}).",
        say("Set ", ref("phase"), " to one of these ids instead of the name."),
    )


def no_next_phase(pipeline: str) -> Failure:
    return Failure(
        title="No next phase",
        message=f"Every phase of pipeline '{pipeline}' has already started or completed, so there is no "
        "next phase to act on.",
        hint=say("Name the phase in ", ref("phase"), ", or skip this step once the release is done."),
        exit_code=ExitCode.NOT_FOUND,
    )


def audiences_not_listed(field: str, phase: str) -> Failure:
    """A name or an environment given for a phase LaunchDarkly sent without its audiences: the
    ways on are what a user can do or see (LaunchDarkly was recorded leaving out the audiences
    of a new release's phases after the first, and lists an audience's id nowhere else)."""
    return bad_input(
        "audiences",
        f"{field}: LaunchDarkly sent phase '{phase}' without its audiences, so an audience cannot be "
        "looked up by name or environment: LaunchDarkly leaves out the audiences of phases not yet "
        "reached.",
        f"Run this step when '{phase}' is the next phase (once the phase before it has started), or give "
        "the audience's audienceId: LaunchDarkly lists it in the flag's release, as each audience's _id, "
        "once it sends the phase's audiences.",
    )


def audience_not_matched(
    field: str, label: str, phase: str, available: str, *, several: bool, suggestion: str = ""
) -> Failure:
    problem = "matches more than one audience" if several else "is not an audience"
    return bad_input(
        "audiences",
        f"{field}: {label} {problem} of phase '{phase}'.{suggestion} Its audiences are: {available}.",
        "Use the audienceId of one of these audiences.",
    )


def release_canceled(phase: str, *, waited: float | None = None) -> Failure:
    """The release was canceled: before anything was written, or while waiting."""
    when = "" if waited is None else f" while waiting (after {human_duration(waited)})"
    return Failure(
        title="Release canceled",
        message=f"The flag's release was canceled{when}, so phase '{phase}' cannot be changed or reached.",
        hint=_NEW_RELEASE,
        exit_code=ExitCode.NOT_REACHED,
    )


# -- waiting ------------------------------------------------------------------------------


def wait_timed_out(phase: str, goal: str, waited: float, polls: int, last_status: str) -> Failure:
    return Failure(
        title="Timed out waiting for the phase",
        message=f"Phase '{phase}' was not {goal} after {human_duration(waited)} ({plural(polls, 'poll')}); "
        f"its last status was {last_status}.",
        hint=say(
            "Raise ", ref("wait-timeout"), ", or check the phase's audiences and approvals in LaunchDarkly."
        ),
        exit_code=ExitCode.NOT_REACHED,
    )


def phase_disappeared(phase_id: str) -> Failure:
    return Failure(
        title="Phase disappeared",
        message=f"The release no longer has phase id {phase_id}; it may have been replaced.",
        hint="Check the flag's release in LaunchDarkly and run again.",
        exit_code=ExitCode.NOT_REACHED,
    )


def phase_paused(phase: str, goal: str, waited: float) -> Failure:
    return Failure(
        title="Phase paused",
        message=f"Phase '{phase}' is paused, so it will not become {goal} by itself "
        f"(after {human_duration(waited)}).",
        hint="Resume the phase in LaunchDarkly, then run again.",
        exit_code=ExitCode.NOT_REACHED,
    )


# -- LaunchDarkly's answers ---------------------------------------------------------------


def phase_missing_from_answer(phase: str, phase_id: str) -> Failure:
    return unexpected_answer(
        f"LaunchDarkly's answer to the update does not include phase '{phase}' ({phase_id}).",
        "Check the flag's release in LaunchDarkly.",
    )


def legacy_pipeline(pipeline: str, refused: Refused) -> Failure:
    return Failure(
        title="A legacy release pipeline",
        message=f"LaunchDarkly refused the phase update (HTTP 400 {refused.detail}), and release pipeline "
        f"'{pipeline}' is a legacy pipeline. LaunchDarkly's specification updates a legacy pipeline's "
        "releases with a PATCH of the release, which marks a phase complete, not with the phase-status "
        "update this action sends. (What the live service answers here is not recorded.)",
        hint="Move the flag to a current (non-legacy) release pipeline in LaunchDarkly, or move the "
        "phase on in LaunchDarkly's UI. Release pipelines are deprecated: for new work, consider the "
        "environment-release action.",
        exit_code=ExitCode.API_FAILURE,
    )


def no_release(refused: NotFound, project: str, flag: str) -> NotFound:
    return not_found(
        refused,
        f"No release found for flag '{flag}' in project '{project}'.",
        say(
            "Check the project and flag keys, and that the flag is on a release pipeline in LaunchDarkly "
            "(or set ",
            ref("release-pipeline"),
            " to put it on one).",
        ),
    )


def no_flag_or_pipeline(refused: NotFound, project: str, flag: str, pipeline: str) -> NotFound:
    return not_found(
        refused,
        f"LaunchDarkly has no flag '{flag}' or no release pipeline '{pipeline}' in project '{project}'.",
        say(
            "Check the project and flag keys, and ",
            ref("release-pipeline"),
            " against LaunchDarkly (Flags > Release pipelines).",
        ),
    )


def no_phase(refused: NotFound, project: str, flag: str, phase_id: str) -> NotFound:
    return not_found(
        refused,
        f"Phase '{phase_id}' of flag '{flag}' in project '{project}' was not found.",
        "The release may have been replaced or removed since it was read; run again.",
    )
