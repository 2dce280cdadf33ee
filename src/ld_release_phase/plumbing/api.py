"""LaunchDarkly's REST API in general: the headers every call sends, one call with its retries
over a transport, and how answers and refusals read. Each family of operations (release
pipelines, environment releases) builds its client on :class:`ApiClient` with its own paths.

The client takes its transport (:mod:`.transport`), so tests can answer in memory; each attempt
and each retry is reported to an :class:`ApiListener` as a value, for a surface to show.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import requests
from pydantic import ValidationError

from ld_release_phase import ACTION_NAME, Cancelled, __version__, failures
from ld_release_phase.failures import RefusalHints

from .clock import Clock
from .retry import Attempt, DeadlinePassed, Rechecked, Retrier, RetriesUsedUp, Retrying, RetryPolicy
from .text import REDACTED, Redactor
from .transport import (
    MAX_JSON_DEPTH,
    CaBundleUnusable,
    FailureKind,
    NotJson,
    TooDeep,
    Transport,
    TransportFailure,
    json_of,
)

# How much of LaunchDarkly's own words an error quotes.
_REASON_LIMIT = 1000
_SNIPPET_LIMIT = 200
# Response headers worth a line in the log: rate-limit state and what came back.
_SHOWN_RESPONSE_HEADERS = ("content-type", "retry-after", "x-ratelimit-")
# A read made at (or just before) its caller's deadline still gets this long to be answered: the
# wait's last read is made at the deadline itself.
DEADLINE_GRACE = 2.0
Parsed = TypeVar("Parsed")


class Exchange:
    """One HTTP request and its answer, for the log (bodies only shown in debug mode).

    ``request_headers`` never holds the token: ``Authorization`` is already ``***``.
    """

    __slots__ = (
        "attempt",
        "elapsed",
        "method",
        "path",
        "poll",
        "request_body",
        "request_headers",
        "response_body",
        "response_headers",
        "status",
        "url",
    )

    def __init__(
        self,
        *,
        method: str,
        path: str,
        url: str,
        attempt: int,
        status: int | None,
        elapsed: float,
        request_headers: dict[str, str],
        response_headers: dict[str, str],
        request_body: str,
        response_body: str,
        poll: bool = False,
    ):
        self.method = method
        self.path = path
        self.url = url
        self.attempt = attempt
        self.status = status
        self.elapsed = elapsed
        self.request_headers = request_headers
        self.response_headers = response_headers
        self.request_body = request_body
        self.response_body = response_body
        self.poll = poll  # one of many reads while waiting: detail only in debug mode


class PlannedRequest:
    """A request as a dry run shows it: the token as ``***``."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(self, method: str, url: str, headers: dict[str, str], body: dict[str, Any]):
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body


class ApiListener(Protocol):
    """Who hears of each exchange and each retry: the surface, through the operation."""

    def exchange(self, exchange: Exchange) -> None: ...
    def retrying(self, retry: Retrying) -> None: ...


