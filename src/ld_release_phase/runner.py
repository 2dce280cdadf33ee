"""Runner I/O: the only module that touches actions-toolkit, the log, or ``$GITHUB_*`` files.

Everything written here goes through :meth:`Runner._redact`, so a registered secret cannot
reach the log, the outputs or the step summary even if LaunchDarkly echoes it back. Text from
outside (API answers, inputs) cannot start a workflow command: single-line writes fold line
breaks so every line starts with this action's own words, and multi-line dumps are fenced with
``::stop-commands::`` and a fresh random token.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO
from urllib.parse import quote

from actions_toolkit.command import Command
from actions_toolkit.file_command import prepare_key_value_message

from .errors import ActionError, ExitCode

REDACTED = "***"
# A token shorter than this is not redacted as a substring: it would shred ordinary words.
_MIN_SECRET_LENGTH = 4


def one_line(text: str) -> str:
    """Fold text from outside onto one line so it cannot start a workflow command."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class Runner:
    """What the action may do to the world around it: log, annotate, write outputs and summary.

    Inside a workflow, the log and workflow commands go to stdout and outputs to
    ``$GITHUB_OUTPUT``. In a terminal, the log goes to stderr in plain words and the outputs to
    stdout as one JSON object, so they can be piped.
    """

    def __init__(
        self, env: Mapping[str, str] | None = None, log: TextIO | None = None, out: TextIO | None = None
    ):
        self._env = os.environ if env is None else env
        self.in_github = self._env.get("GITHUB_ACTIONS") == "true" or bool(self._env.get("GITHUB_OUTPUT"))
        self._stream = log or (sys.stdout if self.in_github else sys.stderr)
        self._out = out or (log if log is not None else sys.stdout)
        self._secrets: list[str] = []

    # -- inputs -----------------------------------------------------------------------------

    def read_inputs(self, names: tuple[str, ...]) -> dict[str, str]:
        """Inputs as the runner passes them: ``INPUT_<NAME>``, upper-cased, hyphens kept."""
        return {name: self._env.get(f"INPUT_{name.replace(' ', '_').upper()}", "") for name in names}

    @property
    def debug_enabled(self) -> bool:
        return self._env.get("RUNNER_DEBUG") == "1"

    # -- secrets ----------------------------------------------------------------------------

    def mask(self, secret: str) -> None:
        """Ask the runner to hide ``secret`` and redact it from everything this process writes."""
        parts = {secret.strip(), *(line.strip() for line in secret.splitlines())}
        for part in sorted(filter(None, parts), key=len, reverse=True):
            if self.in_github:
                # Written before anything else and without redaction: this line is the mask.
                # In a terminal it would only print the secret, so it is skipped there.
                self._write(str(Command("add-mask", {}, part)))
            if len(part) >= _MIN_SECRET_LENGTH:
                self._secrets += [part, quote(part, safe=""), json.dumps(part)[1:-1]]

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    # -- log --------------------------------------------------------------------------------

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def info(self, message: str) -> None:
        line = one_line(self._redact(message))
        if line.lstrip().startswith("::"):
            self.verbatim(line)
            return
        self._write(line)

    def _command(self, name: str, message: str, title: str = "") -> None:
        if not self.in_github:
            # In a terminal: annotations as "error: Title: message", groups as their title line.
            if name in ("notice", "error"):
                heading = f"{name}: {title}" if title else name
                self._write(
                    one_line(self._redact(heading)) + ": " + self._redact(message).replace("\n", "\n  ")
                )
            elif name == "group":
                self._write(one_line(self._redact(message)))
            return
        properties = {"title": self._redact(title)} if title else {}
        self._write(str(Command(name, properties, self._redact(message))))

    def notice(self, message: str, title: str = "") -> None:
        self._command("notice", message, title)

    def error(self, message: str, title: str = "") -> None:
        self._command("error", message, title)

    def verbatim(self, text: str) -> None:
        """Print multi-line text from outside with workflow commands switched off around it."""
        if not self.in_github:
            self._write(self._redact(text))
            return
        fence = uuid.uuid4().hex  # unguessable: text inside cannot end the fence early
        self._write(f"::stop-commands::{fence}")
        for line in self._redact(text).splitlines():
            self._write(line)
        self._write(f"::{fence}::")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._command("group", one_line(title))
        try:
            yield
        finally:
            self._command("endgroup", "")

    # -- outputs and summary ----------------------------------------------------------------

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        """Write step outputs; outside GitHub, print them as one JSON object."""
        redacted = {name: self._redact(value) for name, value in outputs.items()}
        path = self._env.get("GITHUB_OUTPUT")
        if not path:
            self._out.write(json.dumps(redacted, ensure_ascii=False, sort_keys=True) + "\n")
            self._out.flush()
            return
        try:
            # Every value goes in a heredoc with a random delimiter; a value containing the
            # delimiter is refused, so no value can end its block early and forge outputs.
            blocks = [prepare_key_value_message(name, value) for name, value in redacted.items()]
        except Exception as error:  # actions-toolkit raises a bare Exception here
            raise ActionError(
                "Output refused", f"an output value was refused: {error}", "", ExitCode.API_FAILURE
            ) from None
        self._append(path, "".join(block + "\n" for block in blocks))

    def append_summary(self, markdown: str) -> None:
        path = self._env.get("GITHUB_STEP_SUMMARY")
        if path:
            self._append(path, self._redact(markdown))

    @staticmethod
    def _append(path: str, text: str) -> None:
        with open(path, "a", encoding="utf-8", newline="") as handle:
            handle.write(text)
