"""The action's inputs: one frozen, typed model, the one place each input is declared.

Every input arrives as a string (from ``INPUT_*`` variables or command flags), and so does each
default. Each field has a ``before`` validator that parses that string (with :mod:`.parsing`)
and, when it cannot, raises a message written for a person: what was wrong and what would be
right. :func:`parse_inputs` gathers those messages into one failure naming each input.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ld_release_phase import failures as common
from ld_release_phase.plumbing.fields import (
    CONTROL_CHARS,
    MAX_KEY_LENGTH,
    MAX_RETRIES_LIMIT,
    MAX_TOKEN_LENGTH,
    POLL_INTERVAL_SPAN,
    REQUEST_TIMEOUT_SPAN,
    WAIT_TIMEOUT_SPAN,
    AccessToken,
    BaseUri,
    Key,
    OptionalKey,
    Retries,
    Switch,
    duration,
    redactor_of,
)
from ld_release_phase.plumbing.parsing import (
    BASE_URI_PRESETS,
    describe_entry_errors,
    json_type,
    load_structured,
    problem,
    span,
    validate_inputs,
)
from ld_release_phase.plumbing.text import Redactor, did_you_mean
from ld_release_phase.plumbing.words import TOKEN_INPUT

from . import failures
from .models import PhaseState, status_key

DEFAULT_BASE_URI = BASE_URI_PRESETS["commercial"]

# LaunchDarkly project and flag keys: letters, digits, '.', '_' and '-', starting with a letter
# or digit. Anything else (a '/', '?', '#', a space, a lone '..') could change which URL is
# called, so it is refused here even though path parameters are also percent-encoded.
MAX_PHASE_LENGTH = 512
# Sizes past which an input is absurd, refused before any call.
MAX_AUDIENCES_BYTES = 64 * 1024
MAX_AUDIENCES = 100
# The one status a phase can be set to by hand, and the words that ask for it (folded).
START_WORDS = ("active", "started", "start")


class WaitFor(StrEnum):
    NONE = "none"
    STARTED = "started"
    COMPLETE = "complete"


class GuardianConfigInput(BaseModel):
    """``releaseGuardianConfiguration`` exactly as LaunchDarkly's ``ReleaserAudienceConfigInput``."""

    # Built on first use: only runs passing audiences need these validators.
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, defer_build=True, title="releaseGuardianConfiguration"
    )

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

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, defer_build=True, title="an audiences entry"
    )

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
            raise ValueError(failures.audience_entry_names(given))
        return self

    def configuration(self) -> dict[str, Any]:
        """The fields to send besides ``audienceId``, exactly as the user gave them."""
        return self.model_dump(exclude_unset=True, exclude={"audienceId", "audienceName", "environmentKey"})


@functools.cache
def _audiences_adapter() -> TypeAdapter[list[AudienceInput]]:
    return TypeAdapter(list[AudienceInput])


def _input(default: str, *, description: str, alias: str | None = None) -> Any:
    """An input's field. Its default is the text the runner passes when a step leaves the input
    out (action.yml's default), parsed by the field's validator like any given text; typed Any
    because the field holds the parsed value, not that text."""
    return Field(default, alias=alias, description=description)


