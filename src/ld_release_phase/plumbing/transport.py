"""HTTP, and nothing of LaunchDarkly: one request to the base URI, and its whole answer or why not.

It owns where the token goes (only to the base URI, only in the header set here: no ``~/.netrc``
credentials, no proxy for a plain-http loopback address, redirects never followed), how long one
exchange may take in all (however slowly a server sends), and how much of an answer is read.

A failure is sorted by what happened on the wire, not by which of requests' exceptions carries
it: a connection closed or reset, during the TLS handshake or after, was dropped (worth another
try); a certificate that cannot be verified, a server that does not speak TLS on an https
address, and a handshake that cannot agree are final, each said as what it is; an answer that
came but cannot be decoded means the request was sent and its outcome is unknown. Interim
``1xx`` answers are skipped, as HTTP says, so the final answer is the one read.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from .text import human_duration

MAX_BODY_BYTES = 8 * 1024 * 1024
# A release is a few levels deep; an answer nested deeper than this is not one, and deep
# nesting is how a hostile answer would exhaust the parser's stack.
MAX_JSON_DEPTH = 64
# Interim answers skipped before the final one; a server that sends more is not answering.
MAX_INTERIM_ANSWERS = 20
# The variables requests reads a CA bundle from, in the order it reads them.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
# OpenSSL's words for a first record that is not TLS at all: a plain-HTTP answer, usually.
_NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})


class Answer:
    """What the server answered, read whole. (A plain class: every run builds this module.)"""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes):
        self.status = status
        self.headers = headers  # looked up without regard to case
        self.body = body


class FailureKind(Enum):
    """Why an exchange got no answer that can be read. Only the first three are worth another
    try; after any of those the request may have been carried out."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"  # closed or reset, before, during or after the TLS handshake
    UNREADABLE = "unreadable"  # sent, and answered, but the answer cannot be decoded
    TLS = "tls"  # a certificate that cannot be verified: trying again cannot fix it
    NOT_TLS = "not tls"  # an https address answered in something else, plain HTTP most likely
    HANDSHAKE = "handshake"  # TLS spoken, but no connection could be agreed on
    CA_BUNDLE = "ca bundle"  # the environment names a CA bundle that cannot be used
    UNSENDABLE = "unsendable"  # the request itself cannot be sent
    TOO_LARGE = "too large"

    @property
    def retried(self) -> bool:
        return self in (FailureKind.TIMEOUT, FailureKind.CONNECTION, FailureKind.UNREADABLE)


