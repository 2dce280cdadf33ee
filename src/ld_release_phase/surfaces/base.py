"""What a surface is: where a run's words, outputs and failures go, and the values it is given.

An operation hands its surface values only: :class:`~..plumbing.words.Words` to say, calls
made (:class:`~..plumbing.api.Exchange`) and retries (:class:`~..plumbing.retry.Retrying`), a
request a dry run would send, and at the end a :class:`Result` or a
:class:`~..failures.Failure`. The surface decides how each reads: how an input is named, what
is folded, what goes to stdout, stderr, ``$GITHUB_OUTPUT`` or the step summary.

One rule for everything that leaves the process, on either surface: it is redacted by the run's
own :class:`~..plumbing.text.Redactor` (so a registered secret cannot get out even if
LaunchDarkly echoes it back), bounded to what GitHub keeps, and inert for the runner, which acts
on ``::name::`` at a line's start and on ``##[name]`` anywhere in a line, whether it reads the
action's stdout or a ``run:`` step's stdout and stderr.
"""

from __future__ import annotations

import json
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any, TextIO

from ld_release_phase.failures import Failure
from ld_release_phase.plumbing.api import Exchange, PlannedRequest
from ld_release_phase.plumbing.retry import Retrying
from ld_release_phase.plumbing.text import Redactor, neutralise
from ld_release_phase.plumbing.words import Ref, Words

# GitHub keeps at most 1 MiB of a step's outputs and of its summary; stay under both.
OUTPUTS_LIMIT = 1000 * 1024
SUMMARY_LIMIT = 1000 * 1024
# Debug dumps of request and response bodies, per dump.
VERBATIM_LIMIT = 64 * 1024


class Strong:
    """Text shown in bold in the step summary."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class Table:
    """A table of plain text cells (escaped by the surface that shows it)."""

    __slots__ = ("header", "rows")

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[str]]):
        self.header = list(header)
        self.rows = [list(row) for row in rows]


Paragraph = Sequence[str | Strong]
Block = Table | Paragraph


class Summary:
    """What the step summary shows of a result: a heading and blocks, as values; the workflow
    surface turns them into Markdown with everything from outside escaped."""

    __slots__ = ("blocks", "heading")

    def __init__(self, heading: str, blocks: Sequence[Block]):
        self.heading = heading
        self.blocks = list(blocks)


class Result:
    """What a successful run ends with: one headline, the outputs (typed; ``documents`` names
    the JSON ones), and the summary."""

    __slots__ = ("documents", "headline", "outputs", "summary", "title")

    def __init__(
        self,
        *,
        headline: Words | str,
        title: str,
        outputs: Mapping[str, Any],
        documents: frozenset[str],
        summary: Summary,
    ):
        self.headline = Words(headline)
        self.title = title
        self.outputs = dict(outputs)
        self.documents = documents
        self.summary = summary


class Surface(ABC):
    """The part both surfaces share: the redactor, tolerant writing, and the words for calls
    and retries. Subclasses say how inputs are named and where each kind of text goes."""

    redactor: Redactor

    def __init__(self, env: Mapping[str, str]):
        self._env = env
        self.redactor = Redactor()

    # -- what each surface decides ------------------------------------------------------------

    @property
    @abstractmethod
    def debug(self) -> bool:
        """Whether bodies and each poll's call are shown."""

    @abstractmethod
    def name(self, reference: Ref) -> str:
        """How an input is named to the reader."""

    @abstractmethod
    def mask(self, secret: str) -> None:
        """Keep ``secret`` out of everything shown from now on."""

    @abstractmethod
    def say(self, words: Words | str) -> None:
        """One line of the log."""

    @abstractmethod
    def verbatim(self, body: str) -> None:
        """Multi-line text from outside, unable to issue a workflow command."""

    @abstractmethod
    def exchange(self, exchange: Exchange) -> None:
        """A call made, with its answer."""

    @abstractmethod
    def warn(self, words: Words | str, title: str) -> None:
        """A warning the step goes on after."""

    def check_files(self) -> None:  # noqa: B027 - most surfaces have no files to check
        """Before any call: whatever must be writable for the result to be reported."""

    @abstractmethod
    def succeed(self, result: Result) -> None:
        """The end of a run that succeeded: its outputs, summary and headline."""

    @abstractmethod
    def fail(self, failure: Failure) -> None:
        """The end of a run that failed: the failure, said once."""

    @abstractmethod
    def show_trace(self, trace: str) -> None:
        """A bug's traceback, shown only when details are asked for."""

    # -- shared ---------------------------------------------------------------------------------

    def text(self, words: Words | str) -> str:
        """Words as this surface reads them, redacted."""
        shown = words.render(self.name) if isinstance(words, Words) else words
        return self.redactor.clean(shown)

    def retrying(self, retry: Retrying) -> None:
        self.say(
            f"Retrying: {retry.what}: {retry.reason}; retrying in {retry.wait:.1f}s "
            f"(attempt {retry.attempt} of {retry.attempts})"
        )

    def show_request(self, planned: PlannedRequest) -> None:
        """A dry run's request: what would be sent, the token shown as ``***``."""
        self.say(f"Dry run: would send {planned.method} {planned.url}")
        self.say("with headers " + header_list(planned.headers))
        self.verbatim(json.dumps(planned.body, indent=2, ensure_ascii=False))

    def _write(self, line: str, stream: TextIO) -> None:
        """One line, redacted; nothing is written once the stream refuses."""
        try:
            stream.write(self.redactor.clean(line) + "\n")
            stream.flush()
        except (OSError, ValueError):
            drop(stream)  # a closed or full log: nothing more can be said there; the result stands

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
        values = {name: self._redacted(value) for name, value in values.items()}
        texts = {name: output_text(value, name in documents) for name, value in values.items()}
        sizes = {name: len(text.encode()) for name, text in texts.items()}
        for name in sorted(sizes, key=sizes.__getitem__, reverse=True):
            if sum(sizes.values()) <= OUTPUTS_LIMIT:
                break
            left = "null" if name in documents else "empty"
            self.say(
                f"Output '{name}' is left {left}: it is {sizes[name]:,} bytes, and GitHub keeps at most "
                "1 MiB of a step's outputs."
            )
            values[name] = None if name in documents else ""
            texts[name] = output_text(values[name], name in documents)
            sizes[name] = len(texts[name])
        return values, texts