class ActionInputs(BaseModel):
    """Everything a run needs, validated: the one place each input is declared.

    An input's name is its field's alias, its default is the text the runner passes when a step
    leaves it out (the same default as ``action.yml``'s, validated like any given value), and
    its description is what ``action.yml`` and ``--help`` say of it; tests hold both to this.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, validate_default=True)

    access_token: AccessToken = _input(
        "",
        alias="access-token",
        description="LaunchDarkly personal or service access token (not an SDK or mobile key), from a "
        "secret. Its role must allow updating release pipelines. Printable ASCII, at most "
        f"{MAX_TOKEN_LENGTH} characters.",
    )
    project: Key = _input(
        "",
        description="Project key: letters, digits, `.`, `_` and `-`, starting with a letter or digit, "
        f"at most {MAX_KEY_LENGTH} characters.",
    )
    flag: Key = _input("", description="Flag key, written like a project key.")
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
    release_pipeline: OptionalKey = _input(
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
    base_uri: BaseUri = _input(
        DEFAULT_BASE_URI,
        alias="base-uri",
        description="LaunchDarkly's address: an https:// URL, or a preset: commercial, federal, eu. "
        "http:// only to a loopback address, for local testing.",
    )
    max_retries: Retries = _input(
        "5",
        alias="max-retries",
        description=f"Retries for rate limits (429), conflicts (409), 5xx and network errors, 0 to "
        f"{MAX_RETRIES_LIMIT}.",
    )
    request_timeout: duration(*REQUEST_TIMEOUT_SPAN) = _input(  # type: ignore[valid-type]
        "30s",
        alias="request-timeout",
        description="How long one HTTP attempt may take in all (connecting, headers and the whole "
        f"answer), e.g. 30, 30s, 1m; {span(*REQUEST_TIMEOUT_SPAN)}.",
    )
    wait_for: WaitFor = _input(
        "none",
        alias="wait-for",
        description="After the update, wait until the phase is `started` or `complete`; `none` to "
        "return at once. LaunchDarkly completes a phase when the next phase starts (or a guarded "
        "rollout ends), so waiting for `complete` needs another step or person to start the next phase.",
    )
    wait_timeout: duration(*WAIT_TIMEOUT_SPAN) = _input(  # type: ignore[valid-type]
        "15m",
        alias="wait-timeout",
        description=f"How long to wait before failing, e.g. 900, 15m, 1h; {span(*WAIT_TIMEOUT_SPAN)}. The "
        "release is read once more at the deadline, and no retry waits past it.",
    )
    poll_interval: duration(*POLL_INTERVAL_SPAN) = _input(  # type: ignore[valid-type]
        "15s",
        alias="poll-interval",
        description="How often to read the release while waiting, e.g. 15s, 1m; "
        f"{span(*POLL_INTERVAL_SPAN)}.",
    )
    dry_run: Switch = _input(
        "false",
        alias="dry-run",
        description="true to read the release, validate everything and show the requests that would be "
        "sent, without sending them.",
    )

    @field_validator("release_variation", mode="before")
    @classmethod
    def _variation(cls, value: str) -> str:
        if CONTROL_CHARS.search(value) or len(value) > MAX_KEY_LENGTH:
            raise problem(failures.variation_not_one_line(MAX_KEY_LENGTH))
        return value

    @model_validator(mode="after")
    def _variation_needs_pipeline(self) -> ActionInputs:
        if self.release_variation and not self.release_pipeline:
            raise problem(failures.VARIATION_NEEDS_PIPELINE, about="release-variation")
        return self

    @field_validator("phase", mode="before")
    @classmethod
    def _phase(cls, value: str) -> str:
        if not value:
            raise problem(failures.PHASE_REQUIRED)
        if CONTROL_CHARS.search(value) or len(value) > MAX_PHASE_LENGTH:
            raise problem(failures.phase_not_one_line(MAX_PHASE_LENGTH))
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: str, info: ValidationInfo) -> PhaseState:
        if status_key(value) in START_WORDS:
            return PhaseState.STARTED
        shown = redactor_of(info).quote(value)
        if PhaseState.read(value) is not None:
            raise problem(failures.status_cannot_be_set(shown))
        raise problem(failures.status_unknown(shown, did_you_mean(value.strip(), list(START_WORDS))))

    @field_validator("audiences", mode="before")
    @classmethod
    def _audiences(cls, value: str, info: ValidationInfo) -> tuple[AudienceInput, ...] | None:
        if not value:
            return None
        if len(value.encode()) > MAX_AUDIENCES_BYTES:
            raise problem(failures.audiences_too_large(MAX_AUDIENCES_BYTES // 1024))
        document = load_structured(value, "a list of audiences", redactor_of(info))
        if not isinstance(document, list):
            raise problem(failures.audiences_not_a_list(json_type(document)))
        if len(document) > MAX_AUDIENCES:
            raise problem(failures.audiences_too_many(len(document), MAX_AUDIENCES))
        try:
            return tuple(_audiences_adapter().validate_python(document))
        except ValidationError as error:
            # Fields two deep belong to an entry, four deep to its releaseGuardianConfiguration.
            models: dict[int, type[BaseModel]] = {2: AudienceInput, 4: GuardianConfigInput}
            raise problem(describe_entry_errors(error, "audiences", models, redactor_of(info))) from None

    @field_validator("wait_for", mode="before")
    @classmethod
    def _wait_for(cls, value: str, info: ValidationInfo) -> WaitFor:
        folded = value.strip().lower()
        try:
            return WaitFor(folded)
        except ValueError:
            choices = [goal.value for goal in WaitFor]
            guess = did_you_mean(folded, choices)
            raise problem(common.not_one_of(choices, redactor_of(info).quote(value), guess)) from None


INPUT_NAMES: tuple[str, ...] = tuple(field.alias or name for name, field in ActionInputs.model_fields.items())
REQUIRED_INPUTS = (TOKEN_INPUT, "project", "flag", "phase")


def parse_inputs(raw: Mapping[str, str], *, redactor: Redactor | None = None) -> ActionInputs:
    """Validate raw input strings, keyed by input name; raise one failure naming every problem.

    Values echoed in problems go through ``redactor``.
    """
    return validate_inputs(ActionInputs, INPUT_NAMES, raw, redactor or Redactor())
