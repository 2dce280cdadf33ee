"""LaunchDarkly's release-pipeline API: its paths, its headers, the three calls the action makes,
and how its answers and refusals read.

Reading a flag's release, putting a flag on a pipeline and updating a phase's status each go
through the retry unit (:mod:`.retry`) over the transport (:mod:`.transport`); each call's
exchanges are shown through a :class:`ClientLog`, and what goes wrong becomes one failure from
the catalogue (:mod:`.errors`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

import requests
from pydantic import ValidationError

from . import ACTION_NAME, __version__, errors
from .clock import Clock, SystemClock
from .errors import LaunchDarklyRefusal
from .models import ApiErrorBody, Release, parse_release
from .retry import Attempt, Rechecked, Retrier, RetriesUsedUp, RetryPolicy
from .text import REDACTED, Redactor
from .transport import FailureKind, Transport, TransportFailure, json_of

# The live service's answer to any status but ``active`` (HTTP 400), word for word.
ONLY_ACTIVE_REFUSAL = "Phase status can only be manually updated to `Active`."
# How much of LaunchDarkly's own words an error quotes.
_REASON_LIMIT = 1000
_SNIPPET_LIMIT = 200
# Response headers worth a line in the log: rate-limit state and what came back.
_SHOWN_RESPONSE_HEADERS = ("content-type", "retry-after", "x-ratelimit-")


class Exchange(NamedTuple):
    """One HTTP request and its answer, for the log (bodies only shown in debug mode).

    ``request_headers`` never holds the token: ``Authorization`` is already ``***``.
    """

    method: str
    path: str
    url: str
    attempt: int
    status: int | None
    elapsed: float
    request_headers: dict[str, str]
    response_headers: dict[str, str]
    request_body: str
    response_body: str
    poll: bool = False  # one of many reads while waiting: detail only in debug mode


class PlannedRequest:
    """A request as a dry run shows it: the token as ``***``."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(self, method: str, url: str, headers: dict[str, str], body: dict[str, Any]):
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body


class ClientLog(Protocol):
    def retrying(self, message: str) -> None: ...
    def exchange(self, exchange: Exchange) -> None: ...