def secret_parts(secret: str) -> list[str]:
    """What to hide of a secret: the whole, and each of its lines alone (a multi-line secret is
    shown a line at a time), without surrounding white space."""
    return sorted(filter(None, {secret.strip(), *(line.strip() for line in secret.splitlines())}))


def exchange_title(exchange: Exchange) -> str:
    """A call in one line: ``GET /path → HTTP 200 in 84 ms``."""
    answer = f"HTTP {exchange.status}" if exchange.status is not None else "no answer"
    title = f"{exchange.method} {exchange.path} → {answer} in {exchange.elapsed * 1000:.0f} ms"
    return title + (f" (attempt {exchange.attempt})" if exchange.attempt > 1 else "")


def exchange_details(exchange: Exchange) -> list[str]:
    """The URL, the headers sent and what came back, a line each."""
    answer = f"HTTP {exchange.status}" if exchange.status is not None else "no answer"
    received = f"{answer}, {len(exchange.response_body.encode()):,} bytes"
    if exchange.response_headers:
        received += "; " + header_list(exchange.response_headers)
    return [
        f"{exchange.method} {exchange.url}",
        "Request headers: " + header_list(exchange.request_headers),
        f"Response: {received}",
    ]


def indented(body: str) -> str:
    """A JSON body indented for reading; anything else as it came."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body


def header_list(headers: Mapping[str, str]) -> str:
    return ", ".join(f"{name}: {value}" for name, value in headers.items())


def tolerant(stream: TextIO) -> TextIO:
    """The stream, set to escape what its encoding cannot hold (``PYTHONIOENCODING=ascii``)
    rather than fail on it."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with suppress(OSError, ValueError):
            reconfigure(errors="backslashreplace")
    return stream


def drop(stream: TextIO) -> None:
    """Send what is left of a stream that refuses writes to /dev/null: otherwise Python would
    fail the exit itself (status 120) flushing it, and change the step's result."""
    with suppress(OSError, ValueError):
        descriptor = stream.fileno()
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, descriptor)
        os.close(sink)


def inert(line: str) -> str:
    """A line the runner reads as text: ``##[`` shown as ``##\\[``, a leading ``::`` as ``\\::``."""
    line = neutralise(line)
    stripped = line.lstrip()
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\" + stripped
    return line


def as_json(value: Any) -> str:
    """One line of JSON (RFC 8259) that stays valid wherever it goes: in ASCII alone, every other
    character as a ``\\u`` escape, so that neither an output encoding (``PYTHONIOENCODING=ascii``)
    nor the visible escapes a log line gives invisible characters can change it; NaN and the
    infinities, which JSON has no words for, as ``null``."""
    text = json.dumps(_finite(value), ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("\x7f", "\\u007f")  # the one control character JSON lets stand as it is


def _finite(value: Any) -> Any:
    """The value with every NaN and infinity in it as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def json_inert(text: str) -> str:
    """JSON text whose strings cannot hold the runner's ``##[``: the same value, the bracket
    written as a JSON escape. (A JSON document's line starts with ``{``, never with ``::``.)"""
    return text.replace("##[", "##\\u005b")


def output_text(value: Any, document: bool) -> str:
    """A value as a step output: GitHub's outputs are strings."""
    if document:
        return as_json(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
