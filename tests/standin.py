"""A local LaunchDarkly stand-in: the release-pipeline endpoints on loopback.

Speaks the contract the action relies on: ``GET /api/v2/flags/{p}/{f}/release`` and
``PUT /api/v2/projects/{p}/flags/{f}/release/phases/{id}``, raw-token ``Authorization`` (401),
``LD-API-Version: beta`` (403), 404 bodies, and Release bodies whose state changes with each PUT
the way the live service behaves (starting a phase completes the one before; a completed phase
cannot be reopened). Status spelling is the spec's (``Started``) or the live service's
(``active``). Tests script faults (any status, headers, body, delay, dropped connection) and
state changes between polls.

Run it alone for demos: ``python tests/standin.py --port 8765 --token api-demo``.
"""

from __future__ import annotations

import argparse
import copy
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

JSON = dict[str, Any]
SPELLINGS = {
    "spec": {
        "NotStarted": "NotStarted",
        "ReadyToStart": "ReadyToStart",
        "Started": "Started",
        "Paused": "Paused",
        "Complete": "Complete",
    },
    "live": {
        "NotStarted": "not-started",
        "ReadyToStart": "ready-to-start",
        "Started": "active",
        "Paused": "paused",
        "Complete": "completed",
    },
}
_FOLDED = {
    "notstarted": "NotStarted",
    "readytostart": "ReadyToStart",
    "started": "Started",
    "active": "Started",
    "paused": "Paused",
    "complete": "Complete",
    "completed": "Complete",
}


@dataclass
class Fault:
    """One scripted answer, served instead of the real one."""

    status: int = 500
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering
    method: str | None = None  # only for this method; None: the next request of any method


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response: bytes = b""
    scripted: bool = False  # answered by a Fault, not by the stand-in's own state

    def json(self) -> Any:
        return json.loads(self.body)


def audience(audience_id: str, name: str, env_key: str, *, approval: bool = False) -> JSON:
    return {
        "_id": audience_id,
        "name": name,
        "_links": {},
        "environment": {
            "_links": {
                "self": {"href": f"/api/v2/projects/demo/environments/{env_key}", "type": "application/json"}
            },
            "key": env_key,
            "name": env_key.title(),
            "color": "F5A623",
        },
        "configuration": {
            "releaseStrategy": "monitoredRelease" if approval else "immediate",
            "requireApproval": approval,
            "notifyMemberIds": [],
            "notifyTeamKeys": [],
        },
        "segmentKeys": [],
        "status": "ready-to-start",
        "_ruleIds": [],
    }