class LaunchDarklyClient:
    def __init__(
        self,
        base_uri: str,
        *,
        access_token: str,
        policy: RetryPolicy,
        log: ClientLog,
        redactor: Redactor,
        clock: Clock | None = None,
    ):
        self._transport = Transport(base_uri, token=access_token)
        self._log = log
        self._redactor = redactor
        self._clock = clock or SystemClock()
        self._retrier = Retrier(policy, self._clock, log.retrying)
        self._headers = {
            "LD-API-Version": "beta",
            "Accept": "application/json",
            "User-Agent": f"{ACTION_NAME}/{__version__} python-requests/{requests.__version__}",
        }

    # -- paths ------------------------------------------------------------------------------

    def release_path(self, project: str, flag: str) -> str:
        return f"/api/v2/flags/{self._segment(project)}/{self._segment(flag)}/release"

    def create_release_path(self, project: str, flag: str) -> str:
        return f"/api/v2/projects/{self._segment(project)}/flags/{self._segment(flag)}/release"

    def phase_path(self, project: str, flag: str, phase_id: str) -> str:
        return f"{self.create_release_path(project, flag)}/phases/{self._segment(phase_id)}"

    def _segment(self, value: str) -> str:
        return encode_segment(value, self._redactor)

    def planned_request(self, method: str, path: str, body: dict[str, Any]) -> PlannedRequest:
        """What a dry run shows instead of sending: the same URL and headers a call would use."""
        return PlannedRequest(method, self._transport.url(path), self._shown_headers(with_body=True), body)

    def _shown_headers(self, *, with_body: bool) -> dict[str, str]:
        return {"Authorization": REDACTED} | self._headers_for(with_body=with_body)

    def _headers_for(self, *, with_body: bool) -> dict[str, str]:
        # Authorization is added by the transport's auth, and only there.
        return self._headers | ({"Content-Type": "application/json"} if with_body else {})

    # -- the calls the action makes ---------------------------------------------------------

    def get_release(
        self, project: str, flag: str, *, until: float | None = None, poll: bool = False
    ) -> Release:
        """The flag's release. A 404 (no release) is a :class:`LaunchDarklyRefusal` with status 404.

        ``until`` (on this client's monotonic clock) is the caller's deadline: a retry that would
        end after it raises :class:`DeadlinePassed` instead of waiting. ``poll`` marks one of a
        wait's reads.
        """
        path = self.release_path(project, flag)
        try:
            payload = self._call("GET", path, None, until=until, poll=poll)
            return self._release_from(payload, "GET", path)
        except LaunchDarklyRefusal as refused:
            raise errors.no_release(refused, project, flag) from None

    def create_release(self, project: str, flag: str, body: dict[str, Any]) -> Release:
        """Put the flag on a release pipeline. Repeating this PUT is safe only while the flag has
        no release, so after an answer that may have changed something (no answer, a 5xx, a
        conflict) it reads the release first, and returns the one it finds: the caller checks
        it as strictly as a first read."""
        path = self.create_release_path(project, flag)

        def created_meanwhile() -> Any:
            try:
                return self._call("GET", self.release_path(project, flag), None)
            except LaunchDarklyRefusal as refused:
                if refused.status == 404:
                    return None
                raise

        try:
            payload = self._call("PUT", path, body, recheck=created_meanwhile)
        except LaunchDarklyRefusal as refused:
            raise errors.no_flag_or_pipeline(
                refused, project, flag, str(body.get("releasePipelineKey"))
            ) from None
        return self._release_from(payload, "PUT", path)

    def update_phase_status(
        self,
        project: str,
        flag: str,
        phase_id: str,
        body: dict[str, Any],
        *,
        settled: Callable[[Release], bool] | None = None,
    ) -> Release:
        """Set a phase's status. After an answer that may have changed something, the release is
        read before the PUT is repeated; when ``settled`` finds nothing left to do in it, that
        release is the answer."""
        path = self.phase_path(project, flag, phase_id)
        read = self.release_path(project, flag)

        def done_meanwhile(settled: Callable[[Release], bool]) -> Any:
            payload = self._call("GET", read, None)
            return payload if settled(self._release_from(payload, "GET", read)) else None

        recheck = (lambda: done_meanwhile(settled)) if settled is not None else None
        try:
            payload = self._call("PUT", path, body, recheck=recheck)
            return self._release_from(payload, "PUT", path)
        except LaunchDarklyRefusal as refused:
            raise errors.no_phase(refused, project, flag, phase_id) from None

    # -- machinery ----------------------------------------------------------------------------

    def _release_from(self, payload: Any, method: str, path: str) -> Release:
        try:
            return parse_release(payload)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise errors.not_a_release(method, path, where, first["msg"]) from None

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        until: float | None = None,
        recheck: Callable[[], Any] | None = None,
        poll: bool = False,
    ) -> Any:
        """The JSON of a successful answer, after retries; raises the failure otherwise."""
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        what = f"{method} {path}"
        try:
            ended = self._retrier.run(
                lambda number: self._try(method, path, data, number, poll=poll),
                what=what,
                describe=self._describe,
                until=until,
                recheck=recheck,
            )
        except RetriesUsedUp as used_up:
            raise errors.retries_used_up(
                method, path, used_up.attempts, used_up.reason, used_up.last.status
            ) from None
        if isinstance(ended, Rechecked):
            return ended.value
        return self._settle(ended, method, path)

    def _try(self, method: str, path: str, data: bytes | None, number: int, *, poll: bool) -> Attempt:
        """One attempt, shown in the log; a failure that no retry can mend is raised at once."""
        started = self._clock.monotonic()
        headers = self._headers_for(with_body=data is not None)
        try:
            answer = self._transport.send(method, path, data, headers, self._retrier.policy.timeout)
            attempt = Attempt(answer)
        except TransportFailure as failure:
            cause = self._redactor.cut(failure.detail, 160)
            if failure.kind is FailureKind.TLS:
                raise errors.tls_failed(method, path, self._transport.base_uri, cause) from None
            if failure.kind is FailureKind.UNSENDABLE:
                raise errors.unsendable(method, path, cause) from None
            if failure.kind is FailureKind.TOO_LARGE:
                raise errors.unexpected_answer(f"the answer to {method} {path}: {cause}.") from None
            attempt = Attempt(None, cause)
        self._log.exchange(
            self._exchange(method, path, data, number, attempt=attempt, started=started, poll=poll)
        )
        return attempt

    def _exchange(
        self,
        method: str,
        path: str,
        data: bytes | None,
        number: int,
        *,
        attempt: Attempt,
        started: float,
        poll: bool,
    ) -> Exchange:
        answer = attempt.answer
        return Exchange(
            method=method,
            path=path,
            url=self._transport.url(path),
            attempt=number,
            status=attempt.status,
            elapsed=self._clock.monotonic() - started,
            request_headers=self._shown_headers(with_body=data is not None),
            response_headers={
                name: value
                for name, value in (answer.headers.items() if answer is not None else ())
                if name.lower().startswith(_SHOWN_RESPONSE_HEADERS)
            },
            request_body=data.decode() if data else "",
            response_body=answer.body.decode("utf-8", "replace")
            if answer and answer.body
            else attempt.failure,
            poll=poll,
        )

    def _settle(self, attempt: Attempt, method: str, path: str) -> Any:
        """A final answer: its JSON when it succeeded, else the failure it means."""
        answer = attempt.answer
        assert answer is not None, "an attempt without an answer is always retried"
        status = answer.status
        if 200 <= status < 300:
            try:
                return json_of(answer.body)
            except ValueError as problem:
                shown = f": {self._snippet(answer.body)}" if str(problem) == "is not JSON" else ""
                raise errors.unexpected_answer(
                    f"LaunchDarkly's answer to {method} {path} (HTTP {status}) {problem}{shown}"
                ) from None
        if 300 <= status < 400:
            target = answer.headers.get("Location", "(no Location)")
            raise errors.redirected(method, path, status, self._snippet(target.encode()))
        error = _error_body(answer.body)
        raise errors.refusal(
            method,
            path,
            status,
            code=error.code if error else "",
            reason=error.message if error else "",
            detail=self._error_detail(answer.body, error),
        )

    def _describe(self, attempt: Attempt) -> str:
        """An attempt in a few words: ``HTTP 503 code: message (request id ...)`` or the failure."""
        if attempt.answer is None:
            return attempt.failure
        body = attempt.answer.body
        return f"HTTP {attempt.status} {self._error_detail(body, _error_body(body))}".rstrip()

    def _error_detail(self, body: bytes, error: ApiErrorBody | None) -> str:
        """``code: message (request id ...)`` from LaunchDarkly's error body, or a snippet of it."""
        cut = self._redactor.cut
        if error is None:
            return self._snippet(body) if body else ""
        parts = [f"{cut(error.code, 100)}:" if error.code else "", cut(error.message, _REASON_LIMIT)]
        detail = " ".join(part for part in parts if part) or self._snippet(body)
        return f"{detail} (request id {cut(error.id, 100)})" if error.id else detail

    def _snippet(self, body: bytes) -> str:
        """A body as one short line: redacted before it is cut, so no part of a secret survives."""
        flat = " ".join(body.decode("utf-8", "replace").split())
        return self._redactor.cut(flat, _SNIPPET_LIMIT) if flat else "(empty body)"


def encode_segment(value: str, redactor: Redactor) -> str:
    """One path segment, percent-encoded: '/', '?', '#', '%' and spaces cannot change the URL.

    A segment of only dots is refused: requests would send '%2E%2E' as '..', and a server or
    proxy that normalises the path would route the call elsewhere.
    """
    if value.strip(".") == "":
        raise errors.unusable_id(redactor.quote(value))
    return quote(value, safe="")


def _error_body(body: bytes) -> ApiErrorBody | None:
    """LaunchDarkly's error body, when the answer is one."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return ApiErrorBody.read(payload)
