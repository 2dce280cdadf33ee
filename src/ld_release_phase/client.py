"""The LaunchDarkly REST client: headers, timeouts, retries, and errors a person can act on.

It knows the two calls the action makes (read a flag's release, update a phase's status) and
owns every HTTP concern: which answers are worth retrying, how long to wait (honouring
LaunchDarkly's rate-limit headers), redirects (never followed, so the token never leaves
``base-uri``), and turning error bodies into :class:`ActionError` values.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import requests
from pydantic import ValidationError

from . import ACTION_NAME, __version__
from .errors import ActionError, ExitCode, LaunchDarklyRefusal
from .models import ApiErrorBody, Release, parse_release

MAX_BODY_BYTES = 8 * 1024 * 1024
RETRYABLE_STATUSES = frozenset({409, 429}) | frozenset(range(500, 600))
# The live service's answer to any status but ``active`` (HTTP 400), word for word.
ONLY_ACTIVE_REFUSAL = "Phase status can only be manually updated to `Active`."


class Clock(Protocol):
    def sleep(self, seconds: float) -> None: ...
    def time(self) -> float: ...
    def monotonic(self) -> float: ...


class SystemClock:
    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``max_retries`` counts retries, so a call makes up to that many + 1."""

    max_retries: int = 5
    timeout: float = 30.0
    backoff_base: float = 0.5
    backoff_cap: float = 16.0
    rate_limit_default_wait: float = 10.0
    total_wait_cap: float = 180.0
    jitter: Callable[[float, float], float] = field(default=random.uniform)


@dataclass(frozen=True)
class Exchange:
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


