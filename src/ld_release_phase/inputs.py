"""The action's inputs: one frozen, typed model, and the parsing that turns raw strings into it.

Every input arrives as a string (from ``INPUT_*`` variables or command flags), and so does each
default. Each field has a ``before`` validator that parses that string and, when it cannot,
raises a message written for a person: what was wrong and what would be right.
:func:`parse_inputs` gathers those messages into one :class:`ActionError` naming each input as
the user gave it (``'project'`` in a workflow, ``--project`` on a command line).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from . import text
from .errors import ActionError, ExitCode
from .models import PhaseState, status_key

BASE_URI_PRESETS = {
    "commercial": "https://app.launchdarkly.com",
    "federal": "https://app.launchdarkly.us",
    "eu": "https://app.eu.launchdarkly.com",
}
DEFAULT_BASE_URI = BASE_URI_PRESETS["commercial"]

# LaunchDarkly project and flag keys: letters, digits, '.', '_' and '-', starting with a letter
# or digit. Anything else (a '/', '?', '#', a space, a lone '..') could change which URL is
# called, so it is refused here even though path parameters are also percent-encoded.
MAX_KEY_LENGTH = 256
KEY_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_KEY_LENGTH - 1}}}")
MAX_PHASE_LENGTH = 512
MAX_RETRIES_LIMIT = 10
# Sizes past which an input is absurd, refused before any call.
MAX_TOKEN_LENGTH = 512
MAX_AUDIENCES_BYTES = 64 * 1024
MAX_AUDIENCES = 100
# Duration inputs: (lowest, highest) in seconds, by field.
DURATIONS = {
    "request_timeout": (0.1, 300.0),
    "wait_timeout": (1.0, 6 * 3600.0),  # a GitHub-hosted job cannot run longer than 6h
    "poll_interval": (1.0, 3600.0),
}
# The one status a phase can be set to by hand, and the words that ask for it (folded).
START_WORDS = ("active", "started", "start")
STATUS_REFUSED = (
    "LaunchDarkly only lets a phase be started by hand (status: active) and answers any other "
    "status with HTTP 400. LaunchDarkly completes a phase when the next one starts: start the next "
    "phase (phase: next)."
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class WaitFor(StrEnum):
    NONE = "none"
    STARTED = "started"
    COMPLETE = "complete"


def _fail(message: str, *, about: str = "") -> PydanticCustomError:
    """An input's problem, for a person; ``about`` names the input when the check spans several."""
    return PydanticCustomError("action_input", message, {"input": about} if about else None)


class GuardianConfigInput(BaseModel):
    """``releaseGuardianConfiguration`` exactly as LaunchDarkly's ``ReleaserAudienceConfigInput``."""

    # 5 ms to build these validators, which only runs passing audiences need: built on first use.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    monitoringWindowMilliseconds: Annotated[StrictInt, Field(ge=0)] | None = None
    rolloutWeight: Annotated[StrictInt, Field(ge=0)] | None = None
    rollbackOnRegression: StrictBool | None = None
    randomizationUnit: StrictStr | None = None


