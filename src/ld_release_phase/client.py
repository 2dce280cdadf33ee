"""The LaunchDarkly REST client: headers, deadlines, retries, and errors a person can act on.

It knows the calls the action makes (read a flag's release, put a flag on a pipeline, update a
phase's status) and owns every HTTP concern: which answers are worth retrying, how long to wait
(honouring LaunchDarkly's rate-limit headers), how long one attempt may take in all, redirects
(never followed), and where the token goes (only to ``base-uri``, only in the header set here:
no ``~/.netrc`` credentials, no proxy for a plain-http loopback address).
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, urlsplit

import requests
from pydantic import ValidationError
from requests.auth import AuthBase

from . import ACTION_NAME, __version__, text
from .clock import Clock, SystemClock
from .errors import ActionError, DeadlinePassed, ExitCode, LaunchDarklyRefusal
from .models import ApiErrorBody, Release, parse_release

MAX_BODY_BYTES = 8 * 1024 * 1024
# A release is a few levels deep; an answer nested deeper than this is not one, and deep
# nesting is how a hostile answer would exhaust the parser's stack.
MAX_JSON_DEPTH = 64
# The live service's answer to any status but ``active`` (HTTP 400), word for word.
ONLY_ACTIVE_REFUSAL = "Phase status can only be manually updated to `Active`."
# How much of LaunchDarkly's own error message an error quotes.
_REASON_LIMIT = 1000


class RetryPolicy(NamedTuple):
    """How hard to try. ``max_retries`` counts retries, so a call makes up to that many + 1.

    ``timeout`` bounds each attempt in all (connecting, the headers and the whole body), not
    only each read from the socket: a server that trickles its answer cannot hold a step.
    """

    max_retries: int
    timeout: float
    backoff_base: float = 0.5
    backoff_cap: float = 16.0
    rate_limit_default_wait: float = 10.0
    total_wait_cap: float = 180.0
    jitter: Callable[[float, float], float] = random.uniform


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


# Response headers worth a line in the log: rate-limit state and what came back.
_SHOWN_RESPONSE_HEADERS = ("content-type", "retry-after", "x-ratelimit-")


class ClientLog(Protocol):
    def retrying(self, message: str) -> None: ...
    def exchange(self, exchange: Exchange) -> None: ...


class _Attempt:
    """What one try ended with: an answer, or a transport failure."""

    def __init__(self, response: requests.Response | None = None, body: bytes = b"", failure: str = ""):
        self.response = response
        self.body = body
        self.failure = failure

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


# What to do after an attempt, by its status (None: no answer at all). Anything not listed is
# final. "uncertain" answers may have changed something, so a call that is not safe to repeat
# looks before it repeats.
_RATE_LIMITED, _BACK_OFF, _UNCERTAIN = "rate-limited", "back off", "uncertain"
_RETRY_KINDS: dict[int | None, str] = {
    None: _UNCERTAIN,
    409: _BACK_OFF,
    429: _RATE_LIMITED,
    **dict.fromkeys(range(500, 600), _UNCERTAIN),
}


class _TokenAuth(AuthBase):
    """The raw token in ``Authorization``. Given as the session's auth, it also keeps requests
    from replacing the header with ``~/.netrc`` credentials for the host."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._token
        return request


# For a plain-http (loopback) base-uri: no proxy from the environment, so the token never
# travels in clear text to a proxy. (Over https a proxy only tunnels the encrypted stream.)
_NO_PROXY: dict[str, str | None] = {"http": None, "https": None, "all": None}


def encode_segment(value: str) -> str:
    """Percent-encode one path segment: '/', '?', '#', '%' and spaces cannot change the URL.

    A segment of only dots is refused: requests would send '%2E%2E' as '..', and a server or
    proxy that normalises the path would route the call elsewhere.
    """
    if value.strip(".") == "":
        raise ActionError(
            title="Unusable id from LaunchDarkly",
            message=f"the id {text.quote(value)} cannot be sent in a URL path without changing the path.",
            hint="Check the flag's release in LaunchDarkly.",
            exit_code=ExitCode.API_FAILURE,
        )
    return quote(value, safe="")


