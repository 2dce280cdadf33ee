"""Failures as values, and the catalogue of what every operation says when something fails.

Each failure carries what a person needs to read (a title, what was wrong, what would be right)
and the exit code to end with. Every such sentence is written once, in a named constructor: the
ones any operation can meet are here (inputs, the network, LaunchDarkly's answers, the runner);
each operation's own are in its room (``phases/failures.py``). Sentences are :class:`Words`, so
the surface that shows them names each input the way the user gave it.
"""

from __future__ import annotations

import signal
from enum import IntEnum

from . import Cancelled
from .plumbing.text import human_duration, plural
from .plumbing.words import TOKEN_INPUT, Part, Ref, TokenSource, Words, ref


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
    TERMINATED = 143


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
    ExitCode.TERMINATED: "terminated (SIGTERM: docker stop, or the runner stopping the container)",
}


def say(*parts: Part | Words) -> Words:
    """A sentence from text and input references: ``say("Set ", ref("phase"), " to 'next'.")``."""
    return Words(*parts)


class Failure(Exception):
    """A failure the action explains to the user and ends the step with.

    ``title`` becomes the annotation's title, ``message`` says what was wrong, ``fix`` says what
    would be right, and ``outcome`` states plainly what the run did or did not do about it
    ("Nothing was sent to LaunchDarkly."): a statement, not a fix. ``hint`` is the two
    together, for a surface that shows them as one. Text from outside is welcome in any of
    them: everything shown is redacted before it is cut or escaped.
    """

    def __init__(
        self,
        *,
        title: Words | str,
        message: Words | str,
        hint: Words | str,
        exit_code: ExitCode,
        outcome: Words | str = "",
    ):
        self.title = Words(title)
        self.message = Words(message)
        self.fix = Words(hint)
        self.outcome = Words(outcome)
        self.hint = Words(self.fix, " " if self.fix and self.outcome else "", self.outcome)
        self.exit_code = exit_code
        super().__init__(str(self.message))

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class Refused(Failure):
    """LaunchDarkly answered with an error status. ``code`` and ``reason`` are its own words;
    ``detail`` is how they are quoted (``code: message (request id ...)``)."""

    def __init__(
        self,
        *,
        title: Words | str,
        message: Words | str,
        hint: Words | str,
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


class NotFound(Refused):
    """LaunchDarkly answered 404: the caller knows what was missing and may say it better."""


NOTHING_SENT = "Nothing was sent to LaunchDarkly."
_CHECK_BASE_URI = say("Check ", ref("base-uri"), ": it must point at LaunchDarkly's API.")
_UNEXPECTED = "Unexpected answer from LaunchDarkly"
_CALL_FAILED = "LaunchDarkly call failed"


# -- inputs -------------------------------------------------------------------------------


def bad_input(input_name: str, message: Words | str, hint: Words | str) -> Failure:
    """An input is invalid, or does not fit the release; nothing has been written."""
    return Failure(
        title=say("Invalid input ", ref(input_name)), message=message, hint=hint, exit_code=ExitCode.BAD_INPUT
    )


def invalid_inputs(problems: list[tuple[str, Words]]) -> Failure:
    """Every problem found in the inputs, as (input name, what is wrong with it)."""
    title = (
        say("Invalid input ", ref(problems[0][0]))
        if len(problems) == 1
        else say(f"{len(problems)} invalid inputs")
    )
    return Failure(
        title=title,
        message=Words("\n").join(say(ref(name), " ", problem) for name, problem in problems),
        hint="",
        outcome=NOTHING_SENT,
        exit_code=ExitCode.BAD_INPUT,
    )


def bad_command_line(problem: str, usage: str, program: str) -> Failure:
    """The command's flags cannot be read; nothing has been sent."""
    return Failure(
        title="Invalid command line",
        message=f"{problem}.\n{usage}",
        hint=f"Run {program} --help for every flag.",
        outcome=NOTHING_SENT,
        exit_code=ExitCode.BAD_INPUT,
    )


def token_flag_refused(variable: str) -> Failure:
    return Failure(
        title=say("Invalid input ", ref(TOKEN_INPUT)),
        message=f"--{TOKEN_INPUT} is not accepted: put the token in ${variable} (flags end up in shell "
        "history and ps).",
        hint=f"export {variable}=api-...",
        outcome=NOTHING_SENT,
        exit_code=ExitCode.BAD_INPUT,
    )


# What is wrong with an input, for :func:`invalid_inputs`: each is said after the input's name.


def token_missing() -> Words:
    return say(TokenSource())


PREFIXED_WITH_A_SCHEME = (
    "starts with an authorization scheme; LaunchDarkly takes the raw token, so pass it without 'Bearer '."
)
HOLDS_WHITESPACE = "contains whitespace or control characters; paste the token alone."
LOOKS_LIKE_AN_SDK_KEY = (
    "looks like an SDK or mobile key. The REST API needs a personal or service access token (Account "
    "settings > Authorization), usually starting with 'api-'."
)


def token_unlikely(max_length: int) -> str:
    return (
        f"has characters a LaunchDarkly token never has, or is over {max_length} characters long; copy "
        "the token again from LaunchDarkly."
    )


REQUIRED = "is required but empty."


def not_a_key(max_length: int, shown: str) -> str:
    return (
        f"must be a LaunchDarkly key (letters, digits, '.', '_' and '-', starting with a letter or digit, "
        f"at most {max_length} characters); got {shown}."
    )


def not_one_line(max_length: int) -> str:
    return f"must be one line of at most {max_length} characters."


def not_a_whole_number(high: int, shown: str) -> str:
    return f"must be a whole number from 0 to {high}; got {shown}."


def not_a_boolean(shown: str) -> str:
    return f"must be true or false; got {shown}."


def not_one_of(choices: list[str], shown: str, suggestion: str) -> str:
    return f"must be one of {', '.join(choices)}; got {shown}.{suggestion}"


def not_a_duration(shown: str) -> str:
    return f"must be a duration such as 90 (seconds), 90s, 15m or 1h; got {shown}."


def duration_out_of_range(low: float, high: float, shown: str) -> str:
    return f"must be from {human_duration(low)} to {human_duration(high)}; got {shown}."


_BASE_URI_HINT = (
    "Use https://<host>, one of the presets commercial, federal or eu, or http:// only to a loopback "
    "address for local testing."
)


def base_uri_malformed(shown: str) -> str:
    return f"is not a valid URL; got {shown}. {_BASE_URI_HINT}"


def base_uri_not_https(shown: str) -> str:
    return f"must be an https:// URL; got {shown}. {_BASE_URI_HINT}"


def base_uri_has_spaces(shown: str) -> str:
    return (
        "must not contain spaces or control characters (a tab, a line break), which URL parsers "
        f"drop or refuse differently; got {shown}. {_BASE_URI_HINT}"
    )


def base_uri_not_bare(shown: str) -> str:
    return (
        "must be LaunchDarkly's address alone, without a path, credentials, a query or a fragment (the "
        f"action adds /api/v2/... itself); got {shown}. {_BASE_URI_HINT}"
    )


def base_uri_plain_remote(shown: str) -> str:
    return (
        "must not be plain http:// to a remote host (the access token would travel unencrypted); got "
        f"{shown}. {_BASE_URI_HINT}"
    )


def document_too_deep(what: str) -> str:
    return f"is nested too deeply to be {what}."


def document_unreadable(where: str, said: str) -> str:
    return f"is neither valid JSON nor valid YAML{where}: {said}."


YAML_ALIASES_REFUSED = "aliases (*name) are not accepted; write the values out"


def yaml_number_form(shown: str, where: str) -> str:
    return (
        f"has {shown}{where}: a number not in plain decimal digits, which YAML readers do not all read "
        "the same (YAML 1.1 reads 010 as 8, YAML 1.2, GitHub's, as 10); write it in plain decimal "
        "digits, or quote it if it is text."
    )


def duplicate_key(shown: str, where: str) -> str:
    return (
        f"has the key {shown} twice in one mapping{where}; the second would silently replace the first. "
        "Give each field once."
    )


def not_a_field(title: str, guess: str, allowed: list[str]) -> str:
    return f"is not a field of {title}.{guess} Allowed: {', '.join(allowed)}"


def entry_problems(lines: list[str]) -> str:
    return "has problems:\n" + "\n".join(lines)


# -- LaunchDarkly's answers ---------------------------------------------------------------


def unexpected_answer(problem: str, hint: Words | str = _CHECK_BASE_URI) -> Failure:
    """LaunchDarkly (or whatever answers on base-uri) answered with something that is not what
    the call returns."""
    return Failure(title=_UNEXPECTED, message=problem, hint=hint, exit_code=ExitCode.API_FAILURE)


def answer_not_json(method: str, path: str, status: int, snippet: str) -> Failure:
    return unexpected_answer(
        f"LaunchDarkly's answer to {method} {path} (HTTP {status}) is not JSON: {snippet}"
    )


def answer_too_deep(method: str, path: str, status: int, depth: int) -> Failure:
    return unexpected_answer(
        f"LaunchDarkly's answer to {method} {path} (HTTP {status}) is nested more than {depth} levels deep"
    )


def answer_too_large(method: str, path: str, cause: str) -> Failure:
    return unexpected_answer(f"the answer to {method} {path}: {cause}.")


def not_the_shape(method: str, path: str, what: str, where: str, problem: str) -> Failure:
    return unexpected_answer(
        f"LaunchDarkly's answer to {method} {path} is not {what}: {where}: {problem}.",
        "If this persists, LaunchDarkly may have changed this beta API; please report it.",
    )


def unusable_id(shown: str) -> Failure:
    return unexpected_answer(
        f"the id {shown} cannot be sent in a URL path without changing the path.",
        "Check the flag's release in LaunchDarkly.",
    )


def tls_failed(method: str, path: str, base_uri: str, cause: str) -> Failure:
    return Failure(
        title="TLS verification failed",
        message=f"{method} {path}: the TLS certificate of {base_uri} could not be verified ({cause}).",
        hint=say(
            "Check ",
            ref("base-uri"),
            ". Behind a proxy or with a private CA, point REQUESTS_CA_BUNDLE at the CA's certificate (set "
            "it in the step's env).",
        ),
        exit_code=ExitCode.API_FAILURE,
    )


def not_tls(method: str, path: str, base_uri: str, cause: str) -> Failure:
    return Failure(
        title="No TLS at the https address",
        message=f"{method} {path}: {base_uri} did not answer in TLS, so nothing could be sent; a "
        f"plain-HTTP server answers this way ({cause}).",
        hint=say(
            "Check ",
            ref("base-uri"),
            ": an https:// address must be served over TLS (a local plain-HTTP stand-in is reached with "
            "http://127.0.0.1:PORT).",
        ),
        exit_code=ExitCode.API_FAILURE,
    )


def tls_handshake_failed(method: str, path: str, base_uri: str, cause: str) -> Failure:
    return Failure(
        title="TLS handshake failed",
        message=f"{method} {path}: {base_uri} and this action could not agree on a TLS connection "
        f"({cause}), so nothing was sent.",
        hint=say(
            "Check ",
            ref("base-uri"),
            ": LaunchDarkly speaks TLS 1.2 or newer, and a proxy or server in between that does not cannot "
            "be used.",
        ),
        exit_code=ExitCode.API_FAILURE,
    )


def ca_bundle_unusable(variable: str, path: str, reason: str) -> Failure:
    """The environment names a CA bundle for TLS that cannot be loaded: nothing was sent."""
    return Failure(
        title=f"Cannot use ${variable}",
        message=f"${variable} names {path} as the CA bundle to verify LaunchDarkly's certificate with, "
        f"and it cannot be loaded: {reason}.",
        hint=f"This comes from the step's environment, not from the inputs or LaunchDarkly: point {variable} "
        "at a PEM file of CA certificates the step can read (in a Docker action, a path inside the "
        "container, such as under /github/workspace), or unset it.",
        outcome=NOTHING_SENT,
        exit_code=ExitCode.INTERNAL,
    )


def unsendable(method: str, path: str, cause: str) -> Failure:
    return Failure(
        title=_CALL_FAILED,
        message=f"{method} {path} could not be sent: {cause}",
        hint=say("Check ", ref("base-uri"), "."),
        exit_code=ExitCode.API_FAILURE,
    )


def redirected(method: str, path: str, status: int, target: str) -> Failure:
    return Failure(
        title="LaunchDarkly redirected the request",
        message=say(
            f"{method} {path} was answered with HTTP {status} to {target}. Redirects are not followed so the "
            "access token is only sent to ",
            ref("base-uri"),
            ".",
        ),
        hint=say("Set ", ref("base-uri"), " to the address LaunchDarkly's API answers on directly."),
        exit_code=ExitCode.API_FAILURE,
    )


_GAVE_UP_HINTS: dict[int | None, Words] = {
    429: say("LaunchDarkly is rate limiting this token; run fewer jobs at once or retry later."),
    409: say("Another change to this release kept conflicting; run again."),
    None: say("Check ", ref("base-uri"), " and the runner's network (proxy settings are honoured)."),
}


def retries_used_up(method: str, path: str, attempts: int, reason: str, status: int | None) -> Failure:
    """The last failure of a call whose retries (or waiting budget) ran out."""
    return Failure(
        title=_CALL_FAILED,
        message=f"{method} {path} failed after {plural(attempts, 'attempt')}: {reason}",
        hint=_GAVE_UP_HINTS.get(status, say("LaunchDarkly may be having trouble; run again later.")),
        exit_code=ExitCode.API_FAILURE,
    )


_TOKEN_REJECTED = say(
    "Check ",
    ref(TOKEN_INPUT),
    ": a current personal or service access token (not an SDK or mobile key), and the secret holds all "
    "of it.",
)


class RefusalHints:
    """What an operation advises for LaunchDarkly's refusals (400 and 403 depend on what it asked)."""

    __slots__ = ("access", "bad_request")

    def __init__(self, *, bad_request: Words | str, access: Words | str):
        self.bad_request = Words(bad_request)
        self.access = Words(access)


def refusal(
    method: str, path: str, status: int, *, code: str, reason: str, detail: str, hints: RefusalHints
) -> Refused:
    """LaunchDarkly answered ``status`` (4xx) with its own ``code`` and ``reason``."""
    titles = {
        400: ("LaunchDarkly refused the request", hints.bad_request, ExitCode.API_FAILURE),
        401: ("LaunchDarkly rejected the access token", _TOKEN_REJECTED, ExitCode.AUTH),
        403: ("LaunchDarkly refused access", hints.access, ExitCode.AUTH),
        404: ("Not found in LaunchDarkly", Words(), ExitCode.NOT_FOUND),
    }
    title, hint, exit_code = titles.get(
        status, ("LaunchDarkly refused the request", Words(), ExitCode.API_FAILURE)
    )
    kind = NotFound if status == 404 else Refused
    return kind(
        title=title,
        message=f"{method} {path}: HTTP {status} {detail}".rstrip(),
        hint=hint,
        exit_code=exit_code,
        status=status,
        code=code,
        reason=reason,
        detail=detail,
    )


def not_found(refused: NotFound, message: Words | str, hint: Words | str) -> NotFound:
    """A 404 in the words of the call that got it."""
    return NotFound(
        title=refused.title,
        message=Words(message, f" HTTP 404 {refused.detail}".rstrip()),
        hint=hint,
        exit_code=refused.exit_code,
        status=404,
        code=refused.code,
        reason=refused.reason,
        detail=refused.detail,
    )


# -- the runner ---------------------------------------------------------------------------


def runner_file_unwritable(variable: str, path: str, reason: str) -> Failure:
    """A file the runner gave the step (``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``) cannot be
    written: a problem of the environment, not of the inputs or of LaunchDarkly."""
    return Failure(
        title=f"Cannot write ${variable}",
        message=f"${variable} ({path}) cannot be written: {reason}.",
        hint="This comes from the runner's environment, not from the inputs or LaunchDarkly: the "
        "runner creates that file before the step, and the process must be able to append to it "
        "(the runner starts a Docker action as root, which can).",
        exit_code=ExitCode.INTERNAL,
    )


def output_refused(problem: str) -> Failure:
    return Failure(
        title="Output refused",
        message=f"an output value was refused: {problem}",
        hint="",
        exit_code=ExitCode.INTERNAL,
    )


def internal_error(error: BaseException) -> Failure:
    """A bug: said plainly, with how to report it."""
    return Failure(
        title="Internal error",
        message=f"Unexpected {type(error).__name__}: {error}",
        hint="Please report this, with the step's log.",
        exit_code=ExitCode.INTERNAL,
    )


def canceled(cancel: Cancelled) -> Failure:
    """A stop signal ended the run; one that cut a write short says the write may have landed."""
    terminated = cancel.signum == signal.SIGTERM
    said = "Terminated (SIGTERM)." if terminated else "Interrupted."
    exit_code = ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED
    if not cancel.write:
        return Failure(title="Canceled", message=said, hint="", exit_code=exit_code)
    return Failure(
        title="Canceled",
        message=f"{said} {cancel.write} was under way and its answer had not been read: it may have "
        "reached LaunchDarkly and taken effect.",
        hint="Check the flag's release in LaunchDarkly, or run the step again: a run reads the release "
        "before it writes, so it does not repeat what already took effect.",
        exit_code=exit_code,
    )


__all__ = ["Ref", "Words", "ref", "say"]
