"""The environment-release action's inputs: one frozen, typed model, each input declared once.

Every input arrives as a string. Structured ones (``steps``, ``phases``, ``metrics``) are JSON or
YAML read into frozen models that refuse unknown fields by name: LaunchDarkly's API drops fields
it does not know without a word, so a typo would otherwise be lost. Everything that can be
checked without LaunchDarkly is checked here, before any call; the variations and the rule are
resolved against the flag once it is read (:mod:`.plan`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ld_release_phase import failures as common
from ld_release_phase.plumbing.fields import (
    POLL_INTERVAL_SPAN,
    REQUEST_TIMEOUT_SPAN,
    WAIT_TIMEOUT_SPAN,
    AccessToken,
    BaseUri,
    Key,
    OneLine,
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
    parse_duration,
    problem,
    span,
    validate_inputs,
)
from ld_release_phase.plumbing.text import Redactor, did_you_mean
from ld_release_phase.plumbing.words import TOKEN_INPUT

from . import failures

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_ENTRIES = 100
MAX_COMMENT_LENGTH = 1000
FULL = 100_000  # LaunchDarkly's allocations are thousandths of a percent
GUARDED_CEILING = 50_000  # a guarded release keeps a control group
_ALLOCATION = re.compile(r"(\d+(?:\.\d{1,3})?)\s*%?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SEPARATORS = re.compile(r"[\s,]+")


class Operation(StrEnum):
    START = "start"
    STOP = "stop"
    STATUS = "status"


class WaitFor(StrEnum):
    NONE = "none"
    COMPLETED = "completed"


class Resolution(StrEnum):
    """How a stop resolves the release's phases (LaunchDarkly's four)."""

    ROLL_FORWARD_ALL = "roll_forward_all_phases"
    ROLL_FORWARD_CURRENT = "roll_forward_current_phase_and_remove_pending_phases"
    ROLL_BACK_ALL = "roll_back_all_phases_and_remove_pending_phases"
    ROLL_BACK_CURRENT = "roll_back_current_phase_and_remove_pending_phases"

    @property
    def current_phase_only(self) -> bool:
        return "current_phase" in self.value


class AdvancementMode(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class Cleanup(StrEnum):
    LEAVE_RULES = "leave_rules_in_place"
    REMOVE_RULES = "remove_rules_and_update_default_rule"


class HealthCheck(StrEnum):
    FLAG_EVALUATIONS_ANY = "flag_evaluations_any"
    FLAG_EVALUATIONS_WITH_CONTEXT = "flag_evaluations_with_context"
    METRIC_EVENTS_ANY = "metric_events_any"
    METRIC_EVENTS_WITH_CONTEXT = "metric_events_with_context"


_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class StepInput(BaseModel):
    """One entry of ``steps``: ``{allocation: 10%, duration: 1h}``."""

    model_config = _STRICT | ConfigDict(title="a steps entry", strict=False)

    allocation: StrictStr | int | float
    duration: StrictStr | int


class Step:
    """A step as LaunchDarkly takes it: thousandths of a percent, milliseconds."""

    __slots__ = ("allocation", "duration_millis")

    def __init__(self, allocation: int, duration_millis: int):
        self.allocation = allocation
        self.duration_millis = duration_millis

    def body(self) -> dict[str, int]:
        return {"allocation": self.allocation, "durationMillis": self.duration_millis}


class ClauseInput(BaseModel):
    """A clause of a new rule, exactly as LaunchDarkly's ``EnvironmentReleaseClause``."""

    model_config = _STRICT | ConfigDict(title="a clause")

    contextKind: StrictStr | None = None
    attribute: StrictStr
    op: StrictStr
    values: list[StrictStr | int | float | StrictBool]
    negate: StrictBool | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class PhaseInput(BaseModel):
    """One entry of ``phases``: a new rule (its clauses and description) and, optionally, its own steps."""

    model_config = _STRICT | ConfigDict(title="a phases entry")

    description: StrictStr | None = None
    clauses: list[ClauseInput] = Field(min_length=1)
    steps: list[Any] | None = None


class MetricInput(BaseModel):
    """One entry of ``metrics``: a metric key, or ``{metricKey, autoRollback}``."""

    model_config = _STRICT | ConfigDict(title="a metrics entry")

    metricKey: StrictStr
    autoRollback: StrictBool = False

    def body(self) -> dict[str, Any]:
        return {"metricKey": self.metricKey, "autoRollback": self.autoRollback}