class TransportFailure(Exception):
    def __init__(self, kind: FailureKind, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class CaBundleUnusable(TransportFailure):
    """The CA bundle the environment names (``variable``, holding ``path``) cannot be loaded."""

    def __init__(self, variable: str, path: str, reason: str):
        super().__init__(FailureKind.CA_BUNDLE, reason)
        self.variable = variable
        self.path = path


def timed_out(timeout: float) -> TransportFailure:
    return TransportFailure(FailureKind.TIMEOUT, f"no complete answer within {human_duration(timeout)}")


def connection_failed(cause: str) -> TransportFailure:
    return TransportFailure(FailureKind.CONNECTION, f"connection failed ({cause})")


def too_large() -> TransportFailure:
    return TransportFailure(FailureKind.TOO_LARGE, f"the answer is larger than {MAX_BODY_BYTES // 2**20} MiB")


def unreadable(cause: str) -> TransportFailure:
    return TransportFailure(
        FailureKind.UNREADABLE, f"the request was sent, but its answer cannot be read ({cause})"
    )


def failure_of(  # noqa: PLR0911 - one answer per kind
    error: BaseException, timeout: float, *, answer_begun: bool = False
) -> TransportFailure | None:
    """What an exception from requests means on the wire; None when it is not one of requests'.

    ``answer_begun``: the answer's headers had come, so the TLS handshake was long done and a
    TLS error is the connection breaking off mid-answer.
    """
    chain = list(causes(error))
    cause = root_cause(error)
    tls = next((link for link in chain if isinstance(link, ssl.SSLError)), None)
    if isinstance(error, requests.Timeout):
        return timed_out(timeout)
    if tls is not None and answer_begun:
        return connection_failed(f"broken off while the answer was read: {cause}")
    if isinstance(tls, ssl.SSLCertVerificationError):
        return TransportFailure(FailureKind.TLS, cause)
    if isinstance(tls, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return connection_failed(f"closed by the server during TLS: {cause}")
    if tls is not None and tls.reason in _NOT_TLS_REASONS:
        return TransportFailure(FailureKind.NOT_TLS, cause)
    if tls is not None:
        return TransportFailure(FailureKind.HANDSHAKE, cause)
    if any(
        isinstance(link, urllib3.exceptions.DecodeError | urllib3.exceptions.InvalidHeader) for link in chain
    ):
        return unreadable(cause)
    if isinstance(error, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return connection_failed(cause)
    if isinstance(error, requests.RequestException):
        return TransportFailure(FailureKind.UNSENDABLE, cause)
    return None


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


class _FinalAnswer(http.client.HTTPResponse):
    """An answer read past any interim ``1xx`` answers (``102 Processing``, ``103 Early Hints``):
    http.client skips only ``100 Continue``, and would take the others for the answer."""

    def _read_status(self) -> tuple[str, int, str]:
        for _ in range(MAX_INTERIM_ANSWERS):
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not 100 <= status < 200 or status == 101:  # 101 switches protocols: it is final
                return version, status, reason
            http.client.parse_headers(self.fp)  # the interim answer's own headers
        raise http.client.HTTPException(f"more than {MAX_INTERIM_ANSWERS} interim answers")


class _Connection(urllib3.connection.HTTPConnection):
    response_class = _FinalAnswer


class _TlsConnection(urllib3.connection.HTTPSConnection):
    response_class = _FinalAnswer


class _Pool(urllib3.HTTPConnectionPool):
    ConnectionCls = _Connection


class _TlsPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TlsConnection


class _Adapter(HTTPAdapter):
    """requests' adapter, its connections reading answers as :class:`_FinalAnswer`."""

    _POOLS: ClassVar[dict[str, Any]] = {"http": _Pool, "https": _TlsPool}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(self._POOLS)
        return manager


class HttpTransport:
    """The network, through requests."""

    def __init__(self, base_uri: str, token: str):
        self.base_uri = base_uri.rstrip("/")
        self._session = requests.Session()
        self._session.auth = _TokenAuth(token)
        for scheme in ("http://", "https://"):
            self._session.mount(scheme, _Adapter())
        self._tls = urlsplit(self.base_uri).scheme == "https"
        self._proxies = None if self._tls else _NO_PROXY
        self._environment_checked = False

    def url(self, path: str) -> str:
        return self.base_uri + path

    def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        """One request and its whole answer within ``timeout`` seconds, or a TransportFailure."""
        if not self._environment_checked:
            self._check_ca_bundle()
            self._environment_checked = True
        try:
            return self._exchange_within(timeout, method, self.url(path), body, headers)
        except requests.Timeout:
            raise timed_out(timeout) from None
        except _ExchangeFailed as failed:
            if isinstance(failed.error, TransportFailure):  # an answer over the size cap
                raise failed.error from None
            failure = failure_of(failed.error, timeout, answer_begun=failed.answer_begun)
            if failure is None:
                raise failed.error from None  # not the wire's: a bug, reported as one
            raise failure from None

    def _check_ca_bundle(self) -> None:
        """A CA bundle named by the environment (as requests reads it) must be one ssl can load:
        otherwise requests fails with a bare OSError, or a TLS error that blames the server."""
        named = next(((name, os.environ[name]) for name in CA_BUNDLE_VARIABLES if os.environ.get(name)), None)
        if not self._tls or named is None:
            return
        variable, path = named
        try:
            context = ssl.create_default_context()
            if os.path.isdir(path):
                context.load_verify_locations(capath=path)
            else:
                context.load_verify_locations(cafile=path)
        except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
            plain = (
                error.strerror if isinstance(error, OSError) and not isinstance(error, ssl.SSLError) else None
            )
            raise CaBundleUnusable(variable, path, plain or str(error)) from None

    def _exchange_within(
        self, timeout: float, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        """The socket timeout alone bounds each read, not the answer: the exchange runs in a
        worker thread so the deadline holds however slowly the server sends. A worker left
        behind is a daemon, abandoned with its connection."""
        result: list[Answer] = []
        failure: list[_ExchangeFailed] = []

        def exchange() -> None:
            response = None
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
                failure.append(_ExchangeFailed(error, answer_begun=response is not None))

        worker = threading.Thread(target=exchange, name="http-exchange", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise requests.Timeout()
        if failure:
            raise failure[0]
        return result[0]


class _ExchangeFailed(Exception):
    """What ended an exchange in its worker, and whether the answer had begun to come."""

    def __init__(self, error: BaseException, *, answer_begun: bool):
        super().__init__(error)
        self.error = error
        self.answer_begun = answer_begun


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
    """A body's JSON; :class:`NotJson` or :class:`TooDeep` when it is not a sane JSON document.

    Read as RFC 8259 has it: ``NaN`` and ``Infinity`` (which Python would take) and numbers too
    large for a float are ``null``, so that no value read can make the JSON written invalid.
    """
    try:
        payload = json.loads(body, parse_constant=_no_number, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise NotJson() from None
    if _nested_deeper_than(payload, MAX_JSON_DEPTH):
        raise TooDeep()
    return payload


def _no_number(name: str) -> None:
    return None


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


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


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and each error it came from, outermost first (each once)."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def root_cause(error: BaseException) -> str:
    """The innermost error's words: what actually went wrong under requests' wrapping."""
    innermost = list(causes(error))[-1]
    return str(innermost) or type(innermost).__name__