class LaunchDarklyClient:
    def __init__(
        self,
        base_uri: str,
        *,
        access_token: str,
        policy: RetryPolicy,
        log: ClientLog,
        clock: Clock | None = None,
    ):
        self._base_uri = base_uri.rstrip("/")
        self._policy = policy
        self._log = log
        self._clock = clock or SystemClock()
        self._session = requests.Session()
        self._session.auth = _TokenAuth(access_token)
        self._proxies = _NO_PROXY if urlsplit(self._base_uri).scheme == "http" else None
        self._headers = {
            "LD-API-Version": "beta",
            "Accept": "application/json",
            "User-Agent": f"{ACTION_NAME}/{__version__} python-requests/{requests.__version__}",
        }

    # -- paths ------------------------------------------------------------------------------

    @staticmethod
    def release_path(project: str, flag: str) -> str:
        return f"/api/v2/flags/{encode_segment(project)}/{encode_segment(flag)}/release"

    @staticmethod
    def create_release_path(project: str, flag: str) -> str:
        return f"/api/v2/projects/{encode_segment(project)}/flags/{encode_segment(flag)}/release"

    @classmethod
    def phase_path(cls, project: str, flag: str, phase_id: str) -> str:
        return f"{cls.create_release_path(project, flag)}/phases/{encode_segment(phase_id)}"

    def url(self, path: str) -> str:
        return self._base_uri + path

    def shown_headers(self, *, with_body: bool) -> dict[str, str]:
        """The headers a request carries, as a log may show them: the token as ``***``."""
        return {"Authorization": text.REDACTED} | self._headers_for(with_body=with_body)

    def _headers_for(self, *, with_body: bool) -> dict[str, str]:
        # Authorization is added by the session's auth, and only there.
        return self._headers | ({"Content-Type": "application/json"} if with_body else {})

    # -- the calls the action makes ---------------------------------------------------------

    def get_release(self, project: str, flag: str, *, until: float | None = None) -> Release:
        """The flag's release. A 404 (no release) is a :class:`LaunchDarklyRefusal` with status 404.

        ``until`` (on this client's monotonic clock) is the caller's deadline: a retry that would
        end after it raises :class:`DeadlinePassed` instead of waiting.
        """
        path = self.release_path(project, flag)
        try:
            return self._release_from(self._call("GET", path, None, until=until), "GET", path)
        except LaunchDarklyRefusal as refusal:
            raise _explain_not_found(
                refusal,
                f"No release found for flag '{flag}' in project '{project}'.",
                "Check the project and flag keys, and that the flag is on a release pipeline in "
                "LaunchDarkly (or set release-pipeline to put it on one).",
            ) from None

    def create_release(self, project: str, flag: str, body: dict[str, Any]) -> Release:
        """Put the flag on a release pipeline. Repeating this PUT is safe only while the flag has
        no release, so after an answer that may have changed something it reads the release
        first, and takes the one it finds."""
        path = self.create_release_path(project, flag)

        def created_meanwhile() -> Any:
            try:
                return self._call("GET", self.release_path(project, flag), None)
            except LaunchDarklyRefusal as refusal:
                if refusal.status == 404:
                    return None
                raise

        try:
            payload = self._call("PUT", path, body, recheck=created_meanwhile)
        except LaunchDarklyRefusal as refusal:
            raise _explain_not_found(
                refusal,
                f"LaunchDarkly has no flag '{flag}' or no release pipeline "
                f"'{body.get('releasePipelineKey')}' in project '{project}'.",
                "Check the project and flag keys, and the release-pipeline key in LaunchDarkly "
                "(Flags > Release pipelines).",
            ) from None
        return self._release_from(payload, "PUT", path)

    def update_phase_status(self, project: str, flag: str, phase_id: str, body: dict[str, Any]) -> Release:
        path = self.phase_path(project, flag, phase_id)
        try:
            return self._release_from(self._call("PUT", path, body), "PUT", path)
        except LaunchDarklyRefusal as refusal:
            raise _explain_not_found(
                refusal,
                f"Phase '{phase_id}' of flag '{flag}' in project '{project}' was not found.",
                "The release may have been replaced or removed since it was read; run again.",
            ) from None

    # -- machinery ----------------------------------------------------------------------------

    def _release_from(self, payload: Any, method: str, path: str) -> Release:
        try:
            return parse_release(payload)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise ActionError(
                title="Unexpected answer from LaunchDarkly",
                message=f"LaunchDarkly's answer to {method} {path} is not a release: "
                f"{where}: {first['msg']}.",
                hint="If this persists, LaunchDarkly may have changed this beta API; please report it.",
                exit_code=ExitCode.API_FAILURE,
            ) from None

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        until: float | None = None,
        recheck: Callable[[], Any] | None = None,
    ) -> Any:
        """Send until an answer is final, retries run out, or the waiting budget is spent.

        ``recheck``, for a call that is not safe to repeat, is asked after an uncertain failure
        whether the call took effect after all; what it returns (if not None) is the answer.
        """
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        budget_end = self._clock.monotonic() + self._policy.total_wait_cap
        attempts = self._policy.max_retries + 1
        for attempt in range(1, attempts + 1):
            outcome = self._send(method, path, data, attempt, until)
            kind = _RETRY_KINDS.get(outcome.status)
            if kind is None:
                return self._settle(outcome, method, path)
            reason = self._describe(outcome)
            wait = self._wait_before_retry(outcome, kind, attempt)
            now = self._clock.monotonic()
            if attempt == attempts or now + wait > budget_end:
                break  # retries used up: the call failed, whatever deadline the caller had
            if until is not None and now + wait >= until:
                raise DeadlinePassed(f"{method} {path}: {reason}")
            self._log.retrying(
                f"{method} {path}: {reason}; retrying in {wait:.1f}s (attempt {attempt + 1} of {attempts})"
            )
            self._clock.sleep(wait)
            if kind == _UNCERTAIN and recheck is not None:
                found = recheck()
                if found is not None:
                    return found
        raise self._gave_up(outcome, reason, method, path, attempt)

    def _send(
        self, method: str, path: str, data: bytes | None, attempt: int, until: float | None
    ) -> _Attempt:
        started = self._clock.monotonic()
        timeout = (
            self._policy.timeout if until is None else max(0.0, min(self._policy.timeout, until - started))
        )
        try:
            response, body = self._exchange_within(timeout, method, self.url(path), data)
            outcome = _Attempt(response, body)
        except requests.exceptions.SSLError as error:
            # Not transient: retrying cannot fix a certificate.
            raise ActionError(
                title="TLS verification failed",
                message=f"{method} {path}: the TLS certificate of {self._base_uri} could not be verified "
                f"({_root_cause(error)}).",
                hint="Check base-uri. Behind a proxy or with a private CA, point REQUESTS_CA_BUNDLE at "
                "the CA's certificate (set it in the step's env).",
                exit_code=ExitCode.API_FAILURE,
            ) from None
        except requests.Timeout:
            outcome = _Attempt(failure=f"no complete answer within {text.human_duration(timeout)}")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            outcome = _Attempt(failure=f"connection failed ({_root_cause(error)})")
        except requests.RequestException as error:
            raise ActionError(
                title="LaunchDarkly call failed",
                message=f"{method} {path} could not be sent: {_root_cause(error)}",
                hint="Check base-uri.",
                exit_code=ExitCode.API_FAILURE,
            ) from None
        self._log.exchange(
            Exchange(
                method=method,
                path=path,
                url=self.url(path),
                attempt=attempt,
                status=outcome.status,
                elapsed=self._clock.monotonic() - started,
                request_headers=self.shown_headers(with_body=data is not None),
                response_headers={
                    name: value
                    for name, value in (
                        outcome.response.headers.items() if outcome.response is not None else ()
                    )
                    if name.lower().startswith(_SHOWN_RESPONSE_HEADERS)
                },
                request_body=data.decode() if data else "",
                response_body=outcome.body.decode("utf-8", "replace") if outcome.body else outcome.failure,
            )
        )
        return outcome

    def _exchange_within(
        self, timeout: float, method: str, url: str, data: bytes | None
    ) -> tuple[requests.Response, bytes]:
        """One request and its whole answer, or ``requests.Timeout`` once ``timeout`` has passed.

        The socket timeout alone bounds each read, not the answer: the exchange runs in a
        worker thread so the deadline holds however slowly the server sends. A worker left
        behind is a daemon, abandoned with its connection.
        """
        result: list[tuple[requests.Response, bytes]] = []
        failure: list[BaseException] = []

        def exchange() -> None:
            try:
                response = self._session.request(
                    method,
                    url,
                    data=data,
                    headers=self._headers_for(with_body=data is not None),
                    timeout=max(timeout, 0.001),
                    allow_redirects=False,
                    stream=True,
                    proxies=self._proxies,  # type: ignore[arg-type]  # None removes a proxy
                )
                result.append((response, _read_capped(response)))
            except BaseException as error:
                failure.append(error)

        worker = threading.Thread(target=exchange, name="launchdarkly-call", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise requests.Timeout()
        if failure:
            raise failure[0]
        return result[0]

    def _settle(self, outcome: _Attempt, method: str, path: str) -> Any:
        assert outcome.response is not None
        status = outcome.status or 0
        if 200 <= status < 300:
            return _json_answer(outcome.body, f"LaunchDarkly's answer to {method} {path} (HTTP {status})")
        if 300 <= status < 400:
            target = outcome.response.headers.get("Location", "(no Location)")
            raise ActionError(
                title="LaunchDarkly redirected the request",
                message=f"{method} {path} was answered with HTTP {status} to {_snippet(target.encode())}. "
                "Redirects are not followed so the access token is only sent to base-uri.",
                hint="Set base-uri to the address LaunchDarkly's API answers on directly.",
                exit_code=ExitCode.API_FAILURE,
            )
        error = _error_body(outcome)
        detail = _error_detail(outcome, error)
        title, hint, exit_code = _REFUSALS.get(status, _OTHER_REFUSAL)
        raise LaunchDarklyRefusal(
            title=title,
            message=f"{method} {path}: HTTP {status} {detail}".rstrip(),
            hint=hint,
            exit_code=exit_code,
            status=status,
            code=error.code if error else "",
            reason=error.message if error else "",
            detail=detail,
        )

    def _wait_before_retry(self, outcome: _Attempt, kind: str, attempt: int) -> float:
        policy = self._policy
        if kind == _RATE_LIMITED and outcome.response is not None:
            told = _rate_limit_wait(outcome.response.headers, self._clock.time())
            floor = policy.rate_limit_default_wait if told is None else told
            # At least what LaunchDarkly asked for; jitter on top so parallel jobs spread out.
            return floor + policy.jitter(0.0, min(1.0, 0.1 * floor + 0.25))
        ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 1))
        return policy.jitter(ceiling / 2, ceiling)

    @staticmethod
    def _describe(outcome: _Attempt) -> str:
        if outcome.status is None:
            return outcome.failure
        return f"HTTP {outcome.status} {_error_detail(outcome, _error_body(outcome))}".rstrip()

    def _gave_up(self, outcome: _Attempt, reason: str, method: str, path: str, attempts: int) -> ActionError:
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        hint = {
            429: "LaunchDarkly is rate limiting this token; run fewer jobs at once or retry later.",
            409: "Another change to this release kept conflicting; run again.",
        }.get(outcome.status or 0, "LaunchDarkly may be having trouble; run again later.")
        if outcome.status is None:
            hint = "Check base-uri and the runner's network (proxy settings are honoured)."
        return ActionError(
            title="LaunchDarkly call failed",
            message=f"{method} {path} failed after {tries}: {reason}",
            hint=hint,
            exit_code=ExitCode.API_FAILURE,
        )