class Phase:
    """A new-rule phase, its steps resolved."""

    __slots__ = ("clauses", "description", "steps")

    def __init__(self, clauses: tuple[ClauseInput, ...], description: str | None, steps: tuple[Step, ...]):
        self.clauses = clauses
        self.description = description
        self.steps = steps


def _adapter(kind: Any) -> TypeAdapter[Any]:
    return _adapters(kind)


@functools.cache
def _adapters(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _input(default: str, *, description: str, alias: str | None = None) -> Any:
    """An input's field: its default is the text the runner passes when a step leaves it out."""
    return Field(default, alias=alias, description=description)


def _document(value: str, what: str, redactor: Redactor) -> list[Any] | None:
    """A JSON or YAML list, or None when the input is empty."""
    if not value:
        return None
    if len(value.encode()) > MAX_DOCUMENT_BYTES:
        raise problem(failures.document_too_large(MAX_DOCUMENT_BYTES // 1024))
    document = load_structured(value, what, redactor)
    if not isinstance(document, list):
        raise problem(failures.not_a_list(what, json_type(document)))
    if len(document) > MAX_ENTRIES:
        raise problem(failures.too_many_entries(len(document), MAX_ENTRIES))
    return document


def parse_steps(entries: list[Any], where: str, redactor: Redactor) -> tuple[Step, ...]:
    """``steps`` entries as LaunchDarkly's steps; each allocation above the one before."""
    try:
        given = _adapter(list[StepInput]).validate_python(entries)
    except ValidationError as error:
        raise problem(describe_entry_errors(error, where, {2: StepInput}, redactor)) from None
    steps = tuple(
        Step(
            _allocation(entry.allocation, f"{where}[{index}]", redactor),
            _millis(entry.duration, where, index, redactor),
        )
        for index, entry in enumerate(given)
    )
    for index in range(1, len(steps)):
        if steps[index].allocation <= steps[index - 1].allocation:
            raise problem(failures.allocations_not_rising(where, index, percent(steps[index - 1].allocation)))
    return steps


def _allocation(value: object, where: str, redactor: Redactor) -> int:
    text = str(value).strip()
    match = _ALLOCATION.fullmatch(text)
    if isinstance(value, bool) or not match:
        raise problem(failures.not_an_allocation(where, redactor.quote(text)))
    thousandths = int(Decimal(match.group(1)) * 1000)
    if not 1 <= thousandths <= FULL:
        raise problem(failures.allocation_out_of_range(where, redactor.quote(text)))
    return thousandths


def _millis(value: object, where: str, index: int, redactor: Redactor) -> int:
    try:
        seconds = parse_duration(str(value), low=0.001, high=366 * 86400.0, redactor=redactor)
    except Exception as error:  # the duration's own words, placed at its entry
        raise problem(failures.entry_problem(f"{where}[{index}].duration", str(error))) from None
    return max(1, round(seconds * 1000))


def percent(allocation: int) -> str:
    """Thousandths of a percent as people write it: 10000 -> '10', 12500 -> '12.5'."""
    text = f"{Decimal(allocation) / 1000:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _choice(kind: type[StrEnum], value: str, info: ValidationInfo) -> Any:
    folded = value.strip().lower().replace("-", "_")
    try:
        return kind(folded)
    except ValueError:
        choices = [choice.value for choice in kind]
        guess = did_you_mean(folded, choices)
        raise problem(common.not_one_of(choices, redactor_of(info).quote(value), guess)) from None


def _choice_field(kind: type[StrEnum]) -> Any:
    return Annotated[kind, BeforeValidator(lambda value, info: _choice(kind, value, info))]


def _optional_choice_field(kind: type[StrEnum]) -> Any:
    return Annotated[
        kind | None, BeforeValidator(lambda value, info: _choice(kind, value, info) if value else None)
    ]


class ReleaseInputs(BaseModel):
    """Everything an environment-release step needs, validated: each input declared once.

    An input's name is its field's alias, its default the text the runner passes when a step
    leaves it out (``environment-release/action.yml``'s), and its description what that file and
    ``--help`` say of it; tests hold both to this.
    """

    # Steps and phases are plain classes, read by the fields' own validators.
    model_config = ConfigDict(
        frozen=True, populate_by_name=True, validate_default=True, arbitrary_types_allowed=True
    )

    access_token: AccessToken = _input(
        "",
        alias=TOKEN_INPUT,
        description="LaunchDarkly personal or service access token (not an SDK or mobile key), from a "
        "secret. Its role must allow `updateRules` on the flag in that environment (and "
        "`updateFallthrough` when `cleanup` updates the default rule, or the release starts from a "
        "plan). Printable ASCII, at most 512 characters.",
    )
    project: Key = _input("", description="Project key.")
    flag: Key = _input("", description="Flag key.")
    environment: Key = _input("", description="Environment key: the release runs in this environment only.")
    operation: _choice_field(Operation) = _input(  # type: ignore[valid-type]
        "start",
        description="`start` a release, `stop` the running one, or read its `status` (writes nothing).",
    )
    target_variation: OneLine = _input(
        "",
        alias="target-variation",
        description="With start: the variation to release, by its id, its name or its value (as the "
        "flag shows it, e.g. `true`).",
    )
    original_variation: OneLine = _input(
        "",
        alias="original-variation",
        description="With start: the variation the release moves traffic from, by id, name or value. "
        "Empty: what the release's rule (or the flag's default rule) serves now.",
    )
    release_plan: OptionalKey = _input(
        "",
        alias="release-plan",
        description="With start: the key of an environment release plan, which then supplies the "
        "phases, steps, metrics, randomization unit, advancement and cleanup. Instead of `rule` or `phases`.",
    )
    rule: OneLine = _input(
        "",
        alias="rule",
        description="With start: an existing, enabled rule of the flag, by its id or its description: a "
        "single-phase release on it, with `steps`. Instead of `phases` or `release-plan`.",
    )
    phases: tuple[Phase, ...] | None = _input(
        "",
        description="With start: a JSON or YAML list of new-rule phases, each `{description, clauses, "
        "steps}` (steps optional: the `steps` input). Every phase's clauses must include "
        "`{contextKind: <unit>, attribute: kind, op: in, values: [<unit>]}` for the randomization unit.",
    )
    steps: tuple[Step, ...] | None = _input(
        "",
        description="With start: a JSON or YAML list of steps, each `{allocation: 10%, duration: 1h}`, "
        "allocations rising to at most 100% (50% for a guarded release).",
    )
    randomization_unit: OptionalKey = _input(
        "",
        alias="randomization-unit",
        description="With start: the context kind the release randomizes on. Empty: `user` (or the plan's).",
    )
    advancement_mode: _optional_choice_field(AdvancementMode) = _input(  # type: ignore[valid-type]
        "",
        alias="advancement-mode",
        description="With start and more than one phase: `automatic` or `manual`. Empty: `automatic`.",
    )
    metrics: tuple[MetricInput, ...] = _input(
        "",
        description="With start: metric keys (separated by spaces or commas, or a JSON or YAML list of "
        "keys or `{metricKey, autoRollback}`): a guarded release. Empty: a progressive release.",
    )
    bypass_health_checks: tuple[HealthCheck, ...] = _input(
        "",
        alias="bypass-health-checks",
        description="With start: health check kinds that do not block the start (space, comma or YAML "
        "list): flag_evaluations_any, flag_evaluations_with_context, metric_events_any, "
        "metric_events_with_context.",
    )
    cleanup: _optional_choice_field(Cleanup) = _input(  # type: ignore[valid-type]
        "",
        description="With start: `leave_rules_in_place` (LaunchDarkly's default) or "
        "`remove_rules_and_update_default_rule` once the release completes.",
    )
    comment: str = _input("", description="A comment for the flag's audit log (start and stop).")
    resolution: _optional_choice_field(Resolution) = _input(  # type: ignore[valid-type]
        "",
        description="With stop (required): roll_forward_all_phases, "
        "roll_forward_current_phase_and_remove_pending_phases, "
        "roll_back_all_phases_and_remove_pending_phases or "
        "roll_back_current_phase_and_remove_pending_phases.",
    )
    release_id: str = _input(
        "",
        alias="release-id",
        description="With stop or status: the release's id. Empty: the environment's running release "
        "(for status, else its newest).",
    )
    base_uri: BaseUri = _input(
        BASE_URI_PRESETS["commercial"],
        alias="base-uri",
        description="LaunchDarkly's address: an https:// URL, or a preset: commercial, federal, eu. "
        "http:// only to a loopback address, for local testing.",
    )
    max_retries: Retries = _input(
        "5",
        alias="max-retries",
        description="Retries for rate limits (429), 5xx and network errors, 0 to 10. A start is sent "
        "once: after an uncertain failure the releases are read instead.",
    )
    request_timeout: duration(*REQUEST_TIMEOUT_SPAN) = _input(  # type: ignore[valid-type]
        "30s",
        alias="request-timeout",
        description="How long one HTTP attempt may take in all, e.g. 30s, 1m; "
        f"{span(*REQUEST_TIMEOUT_SPAN)}.",
    )
    wait_for: _choice_field(WaitFor) = _input(  # type: ignore[valid-type]
        "none",
        alias="wait-for",
        description="With start or status: `completed` to wait until the release completes (a revert "
        "or a release waiting for a person fails the step); `none` to return at once.",
    )
    wait_timeout: duration(*WAIT_TIMEOUT_SPAN) = _input(  # type: ignore[valid-type]
        "1h",
        alias="wait-timeout",
        description=f"How long to wait before failing, e.g. 30m, 2h; {span(*WAIT_TIMEOUT_SPAN)}.",
    )
    poll_interval: duration(*POLL_INTERVAL_SPAN) = _input(  # type: ignore[valid-type]
        "30s",
        alias="poll-interval",
        description="How often to read the release while waiting, e.g. 30s, 1m; "
        f"{span(*POLL_INTERVAL_SPAN)}.",
    )
    dry_run: Switch = _input(
        "false",
        alias="dry-run",
        description="true to read and validate everything and show the request that would be sent, "
        "without sending it.",
    )

    @field_validator("steps", mode="before")
    @classmethod
    def _steps(cls, value: str, info: ValidationInfo) -> tuple[Step, ...] | None:
        entries = _document(value, "a list of steps", redactor_of(info))
        return None if entries is None else parse_steps(entries, "steps", redactor_of(info))

    @field_validator("phases", mode="before")
    @classmethod
    def _phases(cls, value: str, info: ValidationInfo) -> tuple[Phase, ...] | None:
        entries = _document(value, "a list of phases", redactor_of(info))
        if entries is None:
            return None
        redactor = redactor_of(info)
        try:
            given = _adapter(list[PhaseInput]).validate_python(entries)
        except ValidationError as error:
            models: dict[int, type[BaseModel]] = {2: PhaseInput, 4: ClauseInput}
            raise problem(describe_entry_errors(error, "phases", models, redactor)) from None
        return tuple(
            Phase(
                tuple(entry.clauses),
                entry.description,
                () if entry.steps is None else parse_steps(entry.steps, f"phases[{index}].steps", redactor),
            )
            for index, entry in enumerate(given)
        )

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics(cls, value: str, info: ValidationInfo) -> tuple[MetricInput, ...]:
        if value and not value.lstrip().startswith(("[", "-", "{")):
            value = "[" + ", ".join(json.dumps(key) for key in _SEPARATORS.split(value.strip()) if key) + "]"
        entries = _document(value, "a list of metrics", redactor_of(info))
        if entries is None:
            return ()
        entries = [{"metricKey": entry} if isinstance(entry, str) else entry for entry in entries]
        try:
            return tuple(_adapter(list[MetricInput]).validate_python(entries))
        except ValidationError as error:
            raise problem(
                describe_entry_errors(error, "metrics", {2: MetricInput}, redactor_of(info))
            ) from None

    @field_validator("bypass_health_checks", mode="before")
    @classmethod
    def _health_checks(cls, value: str, info: ValidationInfo) -> tuple[HealthCheck, ...]:
        if value.lstrip().startswith("["):
            listed = _document(value, "a list of health check kinds", redactor_of(info)) or []
        else:
            listed = [item for item in _SEPARATORS.split(value.replace("- ", " ")) if item]
        return tuple(_choice(HealthCheck, str(item), info) for item in listed)

    @field_validator("comment", mode="before")
    @classmethod
    def _comment(cls, value: str) -> str:
        if len(value) > MAX_COMMENT_LENGTH:
            raise problem(failures.comment_too_long(MAX_COMMENT_LENGTH))
        return value

    @field_validator("release_id", mode="before")
    @classmethod
    def _release_id(cls, value: str, info: ValidationInfo) -> str:
        if value and not _UUID.fullmatch(value):
            raise problem(failures.not_a_release_id(redactor_of(info).quote(value)))
        return value.lower()

    @model_validator(mode="after")
    def _fits_the_operation(self) -> ReleaseInputs:
        for name, operations in _misplaced(self):
            raise problem(failures.only_with(name, operations), about=name)
        if self.operation is Operation.STOP and self.resolution is None:
            raise problem(failures.RESOLUTION_REQUIRED, about="resolution")
        if self.operation is Operation.START:
            _check_start(self)
        return self

    @property
    def guarded(self) -> bool:
        return bool(self.metrics)

    @property
    def unit(self) -> str:
        return self.randomization_unit or "user"


# Inputs that only some operations use, and which.
_USED_ONLY_BY: dict[str, tuple[Operation, ...]] = {
    **dict.fromkeys(
        (
            "target-variation",
            "original-variation",
            "release-plan",
            "rule",
            "phases",
            "steps",
            "randomization-unit",
            "advancement-mode",
            "metrics",
            "bypass-health-checks",
            "cleanup",
        ),
        (Operation.START,),
    ),
    "resolution": (Operation.STOP,),
    "wait-for": (Operation.START, Operation.STATUS),
}


def _misplaced(inputs: ReleaseInputs) -> list[tuple[str, tuple[Operation, ...]]]:
    """Each input given that the operation does not use, with the operations that use it."""
    given = {
        field.alias or name
        for name, field in ReleaseInputs.model_fields.items()
        if getattr(inputs, name) not in (None, "", ())
    }
    if inputs.wait_for is WaitFor.NONE:
        given.discard("wait-for")
    return [
        (name, used_by)
        for name, used_by in sorted(_USED_ONLY_BY.items())
        if name in given and inputs.operation not in used_by
    ]


def _check_start(inputs: ReleaseInputs) -> None:
    if not inputs.target_variation:
        raise problem(failures.TARGET_REQUIRED, about="target-variation")
    ways = [
        name
        for name, given in (
            ("release-plan", inputs.release_plan),
            ("rule", inputs.rule),
            ("phases", inputs.phases),
        )
        if given
    ]
    if len(ways) != 1:
        raise problem(failures.one_way_to_start(ways), about=ways[-1] if ways else "rule")
    if inputs.release_plan:
        supplied = [
            name
            for name, given in (
                ("steps", inputs.steps),
                ("randomization-unit", inputs.randomization_unit),
                ("advancement-mode", inputs.advancement_mode),
                ("metrics", inputs.metrics),
                ("cleanup", inputs.cleanup),
            )
            if given
        ]
        if supplied:
            raise problem(failures.plan_supplies(supplied), about=supplied[0])
        return
    phases = inputs.phases or ()
    if inputs.rule and not inputs.steps:
        raise problem(failures.STEPS_REQUIRED_FOR_RULE, about="steps")
    for index, phase in enumerate(phases):
        if not phase.steps and not inputs.steps:
            raise problem(failures.steps_required_for_phase(index), about="steps")
        _check_kind_clause(phase, index, inputs.unit)
    ceiling = GUARDED_CEILING if inputs.guarded else FULL
    for where, steps in _all_steps(inputs):
        highest = max(step.allocation for step in steps)
        if highest > ceiling:
            raise problem(
                failures.allocation_above_ceiling(where, percent(highest), percent(ceiling), inputs.guarded),
                about="steps",
            )


def _all_steps(inputs: ReleaseInputs) -> list[tuple[str, tuple[Step, ...]]]:
    found = [("steps", inputs.steps)] if inputs.steps else []
    found += [
        (f"phases[{index}].steps", phase.steps)
        for index, phase in enumerate(inputs.phases or ())
        if phase.steps
    ]
    return found


def kind_clause(unit: str) -> dict[str, Any]:
    """The clause LaunchDarkly requires in every phase's rule, for the randomization unit."""
    return {"contextKind": unit, "attribute": "kind", "op": "in", "values": [unit]}


def has_kind_clause(clauses: list[dict[str, Any]], unit: str) -> bool:
    return any(
        clause.get("contextKind") == unit
        and clause.get("attribute") == "kind"
        and clause.get("op") == "in"
        and clause.get("values") == [unit]
        and not clause.get("negate")
        for clause in clauses
    )


def _check_kind_clause(phase: Phase, index: int, unit: str) -> None:
    if not has_kind_clause([clause.body() for clause in phase.clauses], unit):
        raise problem(failures.kind_clause_missing(f"phases[{index}]", unit), about="phases")


INPUT_NAMES: tuple[str, ...] = tuple(
    field.alias or name for name, field in ReleaseInputs.model_fields.items()
)
REQUIRED_INPUTS = (TOKEN_INPUT, "project", "flag", "environment")


def parse_inputs(raw: Mapping[str, str], *, redactor: Redactor | None = None) -> ReleaseInputs:
    """Validate raw input strings, keyed by input name; raise one failure naming every problem."""
    return validate_inputs(ReleaseInputs, INPUT_NAMES, raw, redactor or Redactor())
