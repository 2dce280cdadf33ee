"""Failures as values: each carries what a person needs to read and the exit code to end with."""

from __future__ import annotations

from enum import IntEnum


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


def bad_input(input_name: str, message: str, hint: str) -> ActionError:
    """An input is invalid, or does not fit the release; nothing has been written."""
    return ActionError(
        title=f"Invalid input '{input_name}'", message=message, hint=hint, exit_code=ExitCode.BAD_INPUT
    )


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
