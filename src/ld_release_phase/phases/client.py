"""LaunchDarkly's release-pipeline API: its paths and the three calls a phase step makes, each
with a typed result.

A missing release is a :class:`~..failures.NotFound` for the caller to decide on; the phase
update says whether its release is LaunchDarkly's answer or a read made after an uncertain
failure; the live service's refusal of a status spelling is its own type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ld_release_phase.failures import NotFound, Refused
from ld_release_phase.plumbing.api import ApiClient
from ld_release_phase.plumbing.retry import Rechecked

from . import failures
from .models import Release, parse_release

# The live service's answer to any status but ``active`` (HTTP 400), word for word.
ONLY_ACTIVE_REFUSAL = "Phase status can only be manually updated to `Active`."


class SpellingRefused(Exception):
    """LaunchDarkly refused the status as spelt (its 400 :data:`ONLY_ACTIVE_REFUSAL`): nothing
    changed, so the other spelling may be sent."""

    def __init__(self, refused: Refused):
        super().__init__(refused.reason)
        self.refused = refused


class PhaseUpdate:
    """The release after a phase update: LaunchDarkly's answer to it, or (``reread``) the
    release as read after an uncertain failure showed nothing was left to send."""

    __slots__ = ("release", "reread")

    def __init__(self, release: Release, *, reread: bool):
        self.release = release
        self.reread = reread


class PipelineClient(ApiClient):
    refusal_hints = failures.REFUSAL_HINTS

    # -- paths ------------------------------------------------------------------------------

    def release_path(self, project: str, flag: str) -> str:
        return f"/api/v2/flags/{self._segment(project)}/{self._segment(flag)}/release"

    def create_release_path(self, project: str, flag: str) -> str:
        return f"/api/v2/projects/{self._segment(project)}/flags/{self._segment(flag)}/release"

    def phase_path(self, project: str, flag: str, phase_id: str) -> str:
        return f"{self.create_release_path(project, flag)}/phases/{self._segment(phase_id)}"

    # -- the calls --------------------------------------------------------------------------

    def get_release(
        self, project: str, flag: str, *, until: float | None = None, poll: bool = False
    ) -> Release:
        """The flag's release; :class:`NotFound` when the flag has none (or does not exist).

        ``until`` (on the client's monotonic clock) is the caller's deadline: a retry that would
        end after it raises :class:`~..plumbing.retry.DeadlinePassed` instead of waiting.
        ``poll`` marks one of a wait's reads.
        """
        path = self.release_path(project, flag)
        return self._release_from(self._call("GET", path, None, until=until, poll=poll), "GET", path)

    def create_release(self, project: str, flag: str, body: dict[str, Any]) -> Release:
        """Put the flag on a release pipeline. Repeating this PUT is safe only while the flag has
        no release, so after an answer that may have changed something (no answer, a 5xx, a
        conflict) it reads the release first, and returns the one it finds: the caller checks
        it as strictly as a first read."""
        path = self.create_release_path(project, flag)
        read = self.release_path(project, flag)

        def created_meanwhile() -> Any:
            try:
                return self._call("GET", read, None)
            except NotFound:
                return None

        try:
            answer = self._call("PUT", path, body, recheck=created_meanwhile)
        except NotFound as missing:
            pipeline = str(body.get("releasePipelineKey"))
            raise failures.no_flag_or_pipeline(missing, project, flag, pipeline) from None
        if isinstance(answer, Rechecked):
            return self._release_from(answer.value, "GET", read)
        return self._release_from(answer, "PUT", path)

    def update_phase_status(
        self,
        project: str,
        flag: str,
        phase_id: str,
        body: dict[str, Any],
        *,
        settled: Callable[[Release], bool],
        pipeline: str,
    ) -> PhaseUpdate:
        """Set a phase's status. After an answer that may have changed something, the release is
        read before the PUT is repeated; when ``settled`` finds nothing left to do in it, that
        release is the result (``reread``). After an unexpected 400, the release's ``pipeline``
        is read: a legacy pipeline's releases take LaunchDarkly's PATCH, not this PUT."""
        path = self.phase_path(project, flag, phase_id)
        read = self.release_path(project, flag)

        def done_meanwhile() -> Release | None:
            release = self._release_from(self._call("GET", read, None), "GET", read)
            return release if settled(release) else None

        try:
            answer = self._call("PUT", path, body, recheck=done_meanwhile)
        except NotFound as missing:
            raise failures.no_phase(missing, project, flag, phase_id) from None
        except Refused as refused:
            if refused.status == 400 and refused.reason == ONLY_ACTIVE_REFUSAL:
                raise SpellingRefused(refused) from None
            if refused.status == 400 and pipeline and self.pipeline_is_legacy(project, pipeline):
                raise failures.legacy_pipeline(pipeline, refused) from None
            raise
        if isinstance(answer, Rechecked):
            return PhaseUpdate(answer.value, reread=True)
        return PhaseUpdate(self._release_from(answer, "PUT", path), reread=False)

    def pipeline_is_legacy(self, project: str, pipeline: str) -> bool:
        """Whether LaunchDarkly marks the release pipeline ``_isLegacy`` (read only after a refusal)."""
        path = f"/api/v2/projects/{self._segment(project)}/release-pipelines/{self._segment(pipeline)}"
        try:
            payload = self._call("GET", path, None)
        except NotFound:
            return False
        return isinstance(payload, dict) and payload.get("_isLegacy") is True

    def _release_from(self, payload: Any, method: str, path: str) -> Release:
        return self._parsed(payload, parse_release, "a release", method, path)