class ApiClient:
    """One call to LaunchDarkly's API at a time, retried as :mod:`.retry` says."""

    refusal_hints: RefusalHints

    def __init__(
        self,
        transport: Transport,
        *,
        policy: RetryPolicy,
        listener: ApiListener,
        redactor: Redactor,
        clock: Clock,
    ):
        self._transport = transport
        self._listener = listener
        self._redactor = redactor
        self._clock = clock
        self._retrier = Retrier(policy, clock, listener.retrying)
        self._headers = {
            "LD-API-Version": "beta",
            "Accept": "application/json",
            "User-Agent": f"{ACTION_NAME}/{__version__} python-requests/{requests.__version__}",
        }

    def _segment(self, value: str) -> str:
        return encode_segment(value, self._redactor)

    def planned_request(self, method: str, path: str, body: dict[str, Any]) -> PlannedRequest:
        """What a dry run shows instead of sending: the same URL and headers a call would use."""
        return PlannedRequest(method, self._transport.url(path), self._shown_headers(with_body=True), body)

    def _shown_headers(self, *, with_body: bool) -> dict[str, str]:
        return {"Authorization": REDACTED} | self._headers_for(with_body=with_body)

    def _headers_for(self, *, with_body: bool) -> dict[str, str]:
        # Authorization is added by the transport, and only there.
        return self._headers | ({"Content-Type": "application/json"} if with_body else {})

    def _parsed(
        self, payload: Any, parse: Callable[[Any], Parsed], what: str, method: str, path: str
    ) -> Parsed:
        """``payload`` read by ``parse`` (a pydantic validation), or the failure saying where it is off."""
        try:
            return parse(payload)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise failures.not_the_shape(method, path, what, where, first["msg"]) from None

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
        """The JSON of a successful answer, or a :class:`Rechecked` holding what ``recheck``
        found; raises the failure otherwise."""
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        try:
            ended = self._retrier.run(
                lambda number: self._try(method, path, data, number, until=until, poll=poll),
                what=f"{method} {path}",
                describe=self._describe,
                until=until,
                recheck=recheck,
            )
        except KeyboardInterrupt as cancel:  # during an attempt, a wait before one, or a read after one
            raise _said_of_a_write(cancel, method, path, data) from None
        except RetriesUsedUp as used_up:
            raise failures.retries_used_up(
                method, path, used_up.attempts, used_up.reason, used_up.last.status
            ) from None
        if isinstance(ended, Rechecked):
            return ended
        return self._settle(ended, method, path)

    def _try(
        self,
        method: str,
        path: str,
        data: bytes | None,
        number: int,
        *,
        poll: bool,
        until: float | None = None,
    ) -> Attempt:
        """One attempt, reported; a failure that no retry can mend is raised at once.

        Before a caller's deadline (``until``) the attempt may take what is left of it and
        :data:`DEADLINE_GRACE`, if that is less than the request timeout; an attempt the
        deadline cut short raises DeadlinePassed.
        """
        started = self._clock.monotonic()
        headers = self._headers_for(with_body=data is not None)
        timeout = self._retrier.policy.timeout
        if until is not None:
            timeout = min(timeout, max(0.0, until - started) + DEADLINE_GRACE)
        cut_short = False
        try:
            attempt = Attempt(self._transport.send(method, path, data, headers, timeout))
        except KeyboardInterrupt as cancel:  # also for an operation that runs its own retries
            raise _said_of_a_write(cancel, method, path, data) from None
        except TransportFailure as failure:
            cause = self._redactor.cut(failure.detail, 160)
            if not failure.kind.retried:
                raise self._final(failure, method, path, cause) from None
            attempt = Attempt(None, cause)
            cut_short = failure.kind is FailureKind.TIMEOUT and timeout < self._retrier.policy.timeout
        self._listener.exchange(
            self._exchange(method, path, data, number, attempt=attempt, started=started, poll=poll)
        )
        if cut_short:  # no retry can end before the deadline this attempt was cut short by
            raise DeadlinePassed(f"{method} {path}: {attempt.failure}")
        return attempt

    def _final(self, failure: TransportFailure, method: str, path: str, cause: str) -> failures.Failure:
        """The failure an attempt that no retry can mend ends the call with."""
        base_uri = self._transport.base_uri
        if isinstance(failure, CaBundleUnusable):
            return failures.ca_bundle_unusable(
                failure.variable, self._redactor.quote(failure.path, 200), cause
            )
        if failure.kind is FailureKind.TLS:
            return failures.tls_failed(method, path, base_uri, cause)
        if failure.kind is FailureKind.NOT_TLS:
            return failures.not_tls(method, path, base_uri, cause)
        if failure.kind is FailureKind.HANDSHAKE:
            return failures.tls_handshake_failed(method, path, base_uri, cause)
        if failure.kind is FailureKind.TOO_LARGE:
            return failures.answer_too_large(method, path, cause)
        return failures.unsendable(method, path, cause)

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
            except NotJson:
                raise failures.answer_not_json(method, path, status, self._snippet(answer.body)) from None
            except TooDeep:
                raise failures.answer_too_deep(method, path, status, MAX_JSON_DEPTH) from None
        if 300 <= status < 400:
            target = answer.headers.get("Location", "(no Location)")
            raise failures.redirected(method, path, status, self._snippet(target.encode()))
        error = error_body(answer.body)
        raise failures.refusal(
            method,
            path,
            status,
            code=error.code if error else "",
            reason=error.message if error else "",
            detail=self._error_detail(answer.body, error),
            hints=self.refusal_hints,
        )

    def _describe(self, attempt: Attempt) -> str:
        """An attempt in a few words: ``HTTP 503 code: message (request id ...)`` or the failure."""
        if attempt.answer is None:
            return attempt.failure
        body = attempt.answer.body
        return f"HTTP {attempt.status} {self._error_detail(body, error_body(body))}".rstrip()

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


def _said_of_a_write(cancel: KeyboardInterrupt, method: str, path: str, data: bytes | None) -> BaseException:
    """A cancel as it is raised on: naming the write it cut short, whose outcome is not known
    (it may have been sent, and carried out); any other call's cancel as it came."""
    return cancel if data is None else Cancelled.of(cancel, write=f"{method} {path}")


class ApiErrorBody:
    """LaunchDarkly's error body: ``{"code", "message", "id"}``; every field may be missing.

    A plain class, read by hand: only failing runs read one, and a pydantic model costs every
    run the time to build it.
    """

    __slots__ = ("code", "id", "message")

    def __init__(self, code: str = "", message: str = "", id: str = ""):
        self.code = code
        self.message = message
        self.id = id

    @classmethod
    def read(cls, payload: Any) -> ApiErrorBody | None:
        """The error in a decoded body, or None when the body is not one."""
        if not isinstance(payload, dict):
            return None
        fields = {name: payload.get(name) for name in ("code", "message", "id")}
        if not all(value is None or isinstance(value, str) for value in fields.values()):
            return None
        return cls(**{name: value or "" for name, value in fields.items()})


def error_body(body: bytes) -> ApiErrorBody | None:
    """LaunchDarkly's error body, when the answer is one."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return ApiErrorBody.read(payload)


def encode_segment(value: str, redactor: Redactor) -> str:
    """One path segment, percent-encoded: '/', '?', '#', '%' and spaces cannot change the URL.

    A segment of only dots is refused: requests would send '%2E%2E' as '..', and a server or
    proxy that normalises the path would route the call elsewhere.
    """
    if value.strip(".") == "":
        raise failures.unusable_id(redactor.quote(value))
    return quote(value, safe="")
