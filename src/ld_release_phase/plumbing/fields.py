"""Input fields every operation shares, as annotated types for an operation's input model.

Each reads the string the runner (or a flag) passes and raises a :func:`~.parsing.problem`
written for a person when it cannot: the token, LaunchDarkly keys, one-line texts, LaunchDarkly's
address, retries, durations and switches. An operation's model declares its fields with these
and adds its own.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, SecretStr, ValidationInfo

from ld_release_phase import failures

from .parsing import parse_base_uri, parse_duration, problem
from .text import Redactor

MAX_KEY_LENGTH = 256
KEY_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_KEY_LENGTH - 1}}}")
MAX_TOKEN_LENGTH = 512
MAX_RETRIES_LIMIT = 10
MAX_LINE_LENGTH = 512
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# Duration inputs: (lowest, highest) in seconds.
REQUEST_TIMEOUT_SPAN = (0.1, 300.0)
WAIT_TIMEOUT_SPAN = (1.0, 6 * 3600.0)  # a GitHub-hosted job cannot run longer than 6h
POLL_INTERVAL_SPAN = (1.0, 3600.0)


def redactor_of(info: ValidationInfo) -> Redactor:
    """The run's redactor, through which every echoed value is shown."""
    redactor = (info.context or {}).get("redactor")
    return redactor if isinstance(redactor, Redactor) else Redactor()


def _token(value: str) -> str:
    # Never echo the value: every message here describes the token without quoting it.
    if not value:
        raise problem(failures.token_missing())
    if value.lower().startswith(("bearer ", "token ")):
        raise problem(failures.PREFIXED_WITH_A_SCHEME)
    if any(char.isspace() for char in value) or CONTROL_CHARS.search(value):
        raise problem(failures.HOLDS_WHITESPACE)
    if value.startswith(("sdk-", "mob-")):
        raise problem(failures.LOOKS_LIKE_AN_SDK_KEY)
    if not value.isascii() or len(value) > MAX_TOKEN_LENGTH:
        # An HTTP header carries ASCII; a LaunchDarkly token is a short ASCII string.
        raise problem(failures.token_unlikely(MAX_TOKEN_LENGTH))
    return value


def _key(value: str, info: ValidationInfo) -> str:
    if not value:
        raise problem(failures.REQUIRED)
    return _optional_key(value, info)


def _optional_key(value: str, info: ValidationInfo) -> str:
    if value and not KEY_PATTERN.fullmatch(value):
        raise problem(failures.not_a_key(MAX_KEY_LENGTH, redactor_of(info).quote(value)))
    return value


def _line(value: str) -> str:
    if CONTROL_CHARS.search(value) or len(value) > MAX_LINE_LENGTH:
        raise problem(failures.not_one_line(MAX_LINE_LENGTH))
    return value


def _base_uri(value: str, info: ValidationInfo) -> str:
    return parse_base_uri(value, redactor_of(info))


def _retries(value: str, info: ValidationInfo) -> int:
    if not value.isdigit() or int(value) > MAX_RETRIES_LIMIT:
        raise problem(failures.not_a_whole_number(MAX_RETRIES_LIMIT, redactor_of(info).quote(value)))
    return int(value)


def _switch(value: str, info: ValidationInfo) -> bool:
    # The YAML 1.2 core schema's booleans, as GitHub's own getBooleanInput accepts them.
    if value in ("false", "False", "FALSE"):
        return False
    if value in ("true", "True", "TRUE"):
        return True
    raise problem(failures.not_a_boolean(redactor_of(info).quote(value)))


def duration(low: float, high: float) -> Any:
    """A duration input between ``low`` and ``high`` seconds."""

    def read(value: str, info: ValidationInfo) -> float:
        return parse_duration(value, low=low, high=high, redactor=redactor_of(info))

    return Annotated[float, BeforeValidator(read)]


AccessToken = Annotated[SecretStr, BeforeValidator(_token)]
Key = Annotated[str, BeforeValidator(_key)]
OptionalKey = Annotated[str, BeforeValidator(_optional_key)]
OneLine = Annotated[str, BeforeValidator(_line)]
BaseUri = Annotated[str, BeforeValidator(_base_uri)]
Retries = Annotated[int, BeforeValidator(_retries)]
Switch = Annotated[bool, BeforeValidator(_switch)]
