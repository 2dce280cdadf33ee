"""Failures as values, and the one catalogue of what the action says when something fails.

Each failure carries what a person needs to read (a title, what was wrong, what would be
right) and the exit code to end with. Every such sentence is written once, here, in a named
constructor; the modules that find a failure call the constructor.

A message names an input with :func:`ref` rather than spelling it: the runner shows it the way
the user gave it (``'phase'`` in a workflow, ``--phase`` on a command line, ``$LD_ACCESS_TOKEN``
for the token), so the catalogue is the same in both places.
"""

from __future__ import annotations

import re
from enum import IntEnum

from .text import human_duration, plural


class ExitCode(IntEnum):
    """The exit codes a run ends with. ``--help`` and the README's table are checked against
    :data:`EXIT_CODE_MEANINGS`."""

    OK = 0
    INTERNAL = 1
    BAD_INPUT = 2
    AUTH = 3
    NOT_FOUND = 4
    API_FAILURE = 5
    NOT_REACHED = 6
    INTERRUPTED = 130


EXIT_CODE_MEANINGS = {
    ExitCode.OK: "success, including 'already there' and dry runs",
    ExitCode.INTERNAL: "the runner's environment failed (e.g. $GITHUB_OUTPUT cannot be written), or an "
    "unexpected internal error: please report that one with the step's log",
    ExitCode.BAD_INPUT: "invalid input, or an input that does not fit the release (nothing was written)",
    ExitCode.AUTH: "LaunchDarkly refused the token (401) or access (403)",
    ExitCode.NOT_FOUND: "the project, flag, release, pipeline or phase was not found",
    ExitCode.API_FAILURE: "a LaunchDarkly call failed (another 4xx, retries used up, a bad answer)",
    ExitCode.NOT_REACHED: "the release was canceled, or while waiting the phase paused, disappeared or "
    "timed out",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C, or the job was canceled)",
}


class ActionError(Exception):
    """A failure the action explains to the user and ends the step with.

    ``title`` becomes the annotation's title, ``message`` says what was wrong, and ``hint``
    says what would be right. Text from outside is welcome in any of them: everything shown is
    redacted before it is cut or escaped.
    """

    def __init__(self, *, title: str, message: str, hint: str, exit_code: ExitCode):
        super().__init__(message)
        self.title = title
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class LaunchDarklyRefusal(ActionError):
    """LaunchDarkly answered with an error status. ``code`` and ``reason`` are its own words;
    ``detail`` is how they are quoted (``code: message (request id ...)``)."""

    def __init__(
        self,
        *,
        title: str,
        message: str,
        hint: str,
        exit_code: ExitCode,
        status: int,
        code: str,
        reason: str,
        detail: str,
    ):
        super().__init__(title=title, message=message, hint=hint, exit_code=exit_code)
        self.status = status
        self.code = code
        self.reason = reason
        self.detail = detail


class DeadlinePassed(Exception):
    """A call could not be completed, retries included, before its caller's deadline."""


# -- naming inputs ------------------------------------------------------------------------

# Private-use characters: they never occur in the action's own words, and text from outside
# that holds them only changes how a name is shown.
_REF_START, _REF_END = "\ue000", "\ue001"
_REF = f"{_REF_START}([^{_REF_END}=]*)(?:=([^{_REF_END}]*))?{_REF_END}"  # compiled on first use


def ref(input_name: str, value: str | None = None) -> str:
    """An input named in a message, optionally with a value to give it (``phase: next``)."""
    return f"{_REF_START}{input_name}{'' if value is None else '=' + value}{_REF_END}"