class AudienceInput(BaseModel):
    """One entry of the ``audiences`` input.

    Field names are LaunchDarkly's own, so the entry can be sent as given. ``audienceName`` and
    ``environmentKey`` are this action's conveniences: they name the audience instead of its
    ``audienceId`` and are replaced by the resolved id before anything is sent.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    audienceId: StrictStr | None = None
    audienceName: StrictStr | None = None
    environmentKey: StrictStr | None = None
    releaseGuardianConfiguration: GuardianConfigInput | None = None
    notifyMemberIds: list[StrictStr] | None = None
    notifyTeamKeys: list[StrictStr] | None = None

    @model_validator(mode="after")
    def _names_exactly_one_audience(self) -> AudienceInput:
        given = [name for name in ("audienceId", "audienceName", "environmentKey") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(
                "each entry needs exactly one of audienceId, audienceName or environmentKey"
                + (f" (got {' and '.join(given)})" if given else "")
            )
        return self

    def configuration(self) -> dict[str, Any]:
        """The fields to send besides ``audienceId``, exactly as the user gave them."""
        return self.model_dump(exclude_unset=True, exclude={"audienceId", "audienceName", "environmentKey"})


@functools.cache
def _audiences_adapter() -> TypeAdapter[list[AudienceInput]]:
    return TypeAdapter(list[AudienceInput])


def _span(field: str) -> str:
    return _span_of(*DURATIONS[field])


def _span_of(low: float, high: float) -> str:
    return f"{text.human_duration(low)} to {text.human_duration(high)}"


def _input(default: str, *, description: str, alias: str | None = None) -> Any:
    """An input: its default as the text the runner would pass, validated like a given value."""
    return Field(default, alias=alias, description=description)


class ActionInputs(BaseModel):
    """Everything a run needs, validated: the one place each input is declared.

    An input's name is its field's alias, its default is the text the runner passes when a step
    leaves it out (the same default as ``action.yml``'s, validated like any given value), and
    its description is what ``action.yml`` and ``--help`` say of it; tests hold both to this.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, validate_default=True)

    access_token: SecretStr = _input(
        "",
        alias="access-token",
        description="LaunchDarkly personal or service access token (not an SDK or mobile key), from a "
        "secret. Its role must allow updating release pipelines. Printable ASCII, at most "
        f"{MAX_TOKEN_LENGTH} characters.",
    )
    project: str = _input(
        "",
        description="Project key: letters, digits, `.`, `_` and `-`, starting with a letter or digit, "
        f"at most {MAX_KEY_LENGTH} characters.",
    )
    flag: str = _input("", description="Flag key, written like a project key.")
    phase: str = _input(
        "",
        description="The phase to act on: its id, its name (exact, then ignoring case), or `next` (the "
        f"first phase neither started nor complete). One line, at most {MAX_PHASE_LENGTH} characters.",
    )
    status: PhaseState = _input(
        "active",
        description="`active` (also spelt `started` or `start`; case, spaces, `-` and `_` are ignored): "
        "start the phase. LaunchDarkly only lets a phase be started by hand, so any other status "
        "(Complete, Paused, NotStarted, ReadyToStart) is refused before any call. LaunchDarkly "
        "completes a phase when the next one starts: start the next phase (`phase: next`).",
    )
    audiences: tuple[AudienceInput, ...] | None = _input(
        "",
        description="A JSON or YAML list of audience configurations for the phase: each names one "
        "audience (audienceId, audienceName or environmentKey) and may set "
        f"releaseGuardianConfiguration, notifyMemberIds and notifyTeamKeys. At most {MAX_AUDIENCES} entries "
        f"and {MAX_AUDIENCES_BYTES // 1024} KiB; no YAML aliases.",
    )
    release_pipeline: str = _input(
        "",
        alias="release-pipeline",
        description="A release pipeline key. When the flag has no release yet, the action puts it on "
        "this pipeline first, then acts on the phase as usual. A flag already on another pipeline is "
        "never moved: that is an error naming both. Empty: a flag without a release is an error.",
    )
    release_variation: str = _input(
        "",
        alias="release-variation",
        description="With release-pipeline: the id of the variation the new release serves "
        "(releaseVariationId). Empty: LaunchDarkly's default.",
    )
    base_uri: str = _input(
        DEFAULT_BASE_URI,
        alias="base-uri",
        description="LaunchDarkly's address: an https:// URL, or a preset: commercial, federal, eu. "
        "http:// only to a loopback address, for local testing.",
    )
    max_retries: int = _input(
        "5",
        alias="max-retries",
        description=f"Retries for rate limits (429), conflicts (409), 5xx and network errors, 0 to "
        f"{MAX_RETRIES_LIMIT}.",
    )
    request_timeout: float = _input(
        "30s",
        alias="request-timeout",
        description="How long one HTTP attempt may take in all (connecting, headers and the whole "
        f"answer), e.g. 30, 30s, 1m; {_span('request_timeout')}.",
    )
    wait_for: WaitFor = _input(
        "none",
        alias="wait-for",
        description="After the update, wait until the phase is `started` or `complete`; `none` to "
        "return at once. LaunchDarkly completes a phase when the next phase starts (or a guarded "
        "rollout ends), so waiting for `complete` needs another step or person to start the next phase.",
    )
    wait_timeout: float = _input(
        "15m",
        alias="wait-timeout",
        description=f"How long to wait before failing, e.g. 900, 15m, 1h; {_span('wait_timeout')}. The "
        "wait ends by then, whatever a poll's retries would have waited.",
    )
    poll_interval: float = _input(
        "15s",
        alias="poll-interval",
        description=f"How often to read the release while waiting, e.g. 15s, 1m; {_span('poll_interval')}.",
    )
    dry_run: bool = _input(
        "false",
        alias="dry-run",
        description="true to read the release, validate everything and show the requests that would be "
        "sent, without sending them.",
    )

    @field_validator("access_token", mode="before")
    @classmethod
    def _token(cls, value: str, info: ValidationInfo) -> str:
        # Never echo the value: every message here describes the token without quoting it.
        if not value and (info.context or {}).get("as_command"):
            raise _fail(
                "is not set. Export a LaunchDarkly access token first: export LD_ACCESS_TOKEN=api-..."
            )
        if not value:
            raise _fail(
                "is required but empty. Pass a LaunchDarkly access token from a secret, e.g. "
                "access-token: ${{ secrets.LD_ACCESS_TOKEN }} (check that the secret exists "
                "and is available to this workflow)."
            )
        if value.lower().startswith(("bearer ", "token ")):
            raise _fail(
                "starts with an authorization scheme; LaunchDarkly takes the raw token, so pass "
                "it without 'Bearer '."
            )
        if any(char.isspace() for char in value) or _CONTROL_CHARS.search(value):
            raise _fail("contains whitespace or control characters; paste the token alone.")
        if value.startswith(("sdk-", "mob-")):
            raise _fail(
                "looks like an SDK or mobile key. The REST API needs a personal or service "
                "access token (Account settings > Authorization), usually starting with 'api-'."
            )
        if not value.isascii() or len(value) > MAX_TOKEN_LENGTH:
            # An HTTP header carries ASCII; a LaunchDarkly token is a short ASCII string.
            raise _fail(
                f"has characters a LaunchDarkly token never has, or is over {MAX_TOKEN_LENGTH} "
                "characters long; copy the token again from LaunchDarkly."
            )
        return value

    @field_validator("project", "flag", "release_pipeline", mode="before")
    @classmethod
    def _key(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            if info.field_name == "release_pipeline":  # optional: empty keeps a flag as it is
                return value
            raise _fail("is required but empty.")
        if not KEY_PATTERN.fullmatch(value):
            raise _fail(
                f"must be a LaunchDarkly key (letters, digits, '.', '_' and '-', starting with a "
                f"letter or digit, at most {MAX_KEY_LENGTH} characters); got {text.quote(value)}."
            )
        return value

    @field_validator("release_variation", mode="before")
    @classmethod
    def _variation(cls, value: str) -> str:
        if _CONTROL_CHARS.search(value) or len(value) > MAX_KEY_LENGTH:
            raise _fail(
                f"must be one line of at most {MAX_KEY_LENGTH} characters: the id of one of the flag's "
                "variations."
            )
        return value

    @model_validator(mode="after")
    def _variation_needs_pipeline(self) -> ActionInputs:
        if self.release_variation and not self.release_pipeline:
            raise _fail(
                "is only used when a flag is put on a pipeline; set release-pipeline too.",
                about="release-variation",
            )
        return self

    @field_validator("phase", mode="before")
    @classmethod
    def _phase(cls, value: str) -> str:
        if not value:
            raise _fail("is required but empty. Give the phase's id, its name, or 'next'.")
        if _CONTROL_CHARS.search(value) or len(value) > MAX_PHASE_LENGTH:
            raise _fail(
                f"must be one line of at most {MAX_PHASE_LENGTH} characters: a phase id, a phase name, "
                "or 'next'."
            )
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: str) -> PhaseState:
        if status_key(value) in START_WORDS:
            return PhaseState.STARTED
        if PhaseState.read(value) is not None:
            raise _fail(f"{text.quote(value)} cannot be set: {STATUS_REFUSED}")
        raise _fail(f"must be active (also spelt started or start); got {text.quote(value)}.")

    @field_validator("audiences", mode="before")
    @classmethod
    def _audiences(cls, value: str) -> tuple[AudienceInput, ...] | None:
        if not value:
            return None
        if len(value.encode()) > MAX_AUDIENCES_BYTES:
            raise _fail(f"is over {MAX_AUDIENCES_BYTES // 1024} KiB; a phase's audiences fit in far less.")
        document = _load_structured(value)
        if not isinstance(document, list):
            raise _fail(f"must be a list of audience entries; got {_json_type(document)}.")
        if len(document) > MAX_AUDIENCES:
            raise _fail(f"lists {len(document)} entries; at most {MAX_AUDIENCES} are accepted.")
        try:
            return tuple(_audiences_adapter().validate_python(document))
        except ValidationError as error:
            raise _fail(_describe_audience_errors(error)) from None

    @field_validator("base_uri", mode="before")
    @classmethod
    def _base_uri(cls, value: str) -> str:
        return _parse_base_uri(value)

    @field_validator("max_retries", mode="before")
    @classmethod
    def _max_retries(cls, value: str) -> int:
        if not value.isdigit() or int(value) > MAX_RETRIES_LIMIT:
            raise _fail(f"must be a whole number from 0 to {MAX_RETRIES_LIMIT}; got {text.quote(value)}.")
        return int(value)

    @field_validator("request_timeout", "wait_timeout", "poll_interval", mode="before")
    @classmethod
    def _duration(cls, value: str, info: ValidationInfo) -> float:
        low, high = DURATIONS[info.field_name or ""]
        return _parse_duration(value, low=low, high=high)

    @field_validator("wait_for", mode="before")
    @classmethod
    def _wait_for(cls, value: str) -> WaitFor:
        folded = value.strip().lower()
        try:
            return WaitFor(folded)
        except ValueError:
            raise _fail(f"must be one of none, started, complete; got {text.quote(value)}.") from None

    @field_validator("dry_run", mode="before")
    @classmethod
    def _dry_run(cls, value: str) -> bool:
        # The YAML 1.2 core schema's booleans, as GitHub's own getBooleanInput accepts them.
        if value in ("false", "False", "FALSE"):
            return False
        if value in ("true", "True", "TRUE"):
            return True
        raise _fail(f"must be true or false; got {text.quote(value)}.")


