"""A local LaunchDarkly stand-in: the release-pipeline endpoints on loopback.

Speaks the contract the action relies on: ``GET /api/v2/flags/{p}/{f}/release``,
``PUT /api/v2/projects/{p}/flags/{f}/release/phases/{id}`` (set a phase's status) and
``PUT /api/v2/projects/{p}/flags/{f}/release`` (put a flag on a pipeline), raw-token
``Authorization`` (401), ``LD-API-Version: beta`` (403), 404 bodies, and Release bodies whose
state changes with each PUT. Tests script faults (any status, headers, body, delay, dropped
connection) and state changes between polls.

Two dialects:

- ``live`` behaves as the live service was recorded behaving (see the project's API notes),
  strictly: a new release's first phase is ``ready-to-start`` and the others ``not-started``;
  only ``{"status": "active"}`` is accepted, anything else gets the live service's exact 400;
  starting a phase completes the active one and makes the following one ``ready-to-start``; a
  completed phase cannot be reopened; ids are UUIDs; phases not yet reached come without
  ``_audiences`` and ``_creationDate``; ``_version`` starts at 0; an audience's own ``status``
  stays ``ready-to-start``; ``releaseStrategy`` is ``""`` or ``immediate-rollout``.
- ``spec`` follows the API specification where the live service is unknown: PascalCase
  statuses, every documented status accepted, every required field present.

Where neither the recording nor the spec says what the service answers (reopening a completed
phase, attaching a flag that already has a release), the stand-in refuses with a 400 of its own
wording, and the tests that rely on it do not depend on that wording.

It answers over HTTP on loopback (:meth:`StandIn.start`), or in memory as the client's
transport (:meth:`StandIn.transport`), so that tests of what the action decides need no socket;
scripted faults mean the same on both, except those only a socket can show (a trickle).

Tests change its state only through its verbs (project and flag are keyword arguments that
default to the demo's): ``start_phase``, ``set_phase``, ``advance_to``, ``rename_phase``,
``rename_release``, ``drop_audiences``, ``cancel``, ``reset``, ``on_read``, ``fail_next``.

Run it alone for demos: ``make standin``, or ``python tools/standin.py --help``.
"""

from __future__ import annotations

import argparse
import copy
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from standin_releases import EnvironmentReleases

JSON = dict[str, Any]
# Each phase state as each dialect spells it, keyed by the spec's name.
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
# The live service's answer to any status but "active", word for word (backticks, capital A).
ONLY_ACTIVE = "Phase status can only be manually updated to `Active`."
# What each dialect accepts in a write: the live service only "active" (recorded); the spec lists
# five PascalCase values, and LaunchDarkly's own prose for the endpoint names "active".
ACCEPTED = {
    "live": {"active": "Started"},
    "spec": {**{name: name for name in SPELLINGS["spec"]}, "active": "Started"},
}
DEMO_PIPELINE = "standard-pipeline"


@dataclass
class Fault:
    """One scripted answer, served instead of the real one."""

    status: int = 500
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering
    applied: bool = False  # with drop: carry the request out first, then hang up without answering
    trickle: float = 0.0  # seconds between single bytes of the answer (headers and body)
    trickle_body: bool = False  # with trickle: the headers at once, then the body byte by byte
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


def audience(
    audience_id: str, name: str, env_key: str, *, approval: bool = False, dialect: str = "spec"
) -> JSON:
    if dialect == "live":
        strategy = "" if approval else "immediate-rollout"
    else:
        strategy = "monitoredRelease" if approval else "immediate"
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
            "releaseStrategy": strategy,
            "requireApproval": approval,
            "notifyMemberIds": [],
            "notifyTeamKeys": [],
        },
        "segmentKeys": [],
        "status": "ready-to-start",
        "_ruleIds": [],
    }