# How each refusal is explained: (title, hint, exit code). A 404's words come from the call.
_REFUSALS: dict[int, tuple[str, str, ExitCode]] = {
    400: (
        "LaunchDarkly refused the request",
        "Check the status and audiences inputs against the phase's state in LaunchDarkly.",
        ExitCode.API_FAILURE,
    ),
    401: (
        "LaunchDarkly rejected the access token",
        "Check the access-token input: a current personal or service access token "
        "(not an SDK or mobile key), and the secret holds all of it.",
        ExitCode.AUTH,
    ),
    403: (
        "LaunchDarkly refused access",
        "The token's role must allow updating release pipelines on this project and "
        "flag. This beta API also needs the LD-API-Version: beta header, which this "
        "action always sends; a proxy may be stripping it.",
        ExitCode.AUTH,
    ),
    404: ("Not found in LaunchDarkly", "", ExitCode.NOT_FOUND),
}
_OTHER_REFUSAL = ("LaunchDarkly refused the request", "", ExitCode.API_FAILURE)


def _explain_not_found(refusal: LaunchDarklyRefusal, message: str, hint: str) -> LaunchDarklyRefusal:
    """A 404 in the words of the call that got it; any other refusal as it is."""
    if refusal.status != 404:
        return refusal
    return LaunchDarklyRefusal(
        title=refusal.title,
        message=f"{message} HTTP 404 {refusal.detail}".rstrip(),
        hint=hint,
        exit_code=refusal.exit_code,
        status=404,
        code=refusal.code,
        reason=refusal.reason,
        detail=refusal.detail,
    )