INPUT_NAMES: tuple[str, ...] = tuple(field.alias or name for name, field in ActionInputs.model_fields.items())
TOKEN_INPUT = "access-token"  # noqa: S105 - the input's name, not a secret
REQUIRED_INPUTS = (TOKEN_INPUT, "project", "flag", "phase")


def parse_inputs(raw: Mapping[str, str], *, as_command: bool = False) -> ActionInputs:
    """Validate raw input strings, keyed by input name; raise one ActionError for all problems.

    ``as_command``: the inputs came from flags, so problems name ``--flag`` (and the token its
    environment variable) rather than the action's input.
    """
    # An input left empty takes its default, as the runner fills in action.yml's.
    values = {name: value for name in INPUT_NAMES if (value := raw.get(name, "").strip())}
    try:
        return ActionInputs.model_validate(values, context={"as_command": as_command})
    except ValidationError as error:
        shown = _flag_name if as_command else _input_name
        problems = [
            (shown(_input_named_by(detail)), detail["msg"])
            for detail in error.errors(include_url=False, include_input=False)
        ]
    raise ActionError(
        title=_title(problems),
        message="\n".join(f"{name} {message}" for name, message in problems),
        hint="Nothing was sent to LaunchDarkly.",
        exit_code=ExitCode.BAD_INPUT,
    )