def _live_id(spec_id: str) -> str:
    """The live service's ids are UUIDs; derived from the spec ids so that tests can name them."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"standin/{spec_id}"))


# The demo pipeline: (spec id, name, audiences as (spec id, name, environment, needs approval)).
DEMO_PHASES = [
    ("1234a56b7c89d012345e6701", "Testing", [("aud-test", "Test", "test", False)]),
    ("1234a56b7c89d012345e6702", "QA", [("aud-qa", "QA", "qa", True)]),
    (
        "1234a56b7c89d012345e6703",
        "Production",
        [
            ("aud-prod-eu", "Production EU", "prod-eu", False),
            ("aud-prod-us", "Production US", "prod-us", False),
        ],
    ),
]


def demo_release(dialect: str = "spec", pipeline_key: str = DEMO_PIPELINE) -> JSON:
    """A three-phase release as a new one looks: Testing, QA, Production, nothing started.

    The live service marks a new release's first phase ``ready-to-start``; the spec's example
    has no such rule, so there every phase starts ``NotStarted``.
    """
    names = SPELLINGS[dialect]
    ids: Callable[[str], str] = _live_id if dialect == "live" else str
    phases = []
    for index, (phase_id, name, audiences) in enumerate(DEMO_PHASES):
        first_live = dialect == "live" and index == 0
        phases.append(
            {
                "_id": ids(phase_id),
                "_name": name,
                "complete": False,
                "_creationDate": 1684262711507,
                "_audiences": [
                    audience(ids(aud_id), aud, env, approval=approval, dialect=dialect)
                    for aud_id, aud, env, approval in audiences
                ],
                "status": names["ReadyToStart" if first_live else "NotStarted"],
                "started": False,
                "configuration": {},
            }
        )
    return {
        "name": "Standard release pipeline",
        "releasePipelineKey": pipeline_key,
        "releasePipelineDescription": "Test, then QA, then production",
        "phases": phases,
        "_version": 0 if dialect == "live" else 1,
        "_links": {},
        "_releaseVariationId": "variation-true",
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: fault tests hang up mid-answer (timeouts, oversized bodies, TLS refusals)."""


