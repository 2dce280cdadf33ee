"""Runner I/O: the only module that touches actions-toolkit, the log, or ``$GITHUB_*`` files.

One rule for everything that leaves the process, in every mode: it is redacted by the run's own
:class:`~.text.Redactor` (so a registered secret cannot get out even if LaunchDarkly echoes it
back), bounded to what GitHub keeps, and inert for the runner, which acts on ``::name::`` at a
line's start and on ``##[name]`` anywhere in a line, whether it reads the action's stdout or a
``run:`` step's stdout and stderr. Single lines are folded and ``##[`` made inert; multi-line
text from outside is fenced with ``::stop-commands::`` and a fresh random token in a workflow,
and each of its lines escaped on a command line; the JSON on stdout escapes ``##[`` too. Inputs
named in messages (:func:`~.errors.ref`) are shown as the user gave them.

Writing can fail (a closed or full stream, a file the runner cannot give): the log then goes
unwritten rather than end the step, a summary that cannot be written is a warning, and only
outputs that cannot be written fail the step, with an error that names ``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from enum import IntEnum
from typing import Any, TextIO

from actions_toolkit.command import Command
from actions_toolkit.file_command import prepare_key_value_message

from . import errors
from .errors import ActionError, show_refs
from .text import LINE_LIMIT, Redactor, fold, neutralise

# GitHub keeps at most 1 MiB of a step's outputs and of its summary; stay under both.
OUTPUTS_LIMIT = 1000 * 1024
SUMMARY_LIMIT = 1000 * 1024
# Debug dumps of request and response bodies, per dump.
VERBATIM_LIMIT = 64 * 1024


class Verbosity(IntEnum):
    """How much a command prints on stderr: only errors, a line per call, or every detail."""

    QUIET = 0
    NORMAL = 1
    VERBOSE = 2


class Runner:
    """What the action may do to the world around it: log, annotate, write outputs and summary.

    As the action (in the container the runner starts), the log and workflow commands go to
    stdout, outputs to ``$GITHUB_OUTPUT`` and the summary to ``$GITHUB_STEP_SUMMARY``. As a
    command (``in_workflow=False``: in a terminal, or a workflow's ``run:`` step), the log goes
    to stderr in plain words and the outputs to stdout as one JSON object, so they can be piped.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        log: TextIO | None = None,
        out: TextIO | None = None,
        *,
        in_workflow: bool | None = None,
        verbosity: Verbosity = Verbosity.NORMAL,
    ):
        self._env = os.environ if env is None else env
        if in_workflow is None:
            in_workflow = self._env.get("GITHUB_ACTIONS") == "true" or bool(self._env.get("GITHUB_OUTPUT"))
        self.in_workflow = in_workflow
        self.verbosity = verbosity
        self.redactor = Redactor()
        self._output_path = self._env.get("GITHUB_OUTPUT", "") if in_workflow else ""
        self._summary_path = self._env.get("GITHUB_STEP_SUMMARY", "") if in_workflow else ""
        self._stream = _tolerant(log or (sys.stdout if in_workflow else sys.stderr))
        self._out = _tolerant(out or (log if log is not None else sys.stdout))
        self._summary_bytes = 0
        self._summary_failed = False

    # -- inputs and modes -------------------------------------------------------------------

    def read_inputs(self, names: tuple[str, ...]) -> dict[str, str]:
        """Inputs as the runner passes them: ``INPUT_<NAME>``, upper-cased, hyphens kept."""
        return {name: self._env.get(f"INPUT_{name.replace(' ', '_').upper()}", "") for name in names}

    @property
    def debug_enabled(self) -> bool:
        """Bodies and per-poll detail: step debug logging in a workflow, ``--verbose`` as a command."""
        if self.in_workflow:
            return self._env.get("RUNNER_DEBUG") == "1"
        return self.verbosity is Verbosity.VERBOSE

    @property
    def details_shown(self) -> bool:
        """Each call's URL and headers: folded in a group in a workflow, ``--verbose`` as a command."""
        return self.in_workflow or self.verbosity is Verbosity.VERBOSE

    # -- secrets ----------------------------------------------------------------------------

    def mask(self, secret: str) -> None:
        """Ask the runner to hide ``secret`` and redact it from everything this process writes."""
        parts = sorted(filter(None, {secret.strip(), *(line.strip() for line in secret.splitlines())}))
        if self.in_workflow:
            # Written before anything else and before the parts are redacted: these lines are
            # the mask. As a command they would only print the secret, so they are skipped.
            for part in parts:
                self._write(str(Command("add-mask", {}, part)))
        for part in parts:
            self.redactor.register(part)

    # -- log --------------------------------------------------------------------------------

    def _say(self, words: str) -> str:
        """The action's words, with each input named as the user gave it."""
        return show_refs(words, as_command=not self.in_workflow)

    def _write(self, line: str, stream: TextIO | None = None) -> None:
        """One line, redacted. As a command also inert, since a ``run:`` step's output is read
        for workflow commands too, and with control characters shown as escapes, so that text
        from outside cannot drive a terminal. Nothing is written once the stream refuses."""
        line = self.redactor.clean(line)
        if not self.in_workflow:
            line = _inert(fold(line))
        target = stream or self._stream
        try:
            target.write(line + "\n")
            target.flush()
        except (OSError, ValueError):
            _drop(target)  # a closed or full log: nothing more can be said there; the result stands

    def info(self, message: str) -> None:
        if self.verbosity is Verbosity.QUIET:
            return
        line = self.redactor.one_line(self._say(message))
        if self.in_workflow and line.lstrip().startswith("::"):
            self.verbatim(line)
            return
        self._write(line)

    def _command(self, name: str, message: str, title: str = "") -> None:
        message = self.redactor.cut(self._say(message), LINE_LIMIT)
        title = self.redactor.one_line(self._say(title), 200)
        if not self.in_workflow:
            # As a command: annotations as "error: Title: message", groups as their title line.
            if name == "error" or (self.verbosity is not Verbosity.QUIET and name in ("notice", "warning")):
                heading = f"{name}: {title}" if title else name
                lines = (heading + ": " + message).splitlines() or [heading]
                for number, line in enumerate(lines):
                    self._write(line if number == 0 else "  " + line)
            elif name == "group" and self.verbosity is not Verbosity.QUIET:
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
        """Print multi-line text from outside, unable to issue a workflow command."""
        if self.verbosity is Verbosity.QUIET:
            return
        shown = self.redactor.cut(body, VERBATIM_LIMIT)
        if not self.in_workflow:
            for line in shown.splitlines():
                self._write(line)  # each line made inert
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

    def set_outputs(self, outputs: Mapping[str, Any], *, documents: frozenset[str] = frozenset()) -> None:
        """Write step outputs; as a command, print them on stdout as one JSON object.

        ``documents`` names the outputs that are JSON documents: in a workflow they are written
        as one-line JSON (``null`` when there is none, or when it does not fit), other values as
        GitHub's strings (``true``/``false``, numbers as digits, nothing as empty).
        """
        values, texts = self._fit({name: self._redacted(value) for name, value in outputs.items()}, documents)
        if not self.in_workflow:
            self._write(_json_inert(_json(values)), self._out)
            return
        path = self._output_path
        if not path:
            # The runner gave no output file: the outputs are shown, inert, rather than lost.
            self._write(_json_inert(_json(texts)), self._out)
            return
        try:
            # Every value goes in a heredoc with a random delimiter; a value containing the
            # delimiter is refused, so no value can end its block early and forge outputs.
            blocks = [prepare_key_value_message(name, value) for name, value in texts.items()]
        except Exception as error:  # actions-toolkit raises a bare Exception here
            raise errors.output_refused(str(error)) from None
        self._append("GITHUB_OUTPUT", path, "".join(block + "\n" for block in blocks))

    def report_failure(self, error: ActionError) -> None:
        """As a command, the failure on stdout too, as JSON, so a pipe reads why it failed."""
        if self.in_workflow:
            return
        said = {
            "title": self._say(error.title),
            "message": self._say(error.message),
            "hint": self._say(error.hint),
        }
        failure = {"error": self._redacted(said), "exit-code": int(error.exit_code)}
        self._write(_json_inert(_json(failure)), self._out)

    def _redacted(self, value: Any) -> Any:
        """A value with every string in it redacted, before it is serialised."""
        if isinstance(value, str):
            return self.redactor.clean(value)
        if isinstance(value, dict):
            return {self.redactor.clean(str(key)): self._redacted(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._redacted(item) for item in value]
        return value

    def _fit(
        self, values: dict[str, Any], documents: frozenset[str]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Drop the largest values until the rest fits in what GitHub keeps, saying which; the
        values, and each as the output text it is sized by.

        A value is dropped whole rather than cut: half a JSON document or half an id misleads.
        A dropped document is JSON's ``null``; any other value is left empty."""
        texts = {name: _output_text(value, name in documents) for name, value in values.items()}
        sizes = {name: len(text.encode()) for name, text in texts.items()}
        for name in sorted(sizes, key=sizes.__getitem__, reverse=True):
            if sum(sizes.values()) <= OUTPUTS_LIMIT:
                break
            left = "null" if name in documents else "empty"
            self.info(
                f"Output '{name}' is left {left}: it is {sizes[name]:,} bytes, and GitHub keeps at most "
                "1 MiB of a step's outputs."
            )
            values[name] = None if name in documents else ""
            texts[name] = _output_text(values[name], name in documents)
            sizes[name] = len(texts[name])
        return values, texts

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


def _tolerant(stream: TextIO) -> TextIO:
    """The stream, set to escape what its encoding cannot hold (``PYTHONIOENCODING=ascii``)
    rather than fail on it."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with suppress(OSError, ValueError):
            reconfigure(errors="backslashreplace")
    return stream


def _drop(stream: TextIO) -> None:
    """Send what is left of a stream that refuses writes to /dev/null: otherwise Python would
    fail the exit itself (status 120) flushing it, and change the step's result."""
    with suppress(OSError, ValueError):
        descriptor = stream.fileno()
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, descriptor)
        os.close(sink)


def _inert(line: str) -> str:
    """A line the runner reads as text: ``##[`` shown as ``##\\[``, a leading ``::`` as ``\\::``."""
    line = neutralise(line)
    stripped = line.lstrip()
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\" + stripped
    return line


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_inert(text: str) -> str:
    """JSON text whose strings cannot hold the runner's ``##[``: the same value, the bracket
    written as a JSON escape. (A JSON document's line starts with ``{``, never with ``::``.)"""
    return text.replace("##[", "##\\u005b")


def _output_text(value: Any, document: bool) -> str:
    """A value as a step output: GitHub's outputs are strings."""
    if document:
        return _json(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


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
