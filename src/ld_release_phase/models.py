"""LaunchDarkly's release-pipeline shapes, as this action reads and writes them.

Responses are parsed leniently: unknown fields are ignored and fields the live API has been
seen to omit (even ones the spec marks required) get defaults. Status spellings differ between
the spec (``Started``) and the live service (``active``), so statuses are compared through
:func:`status_key` and :data:`CANONICAL_STATUS`, never as raw strings.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class PhaseStatus(StrEnum):
    """The statuses a phase can be set to, in the spelling sent to LaunchDarkly."""

    NOT_STARTED = "NotStarted"
    READY_TO_START = "ReadyToStart"
    STARTED = "Started"
    PAUSED = "Paused"
    COMPLETE = "Complete"
    ACTIVE = "active"


_SEPARATORS = re.compile(r"[\s_-]+")


def status_key(text: str) -> str:
    """Fold a status spelling: case, spaces, hyphens and underscores do not matter."""
    return _SEPARATORS.sub("", text).lower()


# Every spelling seen from the spec or the live service, folded, mapped to the spec's name.
# ``active`` and ``completed`` are the live service's words for ``Started`` and ``Complete``.
CANONICAL_STATUS: dict[str, PhaseStatus] = {
    status_key(status.value): status for status in PhaseStatus if status is not PhaseStatus.ACTIVE
}
CANONICAL_STATUS |= {"active": PhaseStatus.STARTED, "completed": PhaseStatus.COMPLETE}


def canonical_status(text: str | None) -> PhaseStatus | None:
    """The spec's status for any known spelling, or None for an unknown or missing one."""
    return CANONICAL_STATUS.get(status_key(text)) if text else None


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class EnvironmentSummary(_Lenient):
    key: str = ""
    name: str = ""
    color: str = ""


class ReleaseAudience(_Lenient):
    # Only what the action decides on or shows; the ``release`` output carries the rest verbatim.
    id: str = Field(alias="_id")
    name: str = ""
    environment: EnvironmentSummary | None = None
    status: str | None = None

    @property
    def environment_key(self) -> str:
        return self.environment.key if self.environment else ""


class ReleasePhase(_Lenient):
    id: str = Field(alias="_id")
    name: str = Field("", alias="_name")
    complete: bool = False
    started: bool | None = None
    status: str | None = None
    audiences: list[ReleaseAudience] = Field(default_factory=list, alias="_audiences")
    started_date: int | None = Field(None, alias="_startedDate")
    completion_date: int | None = Field(None, alias="_completionDate")

    @property
    def progress(self) -> PhaseStatus:
        """Where the phase stands, whichever spelling or flags the API used to say it."""
        if self.complete:
            return PhaseStatus.COMPLETE
        known = canonical_status(self.status)
        if known is not None:
            return known
        return PhaseStatus.STARTED if self.started else PhaseStatus.NOT_STARTED

    @property
    def is_started(self) -> bool:
        if self.started is not None:
            return self.started or self.complete
        return self.progress in (PhaseStatus.STARTED, PhaseStatus.COMPLETE)

    @property
    def is_complete(self) -> bool:
        return self.progress is PhaseStatus.COMPLETE

    @property
    def reported_status(self) -> str:
        """The status as LaunchDarkly spelled it; derived from the flags when it sent none."""
        return self.status or self.progress.value


class Release(_Lenient):
    name: str = ""
    release_pipeline_key: str = Field("", alias="releasePipelineKey")
    release_pipeline_description: str = Field("", alias="releasePipelineDescription")
    phases: list[ReleasePhase]
    version: int | None = Field(None, alias="_version")
    release_variation_id: str | None = Field(None, alias="_releaseVariationId")
    canceled_at: int | None = Field(None, alias="_canceledAt")
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict[str, Any]:
        """The release exactly as LaunchDarkly sent it, unknown fields included."""
        return self._raw

    def phase_by_id(self, phase_id: str) -> ReleasePhase | None:
        return next((phase for phase in self.phases if phase.id == phase_id), None)

    def phase_after(self, phase_id: str) -> ReleasePhase | None:
        """The phase that follows ``phase_id`` in the pipeline, or None for the last one."""
        ids = [phase.id for phase in self.phases]
        index = ids.index(phase_id) if phase_id in ids else len(ids)
        return self.phases[index + 1] if index + 1 < len(ids) else None


class ApiErrorBody(_Lenient):
    """LaunchDarkly's error body: ``{"code", "message", "id"}``; every field may be missing."""

    # Only failing runs read one: build its validator then, not at import.
    model_config = ConfigDict(defer_build=True)

    code: str = ""
    message: str = ""
    id: str = ""


def parse_release(payload: Any) -> Release:
    """Validate a decoded JSON body as a Release; raises pydantic.ValidationError."""
    release = Release.model_validate(payload)
    release._raw = payload
    return release
