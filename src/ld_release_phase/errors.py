"""Failures as values: each carries what a person needs to read and the exit code to end with."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes; the README's table mirrors this enum."""

    OK = 0
    INTERNAL = 1
    BAD_INPUT = 2
    AUTH = 3
    NOT_FOUND = 4
    API_FAILURE = 5
    NOT_REACHED = 6  # canceled release, phase paused while waiting, or wait timed out


class ActionError(Exception):
    """A failure the action explains to the user and ends the step with.

    ``title`` becomes the annotation's title, ``message`` says what was wrong, and ``hint``
    says what would be right. None of them may hold the access token: the runner I/O layer
    redacts it anyway, but messages are written not to need that.
    """

    def __init__(self, title: str, message: str, hint: str = "", exit_code: ExitCode = ExitCode.BAD_INPUT):
        super().__init__(message)
        self.title = title
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


def bad_input(input_name: str, message: str, hint: str = "") -> ActionError:
    """An input failed validation; nothing has been sent to LaunchDarkly."""
    return ActionError(f"Invalid input '{input_name}'", message, hint, ExitCode.BAD_INPUT)


class LaunchDarklyRefusal(ActionError):
    """LaunchDarkly answered a call with an error status; ``code`` and ``reason`` are its own words."""

    def __init__(
        self, title: str, message: str, hint: str, exit_code: ExitCode, *, status: int, code: str, reason: str
    ):
        super().__init__(title, message, hint, exit_code)
        self.status = status
        self.code = code
        self.reason = reason
