"""LaunchDarkly's environment-release API (beta): its paths and the calls a release step makes,
each with a typed result.

The start is not idempotent in LaunchDarkly: a start that reached it and is sent again answers
``409 release_already_active``. So the start is sent once. After an answer that may hide a
start that took effect (no answer, a timeout, a 5xx, that 409) the environment's releases are
read instead, and what they show is the result (:class:`Started` with ``reread``). Only a rate
limit, which LaunchDarkly answers before it does anything, is tried again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ld_release_phase import failures as common
from ld_release_phase.failures import Refused
from ld_release_phase.plumbing.api import ApiClient, error_body
from ld_release_phase.plumbing.retry import Attempt, RetriesUsedUp, RetryKind, classify

from . import failures
from .models import EnvironmentRelease, Flag, parse_collection, parse_flag, parse_release

# LaunchDarkly's codes for the two refusals a start must tell apart from the others.
ALREADY_ACTIVE = "release_already_active"
HEALTH_CHECKS_FAILED = "health_checks_failed"
# Newest first, as many as one page holds: a running release is among the newest.
_PAGE = 100


class Started:
    """The release after a start: LaunchDarkly's answer, or (``reread``) the release found when
    the environment's releases were read after an uncertain answer (``cause``)."""

    __slots__ = ("cause", "other", "release", "reread")

    def __init__(
        self,
        release: EnvironmentRelease | None,
        *,
        reread: bool,
        cause: str = "",
        other: EnvironmentRelease | None = None,
    ):
        self.release = release
        self.reread = reread
        self.cause = cause
        self.other = other  # a release running that is not this step's, found by the read back


class HealthChecksFailed(Exception):
    """LaunchDarkly's health checks refused a start (400 ``health_checks_failed``): the refusal,
    and each failing check as ``(kind, metric key or None, message)``."""

    def __init__(self, refused: Refused, checks: list[tuple[str, str | None, str]]):
        super().__init__(refused.detail)
        self.refused = refused
        self.checks = checks


def _failing_checks(body: bytes) -> list[tuple[str, str | None, str]]:
    """``failingChecks`` of a 400 body, read leniently: anything not shaped like a check is left out."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return []
    checks = payload.get("failingChecks") if isinstance(payload, dict) else None
    found = []
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, dict) and isinstance(check.get("kind"), str):
            metric = check.get("metricKey")
            message = check.get("message")
            found.append(
                (
                    check["kind"],
                    metric if isinstance(metric, str) else None,
                    message if isinstance(message, str) else "",
                )
            )
    return found


def _already_active(attempt: Attempt) -> bool:
    error = error_body(attempt.answer.body) if attempt.answer is not None else None
    return error is not None and error.code == ALREADY_ACTIVE


class _Final(Exception):
    """An answer that ends the start, though the retry unit would try again after it."""

    def __init__(self, attempt: Attempt):
        super().__init__(attempt.failure)
        self.attempt = attempt


class _Uncertain(Exception):
    """The start's answer leaves open whether it took effect."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


class ReleasesClient(ApiClient):
    refusal_hints = failures.REFUSAL_HINTS

    # -- paths ------------------------------------------------------------------------------

    def flag_path(self, project: str, flag: str, environment: str | None) -> str:
        """The flag; with ``environment``, that environment's configuration alone."""
        path = f"/api/v2/flags/{self._segment(project)}/{self._segment(flag)}"
        return path if environment is None else f"{path}?env={self._segment(environment)}"

    def releases_path(self, project: str, flag: str, environment: str) -> str:
        return (
            f"/api/v2/projects/{self._segment(project)}/flags/{self._segment(flag)}"
            f"/environments/{self._segment(environment)}/releases"
        )

    def release_path(self, project: str, flag: str, environment: str, release_id: str) -> str:
        return f"{self.releases_path(project, flag, environment)}/{self._segment(release_id)}"

    # -- the calls --------------------------------------------------------------------------

    def get_flag(self, project: str, flag: str, environment: str | None) -> Flag:
        path = self.flag_path(project, flag, environment)
        return self._parsed(self._call("GET", path, None), parse_flag, "a flag", "GET", path)

    def list_releases(self, project: str, flag: str, environment: str) -> list[EnvironmentRelease]:
        """The environment's releases, newest first (those that ended over 90 days ago are gone)."""
        path = self.releases_path(project, flag, environment) + f"?limit={_PAGE}"
        return self._parsed(
            self._call("GET", path, None), parse_collection, "a list of releases", "GET", path
        )

    def get_release(
        self,
        project: str,
        flag: str,
        environment: str,
        release_id: str,
        *,
        until: float | None = None,
        poll: bool = False,
    ) -> EnvironmentRelease:
        path = self.release_path(project, flag, environment, release_id)
        payload = self._call("GET", path, None, until=until, poll=poll)
        return self._parsed(payload, parse_release, "an environment release", "GET", path)

    def start(
        self,
        project: str,
        flag: str,
        environment: str,
        body: dict[str, Any],
        *,
        ours: Callable[[EnvironmentRelease], bool],
    ) -> Started:
        """Start a release: sent once (a rate limit aside); after an uncertain answer, the release
        that ``ours`` recognises as this step's, read from the environment's releases (whatever
        its status: a short release may have ended by then)."""
        path = self.releases_path(project, flag, environment)
        data = json.dumps(body, separators=(",", ":")).encode()

        def try_once(number: int) -> Attempt:
            attempt = self._try("POST", path, data, number, poll=False)
            kind = classify(attempt.status)
            if kind is RetryKind.BACK_OFF and not _already_active(attempt):
                raise _Final(attempt)  # another 409 (the flag is off): a refusal, as the spec says
            if kind not in (None, RetryKind.RATE_LIMITED):
                raise _Uncertain(self._describe(attempt))
            return attempt

        try:
            ended = self._retrier.run(try_once, what=f"POST {path}", describe=self._describe)
            assert isinstance(ended, Attempt), "nothing is rechecked here"
            answer = self._settle(ended, "POST", path)
        except RetriesUsedUp as used_up:
            raise common.retries_used_up(
                "POST", path, used_up.attempts, used_up.reason, used_up.last.status
            ) from None
        except _Uncertain as uncertain:
            return self._look_after(project, flag, environment, ours, uncertain.cause)
        except _Final as final:
            answer = self._settle(final.attempt, "POST", path)
        return Started(
            self._parsed(answer, parse_release, "an environment release", "POST", path), reread=False
        )

    def _look_after(
        self,
        project: str,
        flag: str,
        environment: str,
        ours: Callable[[EnvironmentRelease], bool],
        cause: str,
    ) -> Started:
        listed = self.list_releases(project, flag, environment)
        found = next((r for r in listed if ours(r)), None)
        other = next((r for r in listed if r.running and r is not found), None)
        return Started(found, reread=True, cause=cause, other=other)

    def _settle(self, attempt: Attempt, method: str, path: str) -> Any:
        try:
            return super()._settle(attempt, method, path)
        except Refused as refused:
            if refused.status == 400 and refused.code == HEALTH_CHECKS_FAILED and attempt.answer is not None:
                raise HealthChecksFailed(refused, _failing_checks(attempt.answer.body)) from None
            raise

    def stop(
        self, project: str, flag: str, environment: str, release_id: str, body: dict[str, Any]
    ) -> EnvironmentRelease:
        """Stop a release. Stopping one that already ended changes nothing, so repeating is safe."""
        path = self.release_path(project, flag, environment, release_id) + "/stop"
        return self._parsed(
            self._call("PUT", path, body), parse_release, "an environment release", "PUT", path
        )
