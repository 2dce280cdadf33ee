"""The terminal surface: the command, in a shell or in a workflow's ``run:`` step.

The log goes to stderr in plain words, a line per call (``--verbose`` adds every detail,
``--quiet`` keeps only errors). Stdout is for a person or for a program, as the entry decides:
for a person (a terminal), the result in words, the summary's paragraphs and tables as text,
and a failure said once, on stderr; for a program (piped, or ``--json``), one JSON object, the
outputs or the failure. Inputs are named as flags (``--phase``), the token as
``$LD_ACCESS_TOKEN``. A ``run:`` step's output is read for workflow commands too, so every line
is made inert, with control characters shown as escapes so that text from outside cannot drive
a terminal.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Mapping
from enum import IntEnum
from typing import TextIO

from ld_release_phase.failures import Failure
from ld_release_phase.plumbing.api import Exchange
from ld_release_phase.plumbing.text import LINE_LIMIT, fold
from ld_release_phase.plumbing.words import TOKEN_ENV, TOKEN_INPUT, Ref, TokenSource, Words

from .base import (
    VERBATIM_LIMIT,
    Paragraph,
    Result,
    Strong,
    Surface,
    Table,
    as_json,
    exchange_details,
    exchange_title,
    indented,
    inert,
    json_inert,
    secret_parts,
    tolerant,
)


class Verbosity(IntEnum):
    """How much the command prints on stderr: only errors, a line per call, or every detail."""

    QUIET = 0
    NORMAL = 1
    VERBOSE = 2


class TerminalSurface(Surface):
    def __init__(
        self,
        env: Mapping[str, str],
        log: TextIO | None = None,
        out: TextIO | None = None,
        *,
        verbosity: Verbosity = Verbosity.NORMAL,
        for_a_person: bool = False,
    ):
        super().__init__(env)
        self._log = tolerant(log or sys.stderr)
        self._out = tolerant(out or (log if log is not None else sys.stdout))
        self.verbosity = verbosity
        self.for_a_person = for_a_person  # stdout is read by a person, not parsed

    @property
    def debug(self) -> bool:
        return self.verbosity is Verbosity.VERBOSE

    def name(self, reference: Ref) -> str:
        if isinstance(reference, TokenSource):
            return f"is not set. Export a LaunchDarkly access token first: export {TOKEN_ENV}=api-..."
        flag = f"${TOKEN_ENV}" if reference.input == TOKEN_INPUT else f"--{reference.input}"
        return flag if reference.value is None else f"{flag} {reference.value}"

    def mask(self, secret: str) -> None:
        """Redact ``secret`` from everything printed. (A mask command would only print it here.)"""
        parts = secret_parts(secret)
        for part in parts:
            self.redactor.register(part)

    # -- log --------------------------------------------------------------------------------

    def _line(self, line: str, stream: TextIO | None = None) -> None:
        self._write(inert(fold(self.redactor.clean(line))), stream or self._log)

    def say(self, words: Words | str) -> None:
        if self.verbosity is not Verbosity.QUIET:
            self._line(self.redactor.one_line(self.text(words)))

    def verbatim(self, body: str) -> None:
        if self.verbosity is Verbosity.QUIET:
            return
        for line in self.redactor.cut(body, VERBATIM_LIMIT).splitlines():
            self._line(line)

    def _annotation(self, kind: str, message: Words | str, title: Words | str = "") -> None:
        """``error: Title: message``, its further lines indented."""
        text = self.redactor.cut(self.text(message), LINE_LIMIT)
        heading = self.redactor.one_line(self.text(title), 200)
        label = f"{kind}: {heading}" if heading else kind
        for number, line in enumerate((label + ": " + text).splitlines() or [label]):
            self._line(line if number == 0 else "  " + line)

    def exchange(self, exchange: Exchange) -> None:
        """A line per call; with ``--verbose`` its details and bodies, and a wait's every read."""
        if exchange.poll and not self.debug:
            return
        self.say(exchange_title(exchange))
        if not self.debug:
            return
        for line in exchange_details(exchange):
            self.say(line)
        if exchange.request_body:
            self.say("Request body:")
            self.verbatim(indented(exchange.request_body))
        self.say("Response body:")
        self.verbatim(indented(exchange.response_body) or "(empty)")

    def warn(self, words: Words | str, title: str) -> None:
        if self.verbosity is not Verbosity.QUIET:
            self._annotation("warning", words, title)

    # -- the end of a run -------------------------------------------------------------------

    def succeed(self, result: Result) -> None:
        if self.for_a_person:
            for line in self._in_words(result):
                self._line(line, self._out)
            return
        values, _ = self._fit(result.outputs, result.documents)
        self._line(json_inert(as_json(values)), self._out)
        if self.verbosity is not Verbosity.QUIET:
            self._annotation("notice", result.headline, result.title)

    def _in_words(self, result: Result) -> list[str]:
        """The result for a person: what happened, then the summary's other paragraphs, then its
        tables (the step summary's, as text)."""
        headline = self.text(result.headline)
        lines = [self.redactor.one_line(headline)]
        tables = [block for block in result.summary.blocks if isinstance(block, Table)]
        for block in result.summary.blocks:
            if not isinstance(block, Table) and _paragraph(block) != headline:
                lines.append(self.redactor.one_line(_paragraph(block)))
        for table in tables:
            lines += self._table(table)
        return lines

    def _table(self, table: Table) -> list[str]:
        """A table as aligned text, each cell one inert line."""
        rows = [[self.redactor.one_line(cell, 200) for cell in row] for row in [table.header, *table.rows]]
        widths = [max(_width(row[column]) for row in rows) for column in range(len(table.header))]
        return [
            "  ".join(
                cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
            for row in rows
        ]

    def fail(self, failure: Failure) -> None:
        """Said once on stderr; for a program also as JSON on stdout, so that a pipe reads why."""
        message = Words(failure.message, "\n", failure.hint) if failure.hint else failure.message
        self._annotation("error", message, failure.title)
        if self.for_a_person:
            return
        said = {
            "title": self.text(failure.title),
            "message": self.text(failure.message),
            "hint": self.text(failure.hint),
        }
        self._line(json_inert(as_json({"error": said, "exit-code": int(failure.exit_code)})), self._out)

    def show_trace(self, trace: str) -> None:
        """A bug's traceback, with ``--verbose`` only."""
        if self.debug:
            self.verbatim(trace)


def _paragraph(block: Paragraph) -> str:
    return "".join(part.text if isinstance(part, Strong) else part for part in block)


def _width(text: str) -> int:
    """How many columns a terminal gives ``text``: two for wide characters and emoji
    presentation (U+FE0F after a character), none for combining marks."""
    width = 0
    for index, char in enumerate(text):
        if unicodedata.combining(char) or char == "\ufe0f":
            continue
        wide = unicodedata.east_asian_width(char) in "WF" or text[index + 1 : index + 2] == "\ufe0f"
        width += 2 if wide else 1
    return width
