"""Environment-release traffic checked against LaunchDarkly's generated models (tests only).

For each recorded request to the environment-release endpoints (and the flag read they need):
the body sent must survive a round trip through the request model (``from_dict`` copies only
the fields LaunchDarkly knows, so a lost field is one the API would silently ignore), and every
answer not scripted must validate with the model the spec names for it, keeping every field it
carries. Requests to other paths are left to the checks of their own endpoints.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol


class Record(Protocol):
    """What the stand-in records of a request (``standin.Recorded``)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    @property
    def status(self) -> int: ...
    @property
    def response(self) -> bytes: ...
    @property
    def scripted(self) -> bool: ...


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    request_model: str | None
    answer_models: dict[int, str]  # by status; any other status answers an Error


_RELEASES = r"/api/v2/projects/[^/]+/flags/[^/]+/environments/[^/]+/releases"
_ROUTES = (
    _Route("GET", re.compile(r"/api/v2/flags/[^/]+/[^/]+"), None, {200: "FeatureFlag"}),
    _Route("GET", re.compile(_RELEASES), None, {200: "EnvironmentReleaseCollection"}),
    _Route(
        "POST",
        re.compile(_RELEASES),
        "StartEnvironmentReleaseRequest",
        {201: "EnvironmentRelease", 400: "StartEnvironmentReleaseBadRequest"},
    ),
    _Route("GET", re.compile(_RELEASES + "/[^/]+"), None, {200: "EnvironmentRelease"}),
    _Route(
        "PUT",
        re.compile(_RELEASES + "/[^/]+/stop"),
        "StopEnvironmentReleaseRequest",
        {200: "EnvironmentRelease"},
    ),
)


@functools.cache
def _models() -> ModuleType:
    """LaunchDarkly's generated models: slow to import, so once, and only when checking."""
    from launchdarkly_api import models

    module: ModuleType = models
    return module


def _route(record: Record) -> _Route | None:
    path = record.path.split("?", 1)[0].rstrip("/")
    return next((r for r in _ROUTES if r.method == record.method and r.pattern.fullmatch(path)), None)


def _request_as_kept(model_name: str, body: Any) -> Any:
    """``body`` as the request model keeps it, in JSON terms (it holds UUIDs as UUID objects).
    The model's own ``to_dict``, which unwraps the phases' oneOf."""
    model = getattr(_models(), model_name).from_dict(body)
    return json.loads(json.dumps(model.to_dict(), default=str))


def _answer_as_kept(model_name: str, served: Any) -> Any:
    """``served`` as the answer model keeps it. Not ``to_dict``: that leaves out the fields the
    spec marks read-only, which are most of what an answer carries."""
    model = getattr(_models(), model_name).from_dict(served)
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def lost_fields(sent: Any, kept: Any, where: str = "") -> list[str]:
    """Where ``kept`` lacks or changed what ``sent`` carries (a null counts as absent; fields
    the model adds, such as defaults, do not count)."""
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [where or "."]
        return [
            lost
            for key, value in sent.items()
            if value is not None
            for lost in (
                lost_fields(value, kept[key], f"{where}.{key}") if key in kept else [f"{where}.{key}"]
            )
        ]
    if isinstance(sent, list):
        if not isinstance(kept, list) or len(kept) != len(sent):
            return [where or "."]
        return [lost for i, item in enumerate(sent) for lost in lost_fields(item, kept[i], f"{where}[{i}]")]
    return [] if sent == kept and type(sent) is type(kept) else [where or "."]


def check_request(record: Record) -> None:
    """The body sent keeps every field through LaunchDarkly's request model."""
    route = _route(record)
    if route is None or route.request_model is None:
        return
    body = json.loads(record.body)
    lost = lost_fields(body, _request_as_kept(route.request_model, body))
    assert not lost, f"{record.method} {record.path}: fields LaunchDarkly ignores or changes: {lost}"


def check_answer(record: Record) -> None:
    """The answer, unless scripted, is what the spec names for its status, field for field."""
    route = _route(record)
    if route is None or record.scripted or record.status == 0 or not record.response:
        return
    served = json.loads(record.response)
    model = route.answer_models.get(record.status, "Error")
    if record.status >= 400 and isinstance(served, dict):
        # The stand-in's error bodies carry a request id, as its other endpoints' do; the
        # error models do not name it, so it is the one field they may lose.
        served.pop("id", None)
    lost = lost_fields(served, _answer_as_kept(model, served))
    assert not lost, f"{record.method} {record.path} {record.status}: not in {model}: {lost}"


def check_traffic(records: Iterable[Record]) -> None:
    """Every environment-release request and answer recorded, checked against the models."""
    for record in records:
        check_request(record)
        check_answer(record)
