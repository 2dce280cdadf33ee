"""Runner I/O: the only module that touches actions-toolkit, the log, or ``$GITHUB_*`` files.

Everything written here is made safe on the way out by the runner's own
:class:`~.text.Redactor`: redacted (so a registered secret cannot reach the log, the outputs or
the step summary even if LaunchDarkly echoes it back), then cut to what GitHub keeps, then
escaped. Inputs named in messages (:func:`~.errors.ref`) are shown as the user gave them.
Text from outside cannot start a workflow command: single lines are folded and ``##[`` made
inert, so every line starts with this action's own words, and multi-line dumps are fenced with
``::stop-commands::`` and a fresh random token.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from actions_toolkit.command import Command
from actions_toolkit.file_command import prepare_key_value_message

from . import errors
from .errors import ActionError, show_refs
from .text import LINE_LIMIT, Redactor, neutralise

# GitHub keeps at most 1 MiB of a step's outputs and of its summary; stay under both.
OUTPUTS_LIMIT = 1000 * 1024
SUMMARY_LIMIT = 1000 * 1024
# Debug dumps of request and response bodies, per dump.
VERBATIM_LIMIT = 64 * 1024


class Runner:
    """What the action may do to the world around it: log, annotate, write outputs and summary.

    As the action (in the container the runner starts), the log and workflow commands go to
    stdout, outputs to ``$GITHUB_OUTPUT`` and the summary to ``$GITHUB_STEP_SUMMARY``. As a
    command in a terminal (``in_workflow=False``, even inside a workflow's ``run:`` step), the
    log goes to stderr in plain words and the outputs to stdout as one JSON object, so they
    can be piped.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        log: TextIO | None = None,
        out: TextIO | None = None,
        *,
        in_workflow: bool | None = None,
    ):
        self._env = os.environ if env is None else env
        if in_workflow is None:
            in_workflow = self._env.get("GITHUB_ACTIONS") == "true" or bool(self._env.get("GITHUB_OUTPUT"))
        self.in_workflow = in_workflow
        self.redactor = Redactor()
        self._output_path = self._env.get("GITHUB_OUTPUT", "") if in_workflow else ""
        self._summary_path = self._env.get("GITHUB_STEP_SUMMARY", "") if in_workflow else ""
        self._stream = log or (sys.stdout if self.in_workflow else sys.stderr)
        self._out = out or (log if log is not None else sys.stdout)
        self._summary_bytes = 0
        self._summary_failed = False

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
        parts = sorted(filter(None, {secret.strip(), *(line.strip() for line in secret.splitlines())}))
        if self.in_workflow:
            # Written before anything else and before the parts are redacted: these lines are
            # the mask. In a terminal they would only print the secret, so they are skipped.
            for part in parts:
                self._write(str(Command("add-mask", {}, part)))
        for part in parts:
            self.redactor.register(part)

    # -- log --------------------------------------------------------------------------------

    def _say(self, words: str) -> str:
        """The action's words, with each input named as the user gave it."""
        return show_refs(words, as_command=not self.in_workflow)

    def _write(self, line: str) -> None:
        self._stream.write(self.redactor.clean(line) + "\n")
        self._stream.flush()

    def info(self, message: str) -> None:
        line = self.redactor.one_line(self._say(message))
        if line.lstrip().startswith("::"):
            self.verbatim(line)
            return
        self._write(line)

    def _command(self, name: str, message: str, title: str = "") -> None:
        message = self.redactor.cut(self._say(message), LINE_LIMIT)
        title = self.redactor.one_line(self._say(title), 200)
        if not self.in_workflow:
            # In a terminal: annotations as "error: Title: message", groups as their title line.
            if name in ("notice", "warning", "error"):
                heading = f"{name}: {title}" if title else name
                self._write(heading + ": " + message.replace("\n", "\n  "))
            elif name == "group":
                self._write(message)  # group() has already folded it onto one line
            return
        properties = {"title": title} if title else {}
        self._write(neutralise(str(Command(name, properties, message))))

    def notice(self, message: str, title: str = "") -> None:
        self._command("notice", message, title)

    def warning(self, message: str, title: str = "") -> None:
        self._command("warning", message, title)

    def error(self, message: str, title: str = "") -> None:
        self._command("error", message, title)

    def verbatim(self, body: str) -> None:
        """Print multi-line text from outside with workflow commands switched off around it."""
        shown = self.redactor.cut(body, VERBATIM_LIMIT)
        if not self.in_workflow:
            self._write(shown)
            return
        fence = uuid.uuid4().hex  # unguessable: text inside cannot end the fence early
        self._write(f"::stop-commands::{fence}")
        for line in shown.splitlines():
            self._write(line)
        self._write(f"::{fence}::")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._command("group", self.redactor.one_line(title))
        try:
            yield
        finally:
            self._command("endgroup", "")

    # -- outputs and summary ----------------------------------------------------------------

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        """Write step outputs; outside GitHub, print them as one JSON object."""
        values = self._within_output_limit(
            {name: self.redactor.clean(value) for name, value in outputs.items()}
        )
        path = self._output_path
        if not path:
            self._out.write(json.dumps(values, ensure_ascii=False, sort_keys=True) + "\n")
            self._out.flush()
            return
        try:
            # Every value goes in a heredoc with a random delimiter; a value containing the
            # delimiter is refused, so no value can end its block early and forge outputs.
            blocks = [prepare_key_value_message(name, value) for name, value in values.items()]
        except Exception as error:  # actions-toolkit raises a bare Exception here
            raise errors.output_refused(str(error)) from None
        self._append("GITHUB_OUTPUT", path, "".join(block + "\n" for block in blocks))

    def _within_output_limit(self, values: dict[str, str]) -> dict[str, str]:
        """Empty the largest values until the rest fits in what GitHub keeps, saying which.

        A value is emptied rather than cut: half a JSON document or half an id misleads."""
        sizes = {name: len(value.encode()) for name, value in values.items()}
        for name in sorted(sizes, key=sizes.__getitem__, reverse=True):
            if sum(sizes.values()) <= OUTPUTS_LIMIT:
                break
            self.info(
                f"Output '{name}' is left empty: it is {sizes[name]:,} bytes, and GitHub keeps at most "
                f"1 MiB of a step's outputs."
            )
            values[name], sizes[name] = "", 0
        return values

    def append_summary(self, markdown: str) -> None:
        """Add to the step summary. A summary that cannot be written is a warning, said once:
        the step's result does not depend on it."""
        path = self._summary_path
        if not path or self._summary_failed:
            return
        body = self.redactor.clean(self._say(markdown))
        room = SUMMARY_LIMIT - self._summary_bytes
        if len(body.encode()) > room:
            self.info("The step summary is cut: GitHub shows at most 1 MiB of it.")
            note = "\n\n*(cut: GitHub shows at most 1 MiB of a step summary)*\n\n"
            body = body.encode()[: max(0, room - len(note.encode()))].decode(errors="ignore") + note
        self._summary_bytes += len(body.encode())
        try:
            self._append("GITHUB_STEP_SUMMARY", path, body)
        except ActionError as problem:
            self._summary_unwritable(problem)

    def check_files(self) -> None:
        """Before any call: the outputs file must take the step's outputs (an error if not, so
        nothing is changed that could not be reported); a summary file that cannot take the
        summary is a warning."""
        if self._output_path:
            with _open_to_append("GITHUB_OUTPUT", self._output_path):
                pass
        if self._summary_path:
            try:
                with _open_to_append("GITHUB_STEP_SUMMARY", self._summary_path):
                    pass
            except ActionError as problem:
                self._summary_unwritable(problem)

    def _summary_unwritable(self, problem: ActionError) -> None:
        self._summary_failed = True
        self.warning(f"{problem.message} {problem.hint}", title="Step summary not written")

    @staticmethod
    def _append(variable: str, path: str, content: str) -> None:
        with _open_to_append(variable, path) as handle:
            try:
                handle.write(content)
                handle.flush()
            except OSError as error:
                raise errors.runner_file_unwritable(variable, path, error.strerror or str(error)) from None


@contextmanager
def _open_to_append(variable: str, path: str) -> Iterator[TextIO]:
    """One of the runner's files, which the runner creates before the step, open to append.

    It must be a regular file: opened without blocking and checked before anything is written,
    so a FIFO or a device can neither hold the step nor swallow its results.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise errors.runner_file_unwritable(variable, path, error.strerror or str(error)) from None
    with open(descriptor, "a", encoding="utf-8", newline="") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise errors.runner_file_unwritable(variable, path, "it is not a regular file")
        yield handle
