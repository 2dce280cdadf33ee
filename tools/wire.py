"""Raw-socket servers on loopback, for what happens on the wire that an HTTP server library will
not do: cut a TLS handshake (FIN or reset), answer TLS in plain HTTP, send interim ``1xx``
answers before the real one, a corrupt gzip body, or two different ``Content-Length`` headers.

A :class:`WireServer` takes its connections one at a time and answers each by the next of its
scripted :class:`Act` (then by ``then``). Whatever a request asks is handed to a
:class:`~standin.StandIn`, so its state changes with each PUT and its recorded requests and
scripted faults are the ones the tests read; only how the answer travels is the act's. Every
answer closes its connection, so each request is one connection and one act.

Bounded and self-stopping: it listens on 127.0.0.1 alone, every socket operation times out after
a few seconds, and it stops itself after ``lifetime`` seconds whatever the client does.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from standin import StandIn

_SOCKET_TIMEOUT = 5.0
_MAX_HEAD = 64 * 1024
_INTERIM_REASONS = {100: "Continue", 102: "Processing", 103: "Early Hints"}


@dataclass(frozen=True)
class Act:
    """What the server does with one connection.

    ``handshake`` (on a TLS server): ``complete``; ``cut``, the ClientHello read and the
    connection closed (FIN); ``reset``, closed with a reset (RST); ``plain``, answered with a
    plain-HTTP error, as a plain-HTTP server on an https address does; ``disagree``, TLS spoken
    but with nothing the client can agree to (TLS 1.2, PSK ciphers only). ``interim``: the 1xx
    answers sent before the real one. ``body``: ``as is``; ``corrupt gzip``, marked gzip but not
    gzip after its first bytes; ``two lengths``, two different ``Content-Length`` headers;
    ``broken tls``, the headers, then a TLS record that cannot be decrypted where the body should be.
    """

    handshake: str = "complete"
    interim: tuple[int, ...] = ()
    body: str = "as is"


ANSWER = Act()
CUT_HANDSHAKE = Act(handshake="cut")
RESET_HANDSHAKE = Act(handshake="reset")
PLAIN_ON_TLS = Act(handshake="plain")
DISAGREEING_TLS = Act(handshake="disagree")
CORRUPT_GZIP = Act(body="corrupt gzip")
TWO_LENGTHS = Act(body="two lengths")
BROKEN_TLS_BODY = Act(body="broken tls")


def interim(*statuses: int) -> Act:
    """An answer preceded by these interim answers (``103 Early Hints``, ``102 Processing``)."""
    return Act(interim=statuses)


class WireServer:
    """One loopback server answering connection *n* by ``acts[n]``, then by ``then``."""

    def __init__(
        self,
        standin: StandIn,
        acts: list[Act],
        *,
        tls: tuple[str, str] | None = None,
        then: Act = ANSWER,
        lifetime: float = 60.0,
    ):
        self._standin = standin
        self._acts = list(acts)
        self._then = then
        self._context: ssl.SSLContext | None = None
        self._disagreeing: ssl.SSLContext | None = None
        if tls is not None:
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.load_cert_chain(*tls)
            self._disagreeing = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._disagreeing.load_cert_chain(*tls)
            self._disagreeing.maximum_version = ssl.TLSVersion.TLSv1_2
            self._disagreeing.set_ciphers("PSK")
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._ends = time.monotonic() + lifetime
        self._stopped = threading.Event()
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, name="wire-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        port = self._listener.getsockname()[1]
        # The test certificate names localhost; a plain server is reached by its address.
        return f"https://localhost:{port}" if self._context else f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=_SOCKET_TIMEOUT + 1)
        self._listener.close()

    def __enter__(self) -> WireServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stopped.is_set() and time.monotonic() < self._ends:
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            act = self._acts[self.connections] if self.connections < len(self._acts) else self._then
            self.connections += 1
            connection.settimeout(_SOCKET_TIMEOUT)
            try:
                self._answer(connection, act)
            except OSError:
                pass  # the client went away: its own test says what that means
            finally:
                connection.close()

    def _answer(self, connection: socket.socket, act: Act) -> None:
        stream: Any = connection
        if self._context is not None and self._disagreeing is not None:
            if act.handshake == "disagree":
                with contextlib.suppress(ssl.SSLError):
                    self._disagreeing.wrap_socket(connection, server_side=True)
                return
            if act.handshake != "complete":
                self._spoil_handshake(connection, act.handshake)
                return
            stream = self._context.wrap_socket(connection, server_side=True)
        request = _read_request(stream)
        if request is None:
            return
        method, path, headers, body = request
        reply = self._standin.receive(method, path, headers, body, time.sleep)
        if reply.fault is not None and reply.fault.drop:
            return
        head = [f"HTTP/1.1 {reply.status} {'OK' if reply.status < 300 else 'Error'}"]
        head += ["Content-Type: application/json", "Connection: close"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        payload = reply.payload
        if act.body == "corrupt gzip":
            payload = gzip.compress(payload)[:10] + b"this is not deflate data" * 4
            head.append("Content-Encoding: gzip")
        if act.body == "two lengths":
            head += [f"Content-Length: {len(payload)}", f"Content-Length: {len(payload) + 7}"]
        else:
            head.append(f"Content-Length: {len(payload)}")
        for status in act.interim:
            stream.sendall(f"HTTP/1.1 {status} {_INTERIM_REASONS.get(status, 'Interim')}\r\n".encode())
            stream.sendall(b"Link: </style.css>; rel=preload\r\n\r\n")
        if act.body == "broken tls":
            stream.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            time.sleep(0.05)  # the headers arrive first, as their own record
            # An application-data record of the right shape whose contents cannot be decrypted.
            os.write(stream.fileno(), b"\x17\x03\x03\x00\x40" + bytes(64))
            return
        stream.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)

    @staticmethod
    def _spoil_handshake(connection: socket.socket, how: str) -> None:
        connection.recv(16 * 1024)  # the ClientHello
        if how == "reset":
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif how == "plain":
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            connection.shutdown(socket.SHUT_WR)


def _read_request(stream: Any) -> tuple[str, str, dict[str, str], bytes] | None:
    """One request: its method, path, headers (lower-cased names) and body; None if the client
    left before sending it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = stream.recv(4096)
        if not chunk or len(data) > _MAX_HEAD:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(rest) < length:
        chunk = stream.recv(length - len(rest))
        if not chunk:
            return None
        rest += chunk
    return method, path, headers, rest
