"""HTTP, and nothing of LaunchDarkly: one request to the base URI, and its whole answer or why not.

It owns where the token goes (only to the base URI, only in the header set here: no ``~/.netrc``
credentials, no proxy for a plain-http loopback address, redirects never followed), how long one
exchange may take in all (however slowly a server sends), and how much of an answer is read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from .text import human_duration

MAX_BODY_BYTES = 8 * 1024 * 1024
# A release is a few levels deep; an answer nested deeper than this is not one, and deep
# nesting is how a hostile answer would exhaust the parser's stack.
MAX_JSON_DEPTH = 64


class Answer:
    """What the server answered, read whole. (A plain class: every run builds this module.)"""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes):
        self.status = status
        self.headers = headers  # looked up without regard to case
        self.body = body


class FailureKind(Enum):
    """Why an exchange got no answer. Only the first two are worth another try."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TLS = "tls"  # a certificate that cannot be verified: trying again cannot fix it
    UNSENDABLE = "unsendable"  # the request itself cannot be sent
    TOO_LARGE = "too large"


class TransportFailure(Exception):
    def __init__(self, kind: FailureKind, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def timed_out(timeout: float) -> TransportFailure:
    return TransportFailure(FailureKind.TIMEOUT, f"no complete answer within {human_duration(timeout)}")


def connection_failed(cause: str) -> TransportFailure:
    return TransportFailure(FailureKind.CONNECTION, f"connection failed ({cause})")


def too_large() -> TransportFailure:
    return TransportFailure(FailureKind.TOO_LARGE, f"the answer is larger than {MAX_BODY_BYTES // 2**20} MiB")


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


class Transport(Protocol):
    """Where the client's requests go: the network (:class:`HttpTransport`), or in tests a
    stand-in answering in memory. The token is the transport's: it alone sets ``Authorization``."""

    base_uri: str

    def url(self, path: str) -> str: ...

    def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        """One request and its whole answer within ``timeout`` seconds, or a TransportFailure."""
        ...


TransportFactory = Callable[[str, str], Transport]  # (base URI, token) -> a transport


class HttpTransport:
    """The network, through requests."""

    def __init__(self, base_uri: str, token: str):
        self.base_uri = base_uri.rstrip("/")
        self._session = requests.Session()
        self._session.auth = _TokenAuth(token)
        self._proxies = _NO_PROXY if urlsplit(self.base_uri).scheme == "http" else None

    def url(self, path: str) -> str:
        return self.base_uri + path

    def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        """One request and its whole answer within ``timeout`` seconds, or a TransportFailure."""
        try:
            return self._exchange_within(timeout, method, self.url(path), body, headers)
        except requests.exceptions.SSLError as error:
            raise TransportFailure(FailureKind.TLS, root_cause(error)) from None
        except requests.Timeout:
            raise timed_out(timeout) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            raise connection_failed(root_cause(error)) from None
        except requests.RequestException as error:
            raise TransportFailure(FailureKind.UNSENDABLE, root_cause(error)) from None

    def _exchange_within(
        self, timeout: float, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        """The socket timeout alone bounds each read, not the answer: the exchange runs in a
        worker thread so the deadline holds however slowly the server sends. A worker left
        behind is a daemon, abandoned with its connection."""
        result: list[Answer] = []
        failure: list[BaseException] = []

        def exchange() -> None:
            try:
                response = self._session.request(
                    method,
                    url,
                    data=body,
                    headers=dict(headers),
                    timeout=max(timeout, 0.001),
                    allow_redirects=False,
                    stream=True,
                    proxies=self._proxies,  # type: ignore[arg-type]  # None removes a proxy
                )
                result.append(Answer(response.status_code, response.headers, _read_capped(response)))
            except BaseException as error:
                failure.append(error)

        worker = threading.Thread(target=exchange, name="http-exchange", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise requests.Timeout()
        if failure:
            raise failure[0]
        return result[0]


def _read_capped(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            response.close()
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


class NotJson(ValueError):
    """A body that is not JSON at all."""


class TooDeep(ValueError):
    """A body nested more than :data:`MAX_JSON_DEPTH` levels deep."""


def json_of(body: bytes) -> Any:
    """A body's JSON; :class:`NotJson` or :class:`TooDeep` when it is not a sane JSON document."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise NotJson() from None
    if _nested_deeper_than(payload, MAX_JSON_DEPTH):
        raise TooDeep()
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


def root_cause(error: BaseException) -> str:
    """The innermost error's words: what actually went wrong under requests' wrapping."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    return str(error) or type(error).__name__
