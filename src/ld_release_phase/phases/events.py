"""What a phase step reports as it goes: values, worded by :mod:`.render` for a surface to show.

Each is a plain class (every run builds this module, and a named tuple or dataclass costs its
creation at import); :class:`Listener` is who hears them.
"""

from __future__ import annotations

from typing import Protocol

from ld_release_phase import operation
from ld_release_phase.plumbing.api import ApiListener, PlannedRequest

from .models import Dialect, Release, ReleasePhase


class StepBegins:
    __slots__ = ("dry_run", "flag", "phase", "project", "status")

    def __init__(self, *, project: str, flag: str, phase: str, status: str, dry_run: bool):
        self.project, self.flag, self.phase, self.status, self.dry_run = project, flag, phase, status, dry_run


class PipelineRead:
    """The release was read and the step's phase found in it."""

    __slots__ = ("phase_id", "release")

    def __init__(self, release: Release, phase_id: str):
        self.release, self.phase_id = release, phase_id


class Attaching:
    """The flag has no release: it is about to be put on ``pipeline``."""

    __slots__ = ("flag", "pipeline")

    def __init__(self, flag: str, pipeline: str):
        self.flag, self.pipeline = flag, pipeline


class WouldSend(operation.WouldSend):
    """A dry run's request, shown instead of sent; ``last`` when the dry run ends with it."""

    __slots__ = ("last",)

    def __init__(self, request: PlannedRequest, *, last: bool = False):
        super().__init__(request)
        self.last = last


class Sending:
    __slots__ = ("dialect", "status")

    def __init__(self, status: str, dialect: Dialect):
        self.status, self.dialect = status, dialect


class SpellingSwitched:
    """LaunchDarkly refused ``refused`` as spelt (``reason``); ``other`` goes out instead."""

    __slots__ = ("other", "reason", "refused")

    def __init__(self, refused: str, reason: str, other: str):
        self.refused, self.reason, self.other = refused, reason, other


class SpellingTaken:
    __slots__ = ("status",)

    def __init__(self, status: str):
        self.status = status


class ReadAgain:
    """After an uncertain failure the release was read, and nothing was left to send."""

    __slots__ = ("phase",)

    def __init__(self, phase: ReleasePhase):
        self.phase = phase


class AudiencesRead:
    __slots__ = ("phase",)

    def __init__(self, phase: ReleasePhase):
        self.phase = phase


class NotWaiting:
    """A dry run does not wait for ``goal``."""

    __slots__ = ("goal",)

    def __init__(self, goal: str):
        self.goal = goal


class WaitBegins:
    __slots__ = ("goal", "interval", "phase", "status", "timeout")

    def __init__(self, *, phase: str, goal: str, timeout: float, interval: float, status: str):
        self.phase, self.goal, self.timeout, self.interval, self.status = (
            phase,
            goal,
            timeout,
            interval,
            status,
        )


class WaitSawChange:
    __slots__ = ("after", "before", "phase", "waited")

    def __init__(self, *, phase: str, before: str, after: str, waited: float):
        self.phase, self.before, self.after, self.waited = phase, before, after, waited


class WaitGoesOn:
    """Nothing changed for a while: said at most once a minute, so a wait does not look stuck."""

    __slots__ = ("phase", "status", "timeout", "waited")

    def __init__(self, *, phase: str, status: str, waited: float, timeout: float):
        self.phase, self.status, self.waited, self.timeout = phase, status, waited, timeout


Progress = (
    StepBegins
    | PipelineRead
    | Attaching
    | WouldSend
    | Sending
    | SpellingSwitched
    | SpellingTaken
    | ReadAgain
    | AudiencesRead
    | NotWaiting
    | WaitBegins
    | WaitSawChange
    | WaitGoesOn
)


class Listener(ApiListener, Protocol):
    """Hears a step's progress, and (as an :class:`ApiListener`) its calls and retries."""

    def progress(self, event: Progress) -> None: ...
