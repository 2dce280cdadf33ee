"""LaunchDarkly's environment-release shapes and the flag's, as this action reads them.

Built from LaunchDarkly's published specification (``launchdarkly-api`` 25.0.1): nothing public
records the live service answering these endpoints, and release pipelines taught that it can
differ from the spec. So everything is read leniently: unknown fields are ignored, and every
field the action does not decide on may be missing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

_LENIENT = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Status(StrEnum):
    """A release's or a phase's status, as the spec names them."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    COMPLETED = "completed"
    REVERTED = "reverted"


RUNNING = frozenset({Status.PENDING, Status.IN_PROGRESS, Status.WAITING})


class Step(BaseModel):
    model_config = _LENIENT

    index: int = Field(0, alias="stepIndex")
    allocation: int = 0  # thousandths of a percent: 100000 is 100 %
    duration_millis: int = Field(0, alias="durationMillis")
    started_at: int | None = Field(None, alias="startedAt")
    ended_at: int | None = Field(None, alias="endedAt")


class Phase(BaseModel):
    model_config = _LENIENT

    id: str = ""
    index: int = Field(0, alias="phaseIndex")
    rule_id: str | None = Field(None, alias="ruleId")
    description: str | None = None
    status: str = ""
    status_reason: str | None = Field(None, alias="statusReason")
    steps: list[Step] = Field(default_factory=list)
    current_step_index: int | None = Field(None, alias="currentStepIndex")
    started_at: int | None = Field(None, alias="startedAt")
    ended_at: int | None = Field(None, alias="endedAt")
    metric_statuses: dict[str, str] = Field(default_factory=dict, alias="metricStatuses")

    @property
    def current_step(self) -> Step | None:
        index = self.current_step_index
        return self.steps[index] if index is not None and 0 <= index < len(self.steps) else None


class Metric(BaseModel):
    model_config = _LENIENT

    key: str = Field("", alias="metricKey")
    auto_rollback: bool = Field(False, alias="autoRollback")


class EnvironmentRelease(BaseModel):
    model_config = _LENIENT

    id: str
    status: str
    status_reason: str | None = Field(None, alias="statusReason")
    kind: str = ""
    original_variation_id: str = Field("", alias="originalVariationId")
    original_variation_value: Any = Field(None, alias="originalVariationValue")
    target_variation_id: str = Field("", alias="targetVariationId")
    target_variation_value: Any = Field(None, alias="targetVariationValue")
    randomization_unit: str = Field("", alias="randomizationUnit")
    advancement_mode: str = Field("", alias="advancementMode")
    current_phase_index: int | None = Field(None, alias="currentPhaseIndex")
    phases: list[Phase] = Field(default_factory=list)
    metrics: list[Metric] = Field(default_factory=list)
    created_at: int | None = Field(None, alias="createdAt")
    started_at: int | None = Field(None, alias="startedAt")
    ended_at: int | None = Field(None, alias="endedAt")
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict[str, Any]:
        """The release exactly as LaunchDarkly sent it, unknown fields included."""
        return self._raw

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def current_phase(self) -> Phase | None:
        """The active phase; between phases, the last one that started."""
        index = self.current_phase_index
        if index is not None and 0 <= index < len(self.phases):
            return self.phases[index]
        started = [phase for phase in self.phases if phase.started_at is not None]
        return started[-1] if started else None

    @property
    def between_phases(self) -> bool:
        """Running with no active phase: LaunchDarkly's ``currentPhaseIndex`` is null."""
        return self.running and self.current_phase_index is None and self.started_at is not None


class Variation(BaseModel):
    model_config = _LENIENT

    id: str = Field("", alias="_id")
    value: Any = None
    name: str | None = None


class Rollout(BaseModel):
    model_config = _LENIENT

    variations: list[dict[str, Any]] = Field(default_factory=list)


class Clause(BaseModel):
    model_config = _LENIENT

    context_kind: str | None = Field(None, alias="contextKind")
    attribute: str = ""
    op: str = ""
    values: list[Any] = Field(default_factory=list)
    negate: bool = False


class Rule(BaseModel):
    model_config = _LENIENT

    id: str = Field("", alias="_id")
    description: str | None = None
    variation: int | None = None
    rollout: Rollout | None = None
    clauses: list[Clause] = Field(default_factory=list)
    disabled: bool = False


class Serving(BaseModel):
    """What a rule or the default rule serves: one variation by index, or a rollout."""

    model_config = _LENIENT

    variation: int | None = None
    rollout: Rollout | None = None


class FlagEnvironment(BaseModel):
    model_config = _LENIENT

    on: bool = False
    fallthrough: Serving | None = None
    rules: list[Rule] = Field(default_factory=list)


class Flag(BaseModel):
    model_config = _LENIENT

    key: str = ""
    name: str = ""
    variations: list[Variation] = Field(default_factory=list)
    environments: dict[str, FlagEnvironment] = Field(default_factory=dict)


def parse_release(payload: Any) -> EnvironmentRelease:
    """Validate a decoded JSON body as an environment release; raises pydantic.ValidationError."""
    release = EnvironmentRelease.model_validate(payload)
    release._raw = payload
    return release


class _Collection(BaseModel):
    model_config = _LENIENT

    items: list[dict[str, Any]] = Field(default_factory=list)


def parse_collection(payload: Any) -> list[EnvironmentRelease]:
    """The releases of one page of ``listEnvironmentReleases``, newest first."""
    return [parse_release(item) for item in _Collection.model_validate(payload).items]


def parse_flag(payload: Any) -> Flag:
    return Flag.model_validate(payload)