def demo_release(spelling: str = "spec") -> JSON:
    """A three-phase pipeline, nothing started: Testing, QA, Production."""
    not_started = SPELLINGS[spelling]["NotStarted"]
    phases = [
        ("1234a56b7c89d012345e6701", "Testing", [audience("aud-test", "Test", "test")]),
        ("1234a56b7c89d012345e6702", "QA", [audience("aud-qa", "QA", "qa", approval=True)]),
        (
            "1234a56b7c89d012345e6703",
            "Production",
            [
                audience("aud-prod-eu", "Production EU", "prod-eu"),
                audience("aud-prod-us", "Production US", "prod-us"),
            ],
        ),
    ]
    return {
        "name": "Standard release pipeline",
        "releasePipelineKey": "standard-pipeline",
        "releasePipelineDescription": "Test, then QA, then production",
        "phases": [
            {
                "_id": phase_id,
                "_name": name,
                "complete": False,
                "_creationDate": 1684262711507,
                "_audiences": audiences,
                "status": not_started,
                "started": False,
                "configuration": {},
            }
            for phase_id, name, audiences in phases
        ],
        "_version": 1,
        "_links": {},
        "_releaseVariationId": "variation-true",
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: fault tests hang up mid-answer (timeouts, oversized bodies, TLS refusals)."""


class StandIn:
    """State and behaviour; the HTTP handler below only translates to and from it."""

    def __init__(self, token: str = "api-test-token", spelling: str = "spec"):
        self.token = token
        self.spelling = spelling
        self.releases: dict[tuple[str, str], JSON] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.on_get: Callable[[StandIn, int], None] | None = None
        self.lock = threading.RLock()
        self._gets = 0
        self._server: _Server | None = None
        self._scheme = "http"
        self._thread: threading.Thread | None = None

    # -- set-up from tests ------------------------------------------------------------------

    def add_release(self, project: str, flag: str, release: JSON | None = None) -> JSON:
        with self.lock:
            self.releases[(project, flag)] = release or demo_release(self.spelling)
            return self.releases[(project, flag)]

    def phase(self, project: str, flag: str, name: str) -> JSON:
        with self.lock:
            return next(p for p in self.releases[(project, flag)]["phases"] if p["_name"] == name)

    def set_phase(self, project: str, flag: str, name: str, status: str) -> None:
        """Move a phase to ``status`` (spec spelling) as LaunchDarkly would show it."""
        with self.lock:
            self._apply(self.phase(project, flag, name), status)

    def fail_next(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    @property
    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    # -- server lifecycle -------------------------------------------------------------------

    def start(self, port: int = 0, host: str = "127.0.0.1", tls: tuple[str, str] | None = None) -> str:
        """Serve on ``host:port``; with ``tls`` (certificate, key files), over HTTPS."""
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = _Server((host, port), handler)
        self._scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        return f"{self._scheme}://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- behaviour --------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, JSON | None]:
        if headers.get("authorization") != self.token:
            return 401, _error("unauthorized", "Invalid access token")
        if headers.get("ld-api-version") != "beta":
            return 403, _error("forbidden", "This resource is in beta; set LD-API-Version: beta")
        segments = [unquote(part) for part in raw_path.split("?", 1)[0].strip("/").split("/")]
        with self.lock:
            match segments:
                case ["api", "v2", "flags", project, flag, "release"] if method == "GET":
                    self._gets += 1
                    if self.on_get is not None:
                        self.on_get(self, self._gets)
                    release = self.releases.get((project, flag))
                    return (
                        (200, copy.deepcopy(release))
                        if release
                        else (404, _error("not_found", "Unknown resource"))
                    )
                case ["api", "v2", "projects", project, "flags", flag, "release", "phases", phase_id] if (
                    method == "PUT"
                ):
                    return self._update(project, flag, phase_id, body)
            return 404, _error("not_found", "Unknown resource")

    def _update(self, project: str, flag: str, phase_id: str, body: bytes) -> tuple[int, JSON | None]:
        release = self.releases.get((project, flag))
        if release is None:
            return 404, _error("not_found", "Unknown resource")
        phase = next((p for p in release["phases"] if p["_id"] == phase_id), None)
        if phase is None:
            return 404, _error("not_found", "release or phase not found")
        try:
            payload = json.loads(body)
            status = _FOLDED[str(payload["status"]).replace("-", "").replace("_", "").lower()]
        except (ValueError, KeyError, TypeError):
            return 400, _error("invalid_request", "status must be a valid phase status")
        known = {aud["_id"] for aud in phase["_audiences"]}
        for entry in payload.get("audiences") or []:
            if entry.get("audienceId") not in known:
                return 400, _error("invalid_request", f"unknown audience {entry.get('audienceId')}")
        if phase["complete"] and status != "Complete":
            return 400, _error("invalid_request", "Phase status can only be manually updated to Active")
        if status == "Started":
            # The live service completes the active phase when a later one starts.
            for earlier in release["phases"]:
                if earlier is phase:
                    break
                if earlier["started"] and not earlier["complete"]:
                    self._apply(earlier, "Complete")
        self._apply(phase, status)
        release["_version"] += 1
        return 200, copy.deepcopy(release)

    def _apply(self, phase: JSON, status: str) -> None:
        phase["status"] = SPELLINGS[self.spelling][status]
        now = int(time.time() * 1000)
        if status in ("Started", "Complete"):
            phase["started"] = True
            phase.setdefault("_startedDate", now)
        if status == "Complete":
            phase["complete"] = True
            phase["_completionDate"] = now
        if status in ("NotStarted", "ReadyToStart"):
            phase["started"] = False

    def next_fault(self, method: str) -> Fault | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.method in (None, method):
                    return self.faults.pop(index)
        return None


def _error(code: str, message: str) -> JSON:
    return {"code": code, "message": message, "id": "req-0123456789"}


class _Handler(BaseHTTPRequestHandler):
    standin: StandIn
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle's algorithm and delayed
    # ACKs add ~40 ms to each answer and would swamp any timing taken against the stand-in.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the recorded requests instead."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        record = Recorded(method, self.path, headers, body)
        standin = self.standin
        with standin.lock:
            standin.requests.append(record)
        fault = standin.next_fault(method)
        if fault is not None:
            record.scripted = True
            time.sleep(fault.delay)
            if fault.drop:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            payload = (
                fault.body if fault.body is not None else json.dumps(_error("internal", "Fault")).encode()
            )
            self._send(fault.status, payload, fault.headers, record)
            return
        status, answer = standin.handle(method, self.path, headers, body)
        self._send(status, json.dumps(answer).encode() if answer is not None else b"", {}, record)

    def _send(self, status: int, payload: bytes, headers: dict[str, str], record: Recorded) -> None:
        record.status, record.response = status, payload
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a LaunchDarkly stand-in on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="and this private key (PEM)")
    parser.add_argument("--token", default="api-demo-token")
    parser.add_argument("--project", default="demo")
    parser.add_argument("--flag", default="new-checkout")
    parser.add_argument("--spelling", choices=sorted(SPELLINGS), default="live")
    args = parser.parse_args()
    standin = StandIn(token=args.token, spelling=args.spelling)
    standin.add_release(args.project, args.flag)
    standin.start(args.port, args.host, (args.tls_cert, args.tls_key) if args.tls_cert else None)
    print(f"LaunchDarkly stand-in on {standin.url} (project {args.project}, flag {args.flag})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