def _input_name(name: str) -> str:
    return f"'{name}'"


def _flag_name(name: str) -> str:
    return "$LD_ACCESS_TOKEN" if name == TOKEN_INPUT else f"--{name}"


def _title(problems: list[tuple[str, str]]) -> str:
    return f"Invalid input {problems[0][0]}" if len(problems) == 1 else f"{len(problems)} invalid inputs"


def _input_named_by(detail: Any) -> str:
    """The input an error is about: its field's alias, or the input a cross-field check names."""
    named = (detail.get("ctx") or {}).get("input")
    if named:
        return str(named)
    field = str(detail["loc"][0]) if detail["loc"] else "inputs"
    known = ActionInputs.model_fields.get(field)
    return (known.alias or field) if known else field


def _show(value: object) -> str:
    """A value from a parsed document, as JSON, bounded for a log line."""
    return text.cut(json.dumps(value, ensure_ascii=False, default=str), 60)


def _json_type(document: object) -> str:
    """What a parsed document is, in words: "a mapping", "a string", "a date", "empty"..."""
    if document is None:
        return "empty"
    names = {dict: "a mapping", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(document), f"a {type(document).__name__}")


def _load_structured(source: str) -> object:
    """Parse the audiences input: JSON first (fast, no extra import), then YAML without aliases.

    YAML aliases (``*name``) are refused: a few kilobytes of them expand to millions of values.
    Nesting too deep for the parser is refused too, as the input error it is.
    """
    try:
        return json.loads(source)
    except ValueError:
        pass
    except RecursionError:
        raise _fail("is nested too deeply to be a list of audiences.") from None
    import yaml  # noqa: PLC0415 - 8 ms of import that only runs passing YAML pay

    try:
        return yaml.load(source, Loader=_loader_without_aliases())  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid syntax"
        raise _fail(f"is neither valid JSON nor valid YAML{where}: {problem}.") from None
    except RecursionError:
        raise _fail("is nested too deeply to be a list of audiences.") from None


