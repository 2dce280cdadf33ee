"""LaunchDarkly's release-pipeline shapes, as this action reads and writes them.

Responses are parsed leniently: unknown fields are ignored and fields the live API has been
seen to omit (even ones the spec marks required) get defaults.

A phase's *state* and the *spelling* of that state are two things. The spec spells states
PascalCase (``Started``); the live service answers kebab-case (``active``, ``completed``) and
accepts only ``active`` in a write. :class:`PhaseState` is the state; :class:`Dialect` picks a
spelling; a phase keeps the spelling it was read in for the outputs.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class Dialect(Enum):
    """How a service spells phase states: the spec's PascalCase or the live kebab-case."""

    SPEC = "spec"
    LIVE = "live"

    @property
    def other(self) -> Dialect:
        return Dialect.LIVE if self is Dialect.SPEC else Dialect.SPEC


class PhaseState(Enum):
    """Where a phase stands, whichever way it is spelt. Values: (spec spelling, live spelling)."""

    NOT_STARTED = ("NotStarted", "not-started")
    READY_TO_START = ("ReadyToStart", "ready-to-start")
    STARTED = ("Started", "active")
    PAUSED = ("Paused", "paused")
    COMPLETE = ("Complete", "completed")

    def spelling(self, dialect: Dialect) -> str:
        spec, live = self.value
        return spec if dialect is Dialect.SPEC else live

    @classmethod
    def read(cls, text: str | None) -> PhaseState | None:
        """The state any known spelling names (case, spaces, ``-`` and ``_`` ignored), else None."""
        return _STATE_BY_KEY.get(status_key(text)) if text else None


_SEPARATORS = re.compile(r"[\s_-]+")


def status_key(text: str) -> str:
    """Fold a status spelling: case, spaces, hyphens and underscores do not matter."""
    return _SEPARATORS.sub("", text).lower()


_STATE_BY_KEY: dict[str, PhaseState] = {
    status_key(spelling): state for state in PhaseState for spelling in state.value
}
_SPELLINGS = {dialect: {state.spelling(dialect) for state in PhaseState} for dialect in Dialect}


def dialect_of(text: str) -> Dialect | None:
    """The dialect a status string is written in, if it is one of the exact spellings."""
    return next((dialect for dialect in Dialect if text in _SPELLINGS[dialect]), None)


# Lenient: unknown fields ignored. Set on each model rather than inherited from a shared base
# class: each pydantic class is built when the module is imported, which every run pays for.
_LENIENT = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class ReleaseAudience(BaseModel):
    model_config = _LENIENT

    # Only what the action decides on or shows; the ``release`` output carries the rest verbatim.
    id: str = Field(alias="_id")
    name: str = ""
    environment: dict[str, Any] | None = None
    # Shown as LaunchDarkly sends it, never decided on: the live service was recorded leaving
    # an audience ``ready-to-start`` after its phase had started, so it says nothing sure about
    # the phase, and what it says while an approval is pending is not recorded anywhere.
    status: str | None = None

    @property
    def environment_key(self) -> str:
        key = (self.environment or {}).get("key")
        return key if isinstance(key, str) else ""


class ReleasePhase(BaseModel):
    model_config = _LENIENT

    id: str = Field(alias="_id")
    name: str = Field("", alias="_name")
    complete: bool = False
    started: bool | None = None
    status: str | None = None
    # None when LaunchDarkly sent no list at all (the live service omits it on phases that
    # have not been reached), which is not the same as a phase with no audiences.
    audiences: list[ReleaseAudience] | None = Field(None, alias="_audiences")

    @property
    def state(self) -> PhaseState:
        """Where the phase stands: ``complete`` wins, then the status, then the ``started`` flag.

        The status comes before ``started``: a paused phase keeps ``started: true`` (it did
        start once), and must not read as running.
        """
        if self.complete:
            return PhaseState.COMPLETE
        known = PhaseState.read(self.status)
        if known is not None:
            return known
        return PhaseState.STARTED if self.started else PhaseState.NOT_STARTED

    @property
    def is_started(self) -> bool:
        """Running or done, and not paused: what a deploy gate may rely on."""
        return self.state in (PhaseState.STARTED, PhaseState.COMPLETE)

    @property
    def is_complete(self) -> bool:
        return self.state is PhaseState.COMPLETE

    @property
    def reported_status(self) -> str:
        """The status as LaunchDarkly spelt it; when it sent none, the live spelling of the state.

        A release with no statuses at all comes from the live service (see ``Release.dialect``).
        """
        return self.status or self.state.spelling(Dialect.LIVE)


class Release(BaseModel):
    model_config = _LENIENT

    name: str = ""
    release_pipeline_key: str = Field("", alias="releasePipelineKey")
    phases: list[ReleasePhase]
    version: int | None = Field(None, alias="_version")
    canceled_at: int | None = Field(None, alias="_canceledAt")
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict[str, Any]:
        """The release exactly as LaunchDarkly sent it, unknown fields included."""
        return self._raw

    @property
    def dialect(self) -> Dialect:
        """The spelling this release's service speaks.

        The spec's PascalCase only when the release itself is written in it; the live
        kebab-case otherwise, including when no phase carries a status at all.
        """
        seen = {dialect_of(phase.status) for phase in self.phases if phase.status}
        return Dialect.SPEC if Dialect.SPEC in seen and Dialect.LIVE not in seen else Dialect.LIVE

    def phase_by_id(self, phase_id: str) -> ReleasePhase | None:
        return next((phase for phase in self.phases if phase.id == phase_id), None)

    def phase_after(self, phase_id: str) -> ReleasePhase | None:
        """The phase that follows ``phase_id`` in the pipeline, or None for the last one."""
        ids = [phase.id for phase in self.phases]
        index = ids.index(phase_id) if phase_id in ids else len(ids)
        return self.phases[index + 1] if index + 1 < len(ids) else None


def parse_release(payload: Any) -> Release:
    """Validate a decoded JSON body as a Release; raises pydantic.ValidationError."""
    release = Release.model_validate(payload)
    release._raw = payload
    return release