def _read_capped(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            response.close()
            raise ActionError(
                title="Unexpected answer from LaunchDarkly",
                message=f"the answer from {response.url} is larger than {MAX_BODY_BYTES // 2**20} MiB.",
                hint="Check base-uri: it must point at LaunchDarkly's API.",
                exit_code=ExitCode.API_FAILURE,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _json_answer(body: bytes, what: str) -> Any:
    """A successful answer's JSON; an ActionError if it is not JSON, or nested absurdly deep."""
    problem = ""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        problem = f"is not JSON: {_snippet(body)}"
    else:
        if _nested_deeper_than(payload, MAX_JSON_DEPTH):
            problem = f"is nested more than {MAX_JSON_DEPTH} levels deep, so it is not a release"
    if problem:
        raise ActionError(
            title="Unexpected answer from LaunchDarkly",
            message=f"{what} {problem}",
            hint="Check base-uri: it must point at LaunchDarkly's API.",
            exit_code=ExitCode.API_FAILURE,
        )
    return payload


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether a decoded JSON value nests lists and objects more than ``limit`` deep (no recursion)."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return True


def _root_cause(error: BaseException) -> str:
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    return _snippet((str(error) or type(error).__name__).encode(), 160)


def _snippet(body: bytes, limit: int = 200) -> str:
    """A body as one short line: redacted before it is cut, so no part of a secret survives."""
    flat = " ".join(body.decode("utf-8", "replace").split())
    return text.cut(flat, limit) if flat else "(empty body)"


def _error_body(outcome: _Attempt) -> ApiErrorBody | None:
    """LaunchDarkly's error body, when the answer is one."""
    try:
        payload = json.loads(outcome.body)
    except (ValueError, RecursionError):
        return None
    return ApiErrorBody.read(payload)


def _error_detail(outcome: _Attempt, error: ApiErrorBody | None) -> str:
    """``code: message (request id ...)`` from LaunchDarkly's error body, or a snippet of it."""
    if error is None:
        return _snippet(outcome.body) if outcome.body else ""
    parts = [f"{text.cut(error.code, 100)}:" if error.code else "", text.cut(error.message, _REASON_LIMIT)]
    detail = " ".join(part for part in parts if part) or _snippet(outcome.body)
    return f"{detail} (request id {text.cut(error.id, 100)})" if error.id else detail


def _rate_limit_wait(headers: Any, now: float) -> float | None:
    """Seconds LaunchDarkly asked us to wait, from ``Retry-After`` or ``X-Ratelimit-Reset``.

    Absurd values (NaN, infinity, hundreds of digits) are read as "no advice" or "very long";
    the per-call waiting budget then decides.
    """
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            seconds = float(retry_after)
            return None if math.isnan(seconds) else max(0.0, seconds)
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
            except (TypeError, ValueError, OverflowError):
                pass
    reset = headers.get("X-Ratelimit-Reset")
    if reset and reset.isdigit() and len(reset) <= 16:
        # Epoch milliseconds; a time in the past (clock skew) means "now".
        return max(0.0, int(reset) / 1000.0 - now)
    return None