def show_refs(text: str, *, as_command: bool) -> str:
    """``text`` with each :func:`ref` shown as the user gave inputs: ``'phase'`` and
    ``phase: next`` in a workflow, ``--phase`` and ``--phase next`` on a command line."""
    if _REF_START not in text:
        return text  # most lines name no input

    def shown(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if as_command:
            flag = f"${TOKEN_ENV}" if name == TOKEN_INPUT else f"--{name}"
            return flag if value is None else f"{flag} {value}"
        return f"'{name}'" if value is None else f"{name}: {value}"

    return re.sub(_REF, shown, text)


TOKEN_INPUT = "access-token"  # noqa: S105 - the input's name, not a secret
TOKEN_ENV = "LD_ACCESS_TOKEN"  # noqa: S105 - the variable the command reads the token from
NOTHING_SENT = "Nothing was sent to LaunchDarkly."
_CHECK_BASE_URI = f"Check {ref('base-uri')}: it must point at LaunchDarkly's API."
_NEW_RELEASE = "Start a new release for the flag in LaunchDarkly, then run again."
_UNEXPECTED = "Unexpected answer from LaunchDarkly"
_CALL_FAILED = "LaunchDarkly call failed"


# -- inputs -------------------------------------------------------------------------------


def bad_input(input_name: str, message: str, hint: str) -> ActionError:
    """An input is invalid, or does not fit the release; nothing has been written."""
    return ActionError(
        title=f"Invalid input {ref(input_name)}", message=message, hint=hint, exit_code=ExitCode.BAD_INPUT
    )


def invalid_inputs(problems: list[tuple[str, str]]) -> ActionError:
    """Every problem found in the inputs, as (input name, what is wrong with it)."""
    title = (
        f"Invalid input {ref(problems[0][0])}" if len(problems) == 1 else f"{len(problems)} invalid inputs"
    )
    return ActionError(
        title=title,
        message="\n".join(f"{ref(name)} {problem}" for name, problem in problems),
        hint=NOTHING_SENT,
        exit_code=ExitCode.BAD_INPUT,
    )


def bad_command_line(problem: str, usage: str, program: str) -> ActionError:
    """The command's flags cannot be read; nothing has been sent."""
    return ActionError(
        title="Invalid command line",
        message=f"{problem}.\n{usage}",
        hint=f"Run {program} --help for every flag. {NOTHING_SENT}",
        exit_code=ExitCode.BAD_INPUT,
    )


def token_flag_refused() -> ActionError:
    return ActionError(
        title=f"Invalid input {ref(TOKEN_INPUT)}",
        message=f"--{TOKEN_INPUT} is not accepted: put the token in ${TOKEN_ENV} (flags end up in shell "
        "history and ps).",
        hint=f"export {TOKEN_ENV}=api-... {NOTHING_SENT}",
        exit_code=ExitCode.BAD_INPUT,
    )


def on_another_pipeline(flag: str, current: str, wanted: str) -> ActionError:
    return bad_input(
        "release-pipeline",
        f"Flag '{flag}' is already on release pipeline '{current}', not '{wanted}'. This action never "
        "moves a flag to another pipeline.",
        f"Set {ref('release-pipeline')} to '{current}' (or leave it empty), or take the flag off its "
        "pipeline in LaunchDarkly first.",
    )


# -- the release --------------------------------------------------------------------------


def phase_not_found(pipeline: str, wanted: str, phases: str, suggestion: str = "") -> ActionError:
    return ActionError(
        title="Phase not found",
        message=f"Pipeline '{pipeline}' has no phase with id or name '{wanted}'.{suggestion} "
        f"Its phases are: {phases}.",
        hint=f"Set {ref('phase')} to one of these names, a phase id, or 'next'.",
        exit_code=ExitCode.NOT_FOUND,
    )


def phase_ambiguous(pipeline: str, wanted: str, ids: list[str]) -> ActionError:
    return bad_input(
        "phase",
        f"{len(ids)} phases of pipeline '{pipeline}' are named '{wanted}' (ids {', '.join(ids)}).",
        f"Set {ref('phase')} to one of these ids instead of the name.",
    )


def no_next_phase(pipeline: str) -> ActionError:
    return ActionError(
        title="No next phase",
        message=f"Every phase of pipeline '{pipeline}' has already started or completed, so there is no "
        "next phase to act on.",
        hint=f"Name the phase in {ref('phase')}, or skip this step once the release is done.",
        exit_code=ExitCode.NOT_FOUND,
    )


def audiences_not_listed(field: str, phase: str) -> ActionError:
    return bad_input(
        "audiences",
        f"{field}: LaunchDarkly sent phase '{phase}' without its audiences, so an audience cannot be "
        "looked up by name or environment.",
        "Give the audience's audienceId instead.",
    )


def audience_not_matched(
    field: str, label: str, phase: str, available: str, *, several: bool, suggestion: str = ""
) -> ActionError:
    problem = "matches more than one audience" if several else "is not an audience"
    return bad_input(
        "audiences",
        f"{field}: {label} {problem} of phase '{phase}'.{suggestion} Its audiences are: {available}.",
        "Use the audienceId of one of these audiences.",
    )


def release_canceled(phase: str, *, waited: float | None = None) -> ActionError:
    """The release was canceled: before anything was written, or while waiting."""
    when = "" if waited is None else f" while waiting (after {human_duration(waited)})"
    return ActionError(
        title="Release canceled",
        message=f"The flag's release was canceled{when}, so phase '{phase}' cannot be changed or reached.",
        hint=_NEW_RELEASE,
        exit_code=ExitCode.NOT_REACHED,
    )


# -- waiting ------------------------------------------------------------------------------


def wait_timed_out(phase: str, goal: str, waited: float, polls: int, last_status: str) -> ActionError:
    return ActionError(
        title="Timed out waiting for the phase",
        message=f"Phase '{phase}' was not {goal} after {human_duration(waited)} ({plural(polls, 'poll')}); "
        f"its last status was {last_status}.",
        hint=f"Raise {ref('wait-timeout')}, or check the phase's audiences and approvals in LaunchDarkly.",
        exit_code=ExitCode.NOT_REACHED,
    )


def phase_disappeared(phase_id: str) -> ActionError:
    return ActionError(
        title="Phase disappeared",
        message=f"The release no longer has phase id {phase_id}; it may have been replaced.",
        hint="Check the flag's release in LaunchDarkly and run again.",
        exit_code=ExitCode.NOT_REACHED,
    )


def phase_paused(phase: str, goal: str, waited: float) -> ActionError:
    return ActionError(
        title="Phase paused",
        message=f"Phase '{phase}' is paused, so it will not become {goal} by itself "
        f"(after {human_duration(waited)}).",
        hint="Resume the phase in LaunchDarkly, then run again.",
        exit_code=ExitCode.NOT_REACHED,
    )


# -- LaunchDarkly's answers ---------------------------------------------------------------


def unexpected_answer(problem: str, hint: str = _CHECK_BASE_URI) -> ActionError:
    """LaunchDarkly (or whatever answers on base-uri) answered with something that is not what
    the call returns."""
    return ActionError(title=_UNEXPECTED, message=problem, hint=hint, exit_code=ExitCode.API_FAILURE)


def not_a_release(method: str, path: str, where: str, problem: str) -> ActionError:
    return unexpected_answer(
        f"LaunchDarkly's answer to {method} {path} is not a release: {where}: {problem}.",
        "If this persists, LaunchDarkly may have changed this beta API; please report it.",
    )


def phase_missing_from_answer(phase: str, phase_id: str) -> ActionError:
    return unexpected_answer(
        f"LaunchDarkly's answer to the update does not include phase '{phase}' ({phase_id}).",
        "Check the flag's release in LaunchDarkly.",
    )


def unusable_id(shown: str) -> ActionError:
    return unexpected_answer(
        f"the id {shown} cannot be sent in a URL path without changing the path.",
        "Check the flag's release in LaunchDarkly.",
    )


def tls_failed(method: str, path: str, base_uri: str, cause: str) -> ActionError:
    return ActionError(
        title="TLS verification failed",
        message=f"{method} {path}: the TLS certificate of {base_uri} could not be verified ({cause}).",
        hint=f"Check {ref('base-uri')}. Behind a proxy or with a private CA, point REQUESTS_CA_BUNDLE at "
        "the CA's certificate (set it in the step's env).",
        exit_code=ExitCode.API_FAILURE,
    )


def unsendable(method: str, path: str, cause: str) -> ActionError:
    return ActionError(
        title=_CALL_FAILED,
        message=f"{method} {path} could not be sent: {cause}",
        hint=f"Check {ref('base-uri')}.",
        exit_code=ExitCode.API_FAILURE,
    )


def redirected(method: str, path: str, status: int, target: str) -> ActionError:
    return ActionError(
        title="LaunchDarkly redirected the request",
        message=f"{method} {path} was answered with HTTP {status} to {target}. Redirects are not followed "
        f"so the access token is only sent to {ref('base-uri')}.",
        hint=f"Set {ref('base-uri')} to the address LaunchDarkly's API answers on directly.",
        exit_code=ExitCode.API_FAILURE,
    )


_GAVE_UP_HINTS = {
    429: "LaunchDarkly is rate limiting this token; run fewer jobs at once or retry later.",
    409: "Another change to this release kept conflicting; run again.",
    None: f"Check {ref('base-uri')} and the runner's network (proxy settings are honoured).",
}


def retries_used_up(method: str, path: str, attempts: int, reason: str, status: int | None) -> ActionError:
    """The last failure of a call whose retries (or waiting budget) ran out."""
    return ActionError(
        title=_CALL_FAILED,
        message=f"{method} {path} failed after {plural(attempts, 'attempt')}: {reason}",
        hint=_GAVE_UP_HINTS.get(status, "LaunchDarkly may be having trouble; run again later."),
        exit_code=ExitCode.API_FAILURE,
    )


# How each refusal is explained: (title, hint, exit code).
_REFUSALS: dict[int, tuple[str, str, ExitCode]] = {
    400: (
        "LaunchDarkly refused the request",
        f"Check {ref('status')} and {ref('audiences')} against the phase's state in LaunchDarkly.",
        ExitCode.API_FAILURE,
    ),
    401: (
        "LaunchDarkly rejected the access token",
        f"Check {ref(TOKEN_INPUT)}: a current personal or service access token (not an SDK or mobile "
        "key), and the secret holds all of it.",
        ExitCode.AUTH,
    ),
    403: (
        "LaunchDarkly refused access",
        "The token's role must allow updating release pipelines on this project and flag. This beta API "
        "also needs the LD-API-Version: beta header, which this action always sends; a proxy may be "
        "stripping it.",
        ExitCode.AUTH,
    ),
    404: ("Not found in LaunchDarkly", "", ExitCode.NOT_FOUND),
}
_OTHER_REFUSAL = ("LaunchDarkly refused the request", "", ExitCode.API_FAILURE)


def refusal(
    method: str, path: str, status: int, *, code: str, reason: str, detail: str
) -> LaunchDarklyRefusal:
    """LaunchDarkly answered ``status`` (4xx) with its own ``code`` and ``reason``."""
    title, hint, exit_code = _REFUSALS.get(status, _OTHER_REFUSAL)
    return LaunchDarklyRefusal(
        title=title,
        message=f"{method} {path}: HTTP {status} {detail}".rstrip(),
        hint=hint,
        exit_code=exit_code,
        status=status,
        code=code,
        reason=reason,
        detail=detail,
    )


def _not_found(refused: LaunchDarklyRefusal, message: str, hint: str) -> LaunchDarklyRefusal:
    """A 404 in the words of the call that got it; any other refusal as it is."""
    if refused.status != 404:
        return refused
    return LaunchDarklyRefusal(
        title=refused.title,
        message=f"{message} HTTP 404 {refused.detail}".rstrip(),
        hint=hint,
        exit_code=refused.exit_code,
        status=404,
        code=refused.code,
        reason=refused.reason,
        detail=refused.detail,
    )


def no_release(refused: LaunchDarklyRefusal, project: str, flag: str) -> LaunchDarklyRefusal:
    return _not_found(
        refused,
        f"No release found for flag '{flag}' in project '{project}'.",
        "Check the project and flag keys, and that the flag is on a release pipeline in LaunchDarkly "
        f"(or set {ref('release-pipeline')} to put it on one).",
    )


def no_flag_or_pipeline(
    refused: LaunchDarklyRefusal, project: str, flag: str, pipeline: str
) -> LaunchDarklyRefusal:
    return _not_found(
        refused,
        f"LaunchDarkly has no flag '{flag}' or no release pipeline '{pipeline}' in project '{project}'.",
        f"Check the project and flag keys, and {ref('release-pipeline')} against LaunchDarkly "
        "(Flags > Release pipelines).",
    )


def no_phase(refused: LaunchDarklyRefusal, project: str, flag: str, phase_id: str) -> LaunchDarklyRefusal:
    return _not_found(
        refused,
        f"Phase '{phase_id}' of flag '{flag}' in project '{project}' was not found.",
        "The release may have been replaced or removed since it was read; run again.",
    )


# -- the runner ---------------------------------------------------------------------------


def runner_file_unwritable(variable: str, path: str, reason: str) -> ActionError:
    """A file the runner gave the step (``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``) cannot be
    written: a problem of the environment, not of the inputs or of LaunchDarkly."""
    return ActionError(
        title=f"Cannot write ${variable}",
        message=f"${variable} ({path}) cannot be written: {reason}.",
        hint="This comes from the runner's environment, not from the inputs or LaunchDarkly: the "
        "runner creates that file before the step, and the process must be able to append to it "
        "(the runner starts a Docker action as root, which can).",
        exit_code=ExitCode.INTERNAL,
    )


def output_refused(problem: str) -> ActionError:
    return ActionError(
        title="Output refused",
        message=f"an output value was refused: {problem}",
        hint="",
        exit_code=ExitCode.INTERNAL,
    )


def internal_error(error: BaseException) -> ActionError:
    """A bug: said plainly, with how to report it."""
    return ActionError(
        title="Internal error",
        message=f"Unexpected {type(error).__name__}: {error}",
        hint="Please report this, with the step's log.",
        exit_code=ExitCode.INTERNAL,
    )


def interrupted() -> ActionError:
    return ActionError(title="Canceled", message="Interrupted.", hint="", exit_code=ExitCode.INTERRUPTED)
