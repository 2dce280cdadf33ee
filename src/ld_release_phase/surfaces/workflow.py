"""The workflow surface: a Docker action's step, as the runner starts it.

The only module that touches ``actions-toolkit`` and the runner's files. The log and workflow
commands go to stdout (annotations, folded groups, ``::add-mask::``); the outputs to
``$GITHUB_OUTPUT``; the summary to ``$GITHUB_STEP_SUMMARY``. Inputs are named as a step writes
them (``'phase'``, ``phase: next``). Single lines from outside are folded and ``##[`` made
inert; multi-line text is fenced with ``::stop-commands::`` and a fresh random token. In every
line, annotation and the summary, characters that do not print (control characters, ANSI
escapes, zero-width characters, bidi overrides) are shown as escapes: what a person reads is
what the text holds.

Writing can fail (a closed or full stream, a file the runner cannot give): the log then goes
unwritten rather than end the step, a summary that cannot be written is a warning, and only
outputs that cannot be written fail the step, with an error that names ``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import os
import stat
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from actions_toolkit.command import Command
from actions_toolkit.file_command import prepare_key_value_message

from ld_release_phase import failures
from ld_release_phase.failures import Failure
from ld_release_phase.plumbing.api import Exchange
from ld_release_phase.plumbing.text import LINE_LIMIT, escape_markdown, fold, neutralise, visible
from ld_release_phase.plumbing.words import Ref, TokenSource, Words, quoted

from .base import (
    SUMMARY_LIMIT,
    VERBATIM_LIMIT,
    Result,
    Strong,
    Summary,
    Surface,
    Table,
    as_json,
    exchange_details,
    exchange_title,
    indented,
    json_inert,
    secret_parts,
    tolerant,
)

_HOW_TO_GIVE_IT = (
    "is required but empty. Pass a LaunchDarkly access token from a secret, e.g. "
    "access-token: ${{ secrets.LD_ACCESS_TOKEN }} (check that the secret exists and is available to "
    "this workflow)."
)


class WorkflowSurface(Surface):
    def __init__(self, env: Mapping[str, str], stream: TextIO | None = None):
        super().__init__(env)
        self._stream = tolerant(stream or sys.stdout)
        self._output_path = env.get("GITHUB_OUTPUT", "")
        self._summary_path = env.get("GITHUB_STEP_SUMMARY", "")
        self._summary_bytes = 0
        self._summary_failed = False
        self._told_about_bodies = False

    @property
    def debug(self) -> bool:
        """Step debug logging, as the runner sets it."""
        return self._env.get("RUNNER_DEBUG") == "1"

    def name(self, reference: Ref) -> str:
        return _HOW_TO_GIVE_IT if isinstance(reference, TokenSource) else quoted(reference)

    def read_inputs(self, names: tuple[str, ...]) -> dict[str, str]:
        """Inputs as the runner passes them: ``INPUT_<NAME>``, upper-cased, hyphens kept."""
        return {name: self._env.get(f"INPUT_{name.replace(' ', '_').upper()}", "") for name in names}

    # -- log --------------------------------------------------------------------------------

    def mask(self, secret: str) -> None:
        """Ask the runner to hide ``secret`` and redact it from everything this process writes."""
        parts = secret_parts(secret)
        # Written before anything else and before the parts are redacted: these lines are the mask.
        for part in parts:
            self._line(str(Command("add-mask", {}, part)))
        for part in parts:
            self.redactor.register(part)

    def _line(self, line: str) -> None:
        self._write(line, self._stream)

    def say(self, words: Words | str) -> None:
        line = self.redactor.one_line(self.text(words))
        if line.lstrip().startswith("::"):
            self.verbatim(line)
            return
        self._line(line)

    def verbatim(self, body: str) -> None:
        fence = uuid.uuid4().hex  # unguessable: text inside cannot end the fence early
        self._line(f"::stop-commands::{fence}")
        for line in self.redactor.cut(body, VERBATIM_LIMIT).splitlines():
            self._line(fold(line))
        self._line(f"::{fence}::")

    def _command(self, name: str, message: Words | str, title: Words | str = "") -> None:
        text = visible(self.redactor.cut(self.text(message), LINE_LIMIT))
        heading = self.redactor.one_line(self.text(title), 200)
        properties = {"title": heading} if heading else {}
        self._line(neutralise(str(Command(name, properties, text))))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._command("group", self.redactor.one_line(title))
        try:
            yield
        finally:
            self._command("endgroup", "")

    def exchange(self, exchange: Exchange) -> None:
        """A folded group per call, its bodies in debug mode; a wait's reads only in debug mode."""
        if exchange.poll and not self.debug:
            return
        with self.group(exchange_title(exchange)):
            for line in exchange_details(exchange):
                self.say(line)
            if self.debug:
                if exchange.request_body:
                    self.say("Request body:")
                    self.verbatim(indented(exchange.request_body))
                self.say("Response body:")
                self.verbatim(indented(exchange.response_body) or "(empty)")
            elif not self._told_about_bodies:
                self.say("Request and response bodies are shown when the run has step debug logging on.")
                self._told_about_bodies = True

    def warn(self, words: Words | str, title: str) -> None:
        self._command("warning", words, title)

    # -- the end of a run -------------------------------------------------------------------

    def succeed(self, result: Result) -> None:
        self._set_outputs(result)
        self._append_summary(self._markdown(result.summary))
        self._command("notice", result.headline, result.title)

    def fail(self, failure: Failure) -> None:
        message = Words(failure.message, "\n", failure.hint) if failure.hint else failure.message
        self._command("error", message, failure.title)
        self._append_summary(self._failure_markdown(failure))

    def show_trace(self, trace: str) -> None:
        """A bug's traceback, in debug mode only."""
        if self.debug:
            self.verbatim(trace)

    def _set_outputs(self, result: Result) -> None:
        """Every value in a heredoc with a random delimiter; a value containing the delimiter is
        refused, so no value can end its block early and forge outputs. Without an output file
        the outputs are shown, inert, rather than lost."""
        _, texts = self._fit(result.outputs, result.documents)
        if not self._output_path:
            self._write(json_inert(as_json(texts)), self._stream)
            return
        try:
            blocks = [prepare_key_value_message(name, value) for name, value in texts.items()]
        except Exception as error:  # actions-toolkit raises a bare Exception here
            raise failures.output_refused(str(error)) from None
        self._append("GITHUB_OUTPUT", self._output_path, "".join(block + "\n" for block in blocks))

    # -- the step summary -------------------------------------------------------------------

    def _markdown(self, summary: Summary) -> str:
        markdown = self.redactor.markdown
        lines = [f"### {markdown(summary.heading)}", ""]
        for block in summary.blocks:
            if isinstance(block, Table):
                lines += [
                    "| " + " | ".join(markdown(cell) for cell in block.header) + " |",
                    "|" + "---|" * len(block.header),
                    *("| " + " | ".join(markdown(cell) for cell in row) + " |" for row in block.rows),
                ]
            else:
                lines.append("".join(_inline(part, markdown) for part in block))
            lines.append("")
        return "\n".join(lines) + "\n"

    def _failure_markdown(self, failure: Failure) -> str:
        markdown = self.redactor.markdown
        lines = [f"### ❌ {markdown(self.text(failure.title))}", ""]
        lines += [markdown(line) + "  " for line in self.text(failure.message).splitlines()]
        if failure.outcome:  # a statement of what was done, not something to do
            lines += ["", markdown(self.text(failure.outcome))]
        if failure.fix:
            lines += ["", f"**Fix:** {markdown(self.text(failure.fix))}"]
        return "\n".join(lines) + "\n\n"

    def _append_summary(self, markdown: str) -> None:
        """Add to the step summary. A summary that cannot be written is a warning, said once:
        the step's result does not depend on it."""
        path = self._summary_path
        if not path or self._summary_failed:
            return
        body = self.redactor.clean(markdown)
        room = SUMMARY_LIMIT - self._summary_bytes
        if len(body.encode()) > room:
            self.say("The step summary is cut: GitHub shows at most 1 MiB of it.")
            note = "\n\n*(cut: GitHub shows at most 1 MiB of a step summary)*\n\n"
            body = body.encode()[: max(0, room - len(note.encode()))].decode(errors="ignore") + note
        self._summary_bytes += len(body.encode())
        try:
            self._append("GITHUB_STEP_SUMMARY", path, body)
        except Failure as problem:
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
            except Failure as problem:
                self._summary_unwritable(problem)

    def _summary_unwritable(self, problem: Failure) -> None:
        self._summary_failed = True
        self.warn(Words(problem.message, " ", problem.hint), title="Step summary not written")

    @staticmethod
    def _append(variable: str, path: str, content: str) -> None:
        with _open_to_append(variable, path) as handle:
            try:
                handle.write(content)
                handle.flush()
            except OSError as error:
                raise failures.runner_file_unwritable(variable, path, error.strerror or str(error)) from None


def _inline(part: str | Strong, markdown: Callable[[str], str]) -> str:
    """One piece of a paragraph, escaped; the spaces that join it to the next are kept."""
    if isinstance(part, Strong):
        return f"**{markdown(part.text)}**"
    lead, trail = part[: len(part) - len(part.lstrip())], part[len(part.rstrip()) :]
    return (" " if lead else "") + markdown(part) + (" " if trail else "")


@contextmanager
def _open_to_append(variable: str, path: str) -> Iterator[TextIO]:
    """One of the runner's files, which the runner creates before the step, open to append.

    It must be a regular file: opened without blocking and checked before anything is written,
    so a FIFO or a device can neither hold the step nor swallow its results.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise failures.runner_file_unwritable(variable, path, error.strerror or str(error)) from None
    with open(descriptor, "a", encoding="utf-8", newline="") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise failures.runner_file_unwritable(variable, path, "it is not a regular file")
        yield handle


__all__ = ["WorkflowSurface", "escape_markdown"]
