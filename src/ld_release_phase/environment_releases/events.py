"""What an environment-release step reports as it goes: values, worded by :mod:`.render`."""

from __future__ import annotations

# A dry run's request is the same event for every operation.
from ld_release_phase.operation import WouldSend

from .models import EnvironmentRelease, Variation


class StepBegins:
    __slots__ = ("dry_run", "environment", "flag", "operation", "project")

    def __init__(self, *, operation: str, project: str, flag: str, environment: str, dry_run: bool):
        self.operation, self.project, self.flag = operation, project, flag
        self.environment, self.dry_run = environment, dry_run


class Planned:
    """The start, resolved against the flag: from which variation to which."""

    __slots__ = ("original", "target")

    def __init__(self, original: Variation, target: Variation):
        self.original, self.target = original, target


class AlreadyRunning:
    """This step's release already runs: a re-run, so nothing is sent."""

    __slots__ = ("release",)

    def __init__(self, release: EnvironmentRelease):
        self.release = release


class AlreadyEnded:
    """The release to stop has ended already, so nothing is sent."""

    __slots__ = ("release",)

    def __init__(self, release: EnvironmentRelease):
        self.release = release


class ReadAfterUncertainStart:
    """The start's answer was lost (``cause``); the environment's releases were read instead."""

    __slots__ = ("cause", "found")

    def __init__(self, cause: str, found: EnvironmentRelease | None):
        self.cause, self.found = cause, found


class Released:
    """Where a release stands after a call: its status, phase, step and allocation."""

    __slots__ = ("release",)

    def __init__(self, release: EnvironmentRelease):
        self.release = release


class WaitBegins:
    __slots__ = ("interval", "release", "timeout")

    def __init__(self, release: EnvironmentRelease, *, timeout: float, interval: float):
        self.release, self.timeout, self.interval = release, timeout, interval


class WaitGoesOn:
    """Said when the release moves, and at most once a minute otherwise."""

    __slots__ = ("release", "waited")

    def __init__(self, release: EnvironmentRelease, waited: float):
        self.release, self.waited = release, waited


Progress = (
    StepBegins
    | Planned
    | AlreadyRunning
    | AlreadyEnded
    | WouldSend
    | ReadAfterUncertainStart
    | Released
    | WaitBegins
    | WaitGoesOn
)


__all__ = [
    "AlreadyEnded",
    "AlreadyRunning",
    "Planned",
    "Progress",
    "ReadAfterUncertainStart",
    "Released",
    "StepBegins",
    "WaitBegins",
    "WaitGoesOn",
    "WouldSend",
]