@functools.cache
def _loader_without_aliases() -> type:
    import yaml  # noqa: PLC0415 - see _load_structured

    class SafeLoaderWithoutAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                problem = "aliases (*name) are not accepted; write the values out"
                raise yaml.composer.ComposerError(None, None, problem, mark)
            return super().compose_node(parent, index)

    return SafeLoaderWithoutAliases


def _describe_audience_errors(error: ValidationError) -> str:
    """Turn pydantic's errors into ``audiences[0].field: problem`` lines."""
    lines = []
    for detail in error.errors(include_url=False):
        path = "audiences" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in detail["loc"]
        )
        kind = detail["type"]
        if kind == "extra_forbidden":
            problem = (
                "is not a field LaunchDarkly accepts. Allowed: audienceId (or audienceName / "
                "environmentKey), releaseGuardianConfiguration, notifyMemberIds, notifyTeamKeys"
                if len(detail["loc"]) == 2
                else "is not a field of releaseGuardianConfiguration. Allowed: "
                "monitoringWindowMilliseconds, rolloutWeight, rollbackOnRegression, randomizationUnit"
            )
        elif kind == "value_error":
            path = path.rstrip(".")
            problem = str(detail["ctx"]["error"]) if "ctx" in detail else detail["msg"]
        else:
            problem = f"{detail['msg'][:1].lower()}{detail['msg'][1:]}; got {_show(detail['input'])}"
        lines.append(f"{path}: {problem}")
    return "has problems:\n" + "\n".join(lines[:10])


def _parse_base_uri(value: str) -> str:
    preset = BASE_URI_PRESETS.get(value.lower())
    if preset:
        return preset
    hint = (
        "Use https://<host>, one of the presets commercial, federal or eu, or http:// only to a "
        "loopback address for local testing."
    )
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise _fail(f"is not a valid URL; got {text.quote(value)}. {hint}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise _fail(f"must be an https:// URL; got {text.quote(value)}. {hint}")
    if parts.username is not None or parts.query or parts.fragment:
        raise _fail(f"must not carry credentials, a query or a fragment; got {text.quote(value)}. {hint}")
    if parts.scheme == "http" and not is_loopback(host):
        raise _fail(
            f"must not be plain http:// to a remote host (the access token would travel "
            f"unencrypted); got {text.quote(value)}. {hint}"
        )
    return value.rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_duration(value: str, *, low: float, high: float) -> float:
    match = _DURATION.fullmatch(value.strip().lower())
    if not match:
        raise _fail(f"must be a duration such as 90 (seconds), 90s, 15m or 1h; got {text.quote(value)}.")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not low <= seconds <= high:
        raise _fail(f"must be from {_span_of(low, high)}; got {text.quote(value)}.")
    return seconds