class StandIn:
    """State and behaviour; the HTTP handler below only translates to and from it."""

    def __init__(self, token: str = "api-test-token", dialect: str = "spec"):
        self.token = token
        self.dialect = dialect
        self.releases: dict[tuple[str, str], JSON] = {}
        # Flags that exist without a release, and the pipelines a flag can be put on.
        self.flags: set[tuple[str, str]] = set()
        self.pipelines: dict[tuple[str, str], Callable[[], JSON]] = {}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self._reads: dict[int, Callable[[], None]] = {}
        # Flags and their environment releases (the second action's endpoints); its verbs are
        # this attribute's, e.g. ``standin.environments.add_flag()``.
        self.environments = EnvironmentReleases()
        # Pipelines that are legacy ones (``_isLegacy``), by (project, key).
        self.legacy_pipelines: set[tuple[str, str]] = set()
        self.lock = threading.RLock()
        self._gets = 0
        self._server: _Server | None = None
        self._scheme = "http"
        self._thread: threading.Thread | None = None

    # -- set-up from tests ------------------------------------------------------------------

    def add_release(
        self, project: str = "demo", flag: str = "new-checkout", release: JSON | None = None
    ) -> JSON:
        with self.lock:
            self.flags.add((project, flag))
            self.releases[(project, flag)] = release or demo_release(self.dialect)
            return self.releases[(project, flag)]

    def add_flag(self, project: str, flag: str) -> None:
        """A flag that exists but is on no release pipeline yet."""
        with self.lock:
            self.flags.add((project, flag))

    def add_pipeline(self, project: str, key: str = DEMO_PIPELINE) -> None:
        """A release pipeline of ``project`` that a flag can be put on (the demo's three phases)."""
        with self.lock:
            self.pipelines[(project, key)] = lambda: demo_release(self.dialect, key)

    def reset(self) -> None:
        """As new: the demo release alone, no requests recorded, no faults or reads scripted."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.releases.clear()
            self.flags.clear()
            self._reads.clear()
            self._gets = 0
            self.environments = EnvironmentReleases()
            self.add_release()

    def release(self, *, project: str = "demo", flag: str = "new-checkout") -> JSON:
        """The release as stored (a copy: change it with the verbs)."""
        with self.lock:
            return copy.deepcopy(self.releases[(project, flag)])

    def _phase(self, name: str, project: str, flag: str) -> JSON:
        return next(p for p in self.releases[(project, flag)]["phases"] if p["_name"] == name)

    def phase(self, name: str, *, project: str = "demo", flag: str = "new-checkout") -> JSON:
        """A phase as stored, by name (a copy)."""
        with self.lock:
            return copy.deepcopy(self._phase(name, project, flag))

    def phase_id(self, name: str, *, project: str = "demo", flag: str = "new-checkout") -> str:
        return str(self.phase(name, project=project, flag=flag)["_id"])

    def set_phase(self, name: str, status: str, *, project: str = "demo", flag: str = "new-checkout") -> None:
        """Move a phase to ``status`` (spec spelling) as LaunchDarkly would show it."""
        with self.lock:
            self._apply(self._phase(name, project, flag), status)

    def start_phase(self, name: str, *, project: str = "demo", flag: str = "new-checkout") -> None:
        """Start a phase as a successful PUT would (the running one completes, the next readies)."""
        with self.lock:
            self._start(self.releases[(project, flag)], self._phase(name, project, flag))

    def advance_to(self, name: str, *, project: str = "demo", flag: str = "new-checkout") -> None:
        """Start every phase before ``name`` in order, as the steps of earlier jobs would have."""
        with self.lock:
            for phase in self.releases[(project, flag)]["phases"]:
                if phase["_name"] == name:
                    return
                self.start_phase(phase["_name"], project=project, flag=flag)

    def rename_phase(
        self,
        name: str,
        *,
        to: str,
        new_id: str | None = None,
        audience_name: str | None = None,
        project: str = "demo",
        flag: str = "new-checkout",
    ) -> JSON:
        """Give a phase another name (and optionally another id, and its first audience another
        name), as someone editing the pipeline might; the phase as it now is."""
        with self.lock:
            phase = self._phase(name, project, flag)
            phase["_name"] = to
            if new_id is not None:
                phase["_id"] = new_id
            if audience_name is not None:
                phase["_audiences"][0]["name"] = audience_name
            return copy.deepcopy(phase)

    def set_audience_environment(
        self, phase: str, index: int, environment: str, *, project: str = "demo", flag: str = "new-checkout"
    ) -> None:
        """Point one of a phase's audiences at another environment."""
        with self.lock:
            self._phase(phase, project, flag)["_audiences"][index]["environment"]["key"] = environment

    def rename_release(
        self, *, to: str, description: str | None = None, project: str = "demo", flag: str = "new-checkout"
    ) -> None:
        with self.lock:
            release = self.releases[(project, flag)]
            release["name"] = to
            if description is not None:
                release["releasePipelineDescription"] = description

    def drop_audiences(self, name: str, *, project: str = "demo", flag: str = "new-checkout") -> None:
        """Serve a phase without its audience list, as the live service does for phases not reached."""
        with self.lock:
            self._phase(name, project, flag).pop("_audiences", None)

    def cancel(
        self, *, at: int = 1_700_000_000_000, project: str = "demo", flag: str = "new-checkout"
    ) -> None:
        """Cancel the release (``_canceledAt``, epoch ms)."""
        with self.lock:
            self.releases[(project, flag)]["_canceledAt"] = at

    def remove_release(self, *, project: str = "demo", flag: str = "new-checkout") -> None:
        """Take the flag off its pipeline: the flag stays, with no release."""
        with self.lock:
            self.releases.pop((project, flag), None)
            self.flags.add((project, flag))

    def move_to_pipeline(self, key: str, *, project: str = "demo", flag: str = "new-checkout") -> None:
        """Put the flag on pipeline ``key`` (one added with :meth:`add_pipeline`), as another job might."""
        with self.lock:
            self.releases[(project, flag)] = self.pipelines[(project, key)]()

    def on_read(self, number: int, change: Callable[[], None]) -> None:
        """Before answering the ``number``-th read of a release (from 1, counted from now: a
        pipeline release, or an environment release or their list), make ``change``: how a
        test says what happens in LaunchDarkly while a step polls."""
        with self.lock:
            self._reads[self._gets + number] = change

    def keep_the_next_put(self, *, project: str = "demo", flag: str = "new-checkout") -> None:
        """Answer the next PUT 200 with the release as it stands, changing nothing: LaunchDarkly
        took the request, but its answer does not show it (yet)."""
        with self.lock:
            unchanged = json.dumps(self.served(self.releases[(project, flag)])).encode()
        self.fail_next(Fault(200, unchanged, method="PUT"))

    def fail_next(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def clear_faults(self) -> None:
        """Forget the scripted faults not yet served."""
        with self.lock:
            self.faults.clear()

    @property
    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    def transport(self, base_uri: str, token: str) -> Any:
        """This stand-in as the client's transport, answering in memory (see :class:`InMemory`)."""
        return InMemory(self, base_uri, token)

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

    def handle(  # noqa: PLR0911 - one answer per route
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, JSON | None]:
        if headers.get("authorization") != self.token:
            return 401, _error("unauthorized", "Invalid access token")
        if headers.get("ld-api-version") != "beta":
            return 403, _error("forbidden", "This resource is in beta; set LD-API-Version: beta")
        path, _, query = raw_path.partition("?")
        segments = [unquote(part) for part in path.strip("/").split("/")]
        if method == "GET" and _reads_a_release(segments):
            self._read()
        answered = self.environments.handle(method, segments, parse_qs(query), body)
        if answered is not None:
            return answered
        with self.lock:
            match segments:
                case ["api", "v2", "flags", project, flag, "release"] if method == "GET":
                    release = self.releases.get((project, flag))
                    return (
                        (200, self.served(release))
                        if release
                        else (404, _error("not_found", "Unknown resource"))
                    )
                case ["api", "v2", "projects", project, "release-pipelines", key] if method == "GET":
                    return self._pipeline(project, key)
                case ["api", "v2", "projects", project, "flags", flag, "release"] if method == "PUT":
                    return self._attach(project, flag, body)
                case ["api", "v2", "projects", project, "flags", flag, "release", "phases", phase_id] if (
                    method == "PUT"
                ):
                    return self._update(project, flag, phase_id, body)
            return 404, _error("not_found", "Unknown resource")

    def _read(self) -> None:
        """A release is read: make the change a test scripted for this read, if any."""
        with self.lock:
            self._gets += 1
            change = self._reads.pop(self._gets, None)
        if change is not None:
            change()

    def served(self, release: JSON) -> JSON:
        """The release as this dialect's service shows it: the live one leaves out the audiences
        and creation date of phases not yet reached (recorded), though the spec requires both."""
        shown = copy.deepcopy(release)
        if self.dialect == "live":
            for phase in shown["phases"]:
                if phase["status"] == "not-started":
                    phase.pop("_audiences", None)
                    phase.pop("_creationDate", None)
        return shown

    def mark_legacy(self, project: str = "demo", key: str = DEMO_PIPELINE) -> None:
        """Make a pipeline a legacy one: the spec updates its releases with a PATCH, not the
        phase PUT. What the live service answers such a PUT is not recorded: the stand-in
        refuses it with a 400 of its own words."""
        with self.lock:
            self.legacy_pipelines.add((project, key))

    def _pipeline(self, project: str, key: str) -> tuple[int, JSON | None]:
        """``GET /api/v2/projects/{p}/release-pipelines/{key}``, the fields the action reads."""
        known = {pipeline for _, pipeline in self.pipelines} | {
            release["releasePipelineKey"] for (owner, _), release in self.releases.items() if owner == project
        }
        if key not in known:
            return 404, _error("not_found", "Unknown release pipeline")
        release = demo_release(self.dialect, key)
        phases = [
            {"id": phase["_id"], "name": phase["_name"], "audiences": []} for phase in release["phases"]
        ]
        return 200, {
            "key": key,
            "name": release["name"],
            "description": release["releasePipelineDescription"],
            "createdAt": 1684262711507,
            "phases": phases,
            "tags": [],
            "_version": 1,
            "_isLegacy": (project, key) in self.legacy_pipelines,
        }

    def _attach(self, project: str, flag: str, body: bytes) -> tuple[int, JSON | None]:
        """Put a flag on a release pipeline: ``{"releasePipelineKey", "releaseVariationId"?}``."""
        try:
            payload = json.loads(body)
            key = payload["releasePipelineKey"]
        except (ValueError, KeyError, TypeError):
            return 400, _error("invalid_request", "releasePipelineKey is required")
        if (project, flag) not in self.flags:
            return 404, _error("not_found", "Unknown resource")
        make = self.pipelines.get((project, str(key)))
        if make is None:
            return 404, _error("not_found", "Unknown release pipeline")
        if (project, flag) in self.releases:
            # Not recorded: the stand-in's own words for a flag that already has a release.
            return 400, _error("invalid_request", "Flag already has a release")
        release = make()
        if "releaseVariationId" in payload:
            release["_releaseVariationId"] = payload["releaseVariationId"]
        self.releases[(project, flag)] = release
        return 200, self.served(release)

    def _update(self, project: str, flag: str, phase_id: str, body: bytes) -> tuple[int, JSON | None]:
        release = self.releases.get((project, flag))
        phase = next((p for p in release["phases"] if p["_id"] == phase_id), None) if release else None
        if release is None or phase is None:
            return 404, _error("not_found", "release or phase not found")
        try:
            payload = json.loads(body)
            requested = payload["status"]
        except (ValueError, KeyError, TypeError):
            return 400, _error("invalid_request", "status is required")
        if (project, release["releasePipelineKey"]) in self.legacy_pipelines:
            # Not recorded: the stand-in's own words for a PUT to a legacy pipeline's release.
            return 400, _error("invalid_request", "release belongs to a legacy pipeline")
        status = ACCEPTED[self.dialect].get(requested) if isinstance(requested, str) else None
        refusal = self._refusal(phase, status, payload.get("audiences") or [])
        if refusal is not None:
            return 400, _error("invalid_request", refusal)
        if status == "Started":
            self._start(release, phase)
        else:
            self._apply(phase, str(status))
        release["_version"] += 1
        return 200, self.served(release)

    def _refusal(self, phase: JSON, status: str | None, audiences: list[JSON]) -> str | None:
        """Why a status update is refused (HTTP 400), or None."""
        if status is None:
            return ONLY_ACTIVE if self.dialect == "live" else "invalid status"
        known = {aud["_id"] for aud in phase["_audiences"]}
        unknown = [entry.get("audienceId") for entry in audiences if entry.get("audienceId") not in known]
        if unknown:
            return f"unknown audience {unknown[0]}"
        if phase["complete"]:
            # Recorded: a completed phase is never reopened. Its wording was not recorded.
            return "A completed phase cannot be changed"
        return None

    def _start(self, release: JSON, phase: JSON) -> None:
        """Start ``phase``: the phase that was running completes, the following one gets ready."""
        phases = release["phases"]
        for earlier in phases[: phases.index(phase)]:
            if earlier["started"] and not earlier["complete"]:
                self._apply(earlier, "Complete")
        self._apply(phase, "Started")
        following = phases[phases.index(phase) + 1 :]
        if following and following[0]["status"] == SPELLINGS[self.dialect]["NotStarted"]:
            self._apply(following[0], "ReadyToStart")

    def _apply(self, phase: JSON, status: str) -> None:
        phase["status"] = SPELLINGS[self.dialect][status]
        now = int(time.time() * 1000)
        if status in ("Started", "Complete"):
            phase["started"] = True
            phase.setdefault("_startedDate", now)
        if status == "Complete":
            phase["complete"] = True
            phase["_completionDate"] = now
        if status in ("NotStarted", "ReadyToStart"):
            phase["started"] = False
        # A paused phase keeps "started": it did start once.

    def next_fault(self, method: str) -> Fault | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.method in (None, method):
                    return self.faults.pop(index)
        return None

    def receive(
        self, method: str, path: str, headers: dict[str, str], body: bytes, wait: Callable[[float], None]
    ) -> Reply:
        """Record a request and answer it: by the next scripted fault for its method, or by the
        stand-in's own state. ``wait`` is how a fault's delay passes (a sleep, over HTTP)."""
        record = Recorded(method, path, headers, body)
        with self.lock:
            self.requests.append(record)
        fault = self.next_fault(method)
        if fault is None:
            status, answer = self.handle(method, path, headers, body)
            payload = json.dumps(answer).encode() if answer is not None else b""
            record.status, record.response = status, payload
            return Reply(status, payload, {}, record)
        record.scripted = True
        wait(fault.delay)
        if fault.applied:
            self.handle(method, path, headers, body)
        payload = fault.body if fault.body is not None else json.dumps(_error("internal", "Fault")).encode()
        if not fault.drop:
            record.status, record.response = fault.status, payload
        return Reply(fault.status, payload, fault.headers, record, fault)


@dataclass
class Reply:
    """What the stand-in answers a request with; ``fault`` when a scripted one made it."""

    status: int
    payload: bytes
    headers: dict[str, str]
    record: Recorded
    fault: Fault | None = None


class InMemory:
    """The stand-in as the client's transport: each request handed to it in memory, with the
    token the transport was made with, the way :class:`HttpTransport` would send it.

    Faults keep their meaning: a dropped connection and a delay past the attempt's timeout fail
    the attempt as the network would; an answer over the transport's size cap is refused as
    over HTTP. A trickle only a socket can show: its time is counted against the timeout.
    """

    def __init__(self, standin: StandIn, base_uri: str, token: str):
        self.base_uri = base_uri.rstrip("/")
        self._standin = standin
        self._token = token

    def url(self, path: str) -> str:
        return self.base_uri + path

    def send(self, method: str, path: str, body: bytes | None, headers: Any, timeout: float) -> Any:
        from requests.structures import CaseInsensitiveDict

        from ld_release_phase.plumbing import transport

        def wait(delay: float) -> None:
            if delay >= timeout:
                raise transport.timed_out(timeout)

        sent = {name.lower(): value for name, value in headers.items()} | {"authorization": self._token}
        if body:
            sent["content-length"] = str(len(body))
        reply = self._standin.receive(method, path, sent, body or b"", wait)
        fault = reply.fault
        if fault is not None and fault.drop:
            raise transport.connection_failed("the stand-in closed the connection without answering")
        if fault is not None and fault.trickle and fault.trickle * (len(reply.payload) + 64) >= timeout:
            raise transport.timed_out(timeout)
        if len(reply.payload) > transport.MAX_BODY_BYTES:
            raise transport.too_large()
        answer_headers = {"Content-Type": "application/json", "Content-Length": str(len(reply.payload))}
        return transport.Answer(
            reply.status, CaseInsensitiveDict(answer_headers | reply.headers), reply.payload
        )


def _reads_a_release(segments: list[str]) -> bool:
    """A read of a flag's pipeline release, or of its environment releases (one, or the list)."""
    match segments:
        case ["api", "v2", "flags", _, _, "release"]:
            return True
        case ["api", "v2", "projects", _, "flags", _, "environments", _, "releases", *rest]:
            return len(rest) <= 1
    return False


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

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.standin.receive(method, self.path, headers, body, time.sleep)
        fault = reply.fault
        if fault is not None and fault.drop:
            self.close_connection = True
            self.connection.shutdown(2)
        elif fault is not None and fault.trickle:
            self._trickle(fault, reply.payload)
        else:
            self._send(reply.status, reply.payload, reply.headers)

    def _trickle(self, fault: Fault, payload: bytes) -> None:
        """Answer a byte at a time, as a slow or hostile server would; stop when the client goes."""
        head = (
            f"HTTP/1.1 {fault.status} Slow\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        slow = payload if fault.trickle_body else head + payload
        self.close_connection = True
        try:
            if fault.trickle_body:
                self.wfile.write(head)
            for byte in slow:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(fault.trickle)
        except OSError:
            pass

    def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
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
    parser.add_argument("--dialect", choices=sorted(SPELLINGS), default="live")
    parser.add_argument(
        "--new-flag", default="", help="also a flag with no release yet, to put on the pipeline"
    )
    args = parser.parse_args()
    standin = StandIn(token=args.token, dialect=args.dialect)
    standin.add_release(args.project, args.flag)
    standin.add_pipeline(args.project)
    if args.new_flag:
        standin.add_flag(args.project, args.new_flag)
    # The same flag for the environment-release action: on in production, a rule to release on.
    standin.environments.add_flag_with_rule(project=args.project, flag=args.flag)
    standin.start(args.port, args.host, (args.tls_cert, args.tls_key) if args.tls_cert else None)
    print(f"LaunchDarkly stand-in on {standin.url} (project {args.project}, flag {args.flag})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