def encode_segment(value: str) -> str:
    """Percent-encode one path segment: '/', '?', '#', '%' and spaces cannot change the URL."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


class LaunchDarklyClient:
    def __init__(
        self,
        base_uri: str,
        *,
        access_token: str,
        policy: RetryPolicy,
        log: ClientLog,
        clock: Clock | None = None,
        session: requests.Session | None = None,
    ):
        self._base_uri = base_uri.rstrip("/")
        self._policy = policy
        self._log = log
        self._clock = clock or SystemClock()
        self._session = session or requests.Session()
        self._headers = {
            "Authorization": access_token,
            "LD-API-Version": "beta",
            "Accept": "application/json",
            "User-Agent": f"{ACTION_NAME}/{__version__} python-requests/{requests.__version__}",
        }

    # -- the two calls the action makes -----------------------------------------------------

    @staticmethod
    def release_path(project: str, flag: str) -> str:
        return f"/api/v2/flags/{encode_segment(project)}/{encode_segment(flag)}/release"

    @staticmethod
    def phase_path(project: str, flag: str, phase_id: str) -> str:
        return (
            f"/api/v2/projects/{encode_segment(project)}/flags/{encode_segment(flag)}"
            f"/release/phases/{encode_segment(phase_id)}"
        )

    def url(self, path: str) -> str:
        return self._base_uri + path

    def headers(self, *, with_body: bool) -> dict[str, str]:
        """The headers a request carries; ``Content-Type`` only when it has a body."""
        headers = dict(self._headers)
        if with_body:
            headers["Content-Type"] = "application/json"
        return headers

    def shown_headers(self, *, with_body: bool) -> dict[str, str]:
        """The same headers as they may appear in a log: the token as ``***``."""
        return self.headers(with_body=with_body) | {"Authorization": "***"}

    def get_release(self, project: str, flag: str) -> Release:
        path = self.release_path(project, flag)
        not_found = (
            f"No release found for flag '{flag}' in project '{project}'.",
            "Check the project and flag keys, and that the flag has a release pipeline "
            "attached in LaunchDarkly.",
        )
        return self._release_from(self._call("GET", path, None, not_found), "GET", path)

    def update_phase_status(self, project: str, flag: str, phase_id: str, body: dict[str, Any]) -> Release:
        path = self.phase_path(project, flag, phase_id)
        not_found = (
            f"Phase '{phase_id}' of flag '{flag}' in project '{project}' was not found.",
            "The release may have been replaced or removed since it was read; run again.",
        )
        return self._release_from(self._call("PUT", path, body, not_found), "PUT", path)

    # -- machinery ----------------------------------------------------------------------------

    def _release_from(self, payload: Any, method: str, path: str) -> Release:
        try:
            return parse_release(payload)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise ActionError(
                "Unexpected answer from LaunchDarkly",
                f"LaunchDarkly's answer to {method} {path} is not a release: {where}: {first['msg']}.",
                "If this persists, LaunchDarkly may have changed this beta API; please report it.",
                ExitCode.API_FAILURE,
            ) from None

    def _call(self, method: str, path: str, body: dict[str, Any] | None, not_found: tuple[str, str]) -> Any:
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        deadline = self._clock.monotonic() + self._policy.total_wait_cap
        attempts = self._policy.max_retries + 1
        for attempt in range(1, attempts + 1):
            outcome = self._send(method, path, data, attempt)
            if outcome.status is not None and outcome.status not in RETRYABLE_STATUSES:
                return self._settle(outcome, method, path, not_found)
            reason = self._describe(outcome)
            wait = self._wait_before_retry(outcome, attempt)
            if attempt == attempts or self._clock.monotonic() + wait > deadline:
                break
            self._log.retrying(
                f"{method} {path}: {reason}; retrying in {wait:.1f}s (attempt {attempt + 1} of {attempts})"
            )
            self._clock.sleep(wait)
        raise self._gave_up(outcome, reason, method, path, attempt)

    def _send(self, method: str, path: str, data: bytes | None, attempt: int) -> _Attempt:
        headers = self.headers(with_body=data is not None)
        started = self._clock.monotonic()
        try:
            response = self._session.request(
                method,
                self.url(path),
                data=data,
                headers=headers,
                timeout=self._policy.timeout,
                allow_redirects=False,
                stream=True,
            )
            outcome = _Attempt(response, _read_capped(response))
        except requests.exceptions.SSLError as error:
            # Not transient: retrying cannot fix a certificate.
            raise ActionError(
                "TLS verification failed",
                f"{method} {path}: the TLS certificate of {self._base_uri} could not be verified "
                f"({_root_cause(error)}).",
                "Check base-uri. Behind a proxy or with a private CA, point REQUESTS_CA_BUNDLE at "
                "the CA's certificate (set it in the step's env).",
                ExitCode.API_FAILURE,
            ) from None
        except requests.Timeout:
            outcome = _Attempt(failure=f"no answer within {self._policy.timeout:g}s")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            outcome = _Attempt(failure=f"connection failed ({_root_cause(error)})")
        except requests.RequestException as error:
            raise ActionError(
                "LaunchDarkly call failed",
                f"{method} {path} could not be sent: {_root_cause(error)}",
                "Check base-uri.",
                ExitCode.API_FAILURE,
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

    def _settle(self, outcome: _Attempt, method: str, path: str, not_found: tuple[str, str]) -> Any:
        assert outcome.response is not None
        status = outcome.status or 0
        if 200 <= status < 300:
            try:
                return json.loads(outcome.body)
            except ValueError:
                raise ActionError(
                    "Unexpected answer from LaunchDarkly",
                    f"LaunchDarkly's answer to {method} {path} (HTTP {status}) is not JSON: "
                    f"{_snippet(outcome.body)}",
                    "Check base-uri: it must point at LaunchDarkly's API.",
                    ExitCode.API_FAILURE,
                ) from None
        if 300 <= status < 400:
            target = outcome.response.headers.get("Location", "(no Location)")
            raise ActionError(
                "LaunchDarkly redirected the request",
                f"{method} {path} was answered with HTTP {status} to {_snippet(target.encode())}. "
                "Redirects are not followed so the access token is only sent to base-uri.",
                "Set base-uri to the address LaunchDarkly's API answers on directly.",
                ExitCode.API_FAILURE,
            )
        error = _error_body(outcome)
        detail = _error_detail(outcome, error)
        title, hint, exit_code = _REFUSALS.get(status, _OTHER_REFUSAL)
        if status == 404:
            message, hint = not_found
            text = f"{message} HTTP 404 {detail}"
        else:
            text = f"{method} {path}: HTTP {status} {detail}"
        raise LaunchDarklyRefusal(
            title,
            text.rstrip(),
            hint,
            exit_code,
            status=status,
            code=error.code if error else "",
            reason=error.message if error else "",
        )

    def _wait_before_retry(self, outcome: _Attempt, attempt: int) -> float:
        policy = self._policy
        if outcome.status == 429 and outcome.response is not None:
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
            "LaunchDarkly call failed",
            f"{method} {path} failed after {tries}: {reason}",
            hint,
            ExitCode.API_FAILURE,
        )


# How each refusal is explained: (title, hint, exit code). 404's hint depends on the call.
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


def _read_capped(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            response.close()
            raise ActionError(
                "Unexpected answer from LaunchDarkly",
                f"the answer from {response.url} is larger than {MAX_BODY_BYTES // 2**20} MiB.",
                "Check base-uri: it must point at LaunchDarkly's API.",
                ExitCode.API_FAILURE,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _root_cause(error: BaseException) -> str:
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    text = str(error) or type(error).__name__
    return _snippet(text.encode(), 160)


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip()
    text = " ".join(text.split())
    return (text[:limit] + "...") if len(text) > limit else (text or "(empty body)")


def _error_body(outcome: _Attempt) -> ApiErrorBody | None:
    """LaunchDarkly's error body, when the answer is one."""
    try:
        return ApiErrorBody.model_validate(json.loads(outcome.body))
    except (ValueError, ValidationError):
        return None


def _error_detail(outcome: _Attempt, error: ApiErrorBody | None) -> str:
    """``code: message (request id ...)`` from LaunchDarkly's error body, or a snippet of it."""
    if error is None:
        return _snippet(outcome.body) if outcome.body else ""
    parts = [f"{error.code}:" if error.code else "", error.message]
    text = " ".join(part for part in parts if part) or _snippet(outcome.body)
    return f"{text} (request id {error.id})" if error.id else text


def _rate_limit_wait(headers: Any, now: float) -> float | None:
    """Seconds LaunchDarkly asked us to wait, from ``Retry-After`` or ``X-Ratelimit-Reset``."""
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            from email.utils import parsedate_to_datetime  # noqa: PLC0415 - rare: an HTTP-date

            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = headers.get("X-Ratelimit-Reset")
    if reset:
        try:
            # Epoch milliseconds; a time in the past (clock skew) means "now".
            return max(0.0, int(reset) / 1000.0 - now)
        except ValueError:
            pass
    return None
